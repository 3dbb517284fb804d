"""Importing targets from CSV and JSON Lines (the service and the CLI), and the other CLI
commands that touch the database: customers, access keys, migrate."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from outdial.domain.errors import FailedPrecondition, InvalidArgument, NotFound, Unauthenticated
from outdial.services import importer
from outdial.services.container import Services
from outdial.services.importer import ImportFailed, import_file
from outdial.storage import target_load
from outdial.storage.migrate import head
from outdial.storage.tables import outdial_targets
from tests.conftest import PG_URL

TEL = {"type": "tel", "target": "+15550001", "target_name": "", "name": "", "detail": ""}
SIP = {**TEL, "type": "sip", "target": "bob@pbx.example:5070"}


@pytest.fixture
async def outdial_id(services: Services) -> uuid.UUID:
    customer = await services.customers.create("importer")
    return (await services.outdials.create(customer.id, {"name": "imported"})).id


async def stored(services: Services, outdial_id: uuid.UUID) -> list[Any]:
    stmt = (
        sa.select(outdial_targets)
        .where(outdial_targets.c.outdial_id == outdial_id)
        .order_by(outdial_targets.c.name)
    )
    async with services.ctx.db.read() as conn:
        return list((await conn.execute(stmt)).all())


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, bom: bool = False) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, lines: list[Any], *, bom: bool = False) -> Path:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    path.write_text(("\ufeff" if bom else "") + text + "\n", encoding="utf-8")
    return path


# --- the importer ----------------------------------------------------------------------------


@pytest.mark.parametrize("bom", [False, True])
async def test_csv_with_shorthand_and_json_cells(
    services: Services, outdial_id: uuid.UUID, tmp_path: Path, bom: bool
) -> None:
    sip_cell = json.dumps({"type": "sip", "target": "sip:bob@pbx.example:5070"})
    path = write_csv(
        tmp_path / "targets.csv",
        ["name", "detail", "data", "destination_0", "destination_1", "destination_4"],
        [
            ["ann", "first", "crm:1", "tel:+15550001", "", ""],
            ["bob", "", "", sip_cell, "+15550002", ""],
            ["cy", "multi\nline", "x,y", "", "", "sip:bob@pbx.example:5070"],
        ],
        bom=bom,
    )
    report = await import_file(services.ctx, outdial_id, path)
    assert report.imported == 3 and report.errors == []
    ann, bob, cy = await stored(services, outdial_id)
    assert (ann.name, ann.detail, ann.data, ann.status) == ("ann", "first", "crm:1", "idle")
    assert json.loads(ann.destination_0) == TEL
    assert ann.destination_1 is None and ann.destination_4 is None
    assert json.loads(bob.destination_0) == SIP
    assert json.loads(bob.destination_1) == {**TEL, "target": "+15550002"}
    assert (cy.detail, cy.data, cy.destination_0) == ("multi\nline", "x,y", None)
    assert json.loads(cy.destination_4) == SIP
    assert ann.tm_create == ann.tm_update and ann.tm_delete is None


@pytest.mark.parametrize("bom", [False, True])
async def test_json_lines(
    services: Services, outdial_id: uuid.UUID, tmp_path: Path, bom: bool
) -> None:
    path = write_jsonl(
        tmp_path / "targets.jsonl",
        [
            {"name": "ann", "destination_0": "tel:+15550001", "data": "d"},
            "",
            {"name": "bob", "destination_2": {"type": "sip", "target": "bob@pbx.example:5070"}},
            {
                "name": "cy",
                "destination_0": None,
                "destination_1": {"type": "tel", "target": "+15550001"},
            },
        ],
        bom=bom,
    )
    report = await import_file(services.ctx, outdial_id, path)
    assert report.imported == 3
    ann, bob, cy = await stored(services, outdial_id)
    assert json.loads(ann.destination_0) == TEL and ann.data == "d"
    assert json.loads(bob.destination_2) == SIP
    assert cy.destination_0 is None and json.loads(cy.destination_1) == TEL


async def test_format_by_suffix_or_explicit(
    services: Services, outdial_id: uuid.UUID, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "targets.txt", [{"destination_0": "tel:+15550001"}])
    with pytest.raises(InvalidArgument):  # read as CSV by default: an unknown column
        await import_file(services.ctx, outdial_id, path)
    assert (await import_file(services.ctx, outdial_id, path, fmt="jsonl")).imported == 1
    ndjson = write_jsonl(tmp_path / "t.ndjson", [{"destination_0": "tel:+15550001"}])
    assert (await import_file(services.ctx, outdial_id, ndjson)).imported == 1
    with pytest.raises(InvalidArgument, match="csv or jsonl"):
        await import_file(services.ctx, outdial_id, path, fmt="xml")


@pytest.mark.parametrize(
    "rows,expected",
    [
        ([["a", "tel:12"]], "line 3: destination_0.target must be E.164"),
        ([["a", "fax:+15550001"]], "line 3: destination_0 must start with tel: or sip:"),
        ([["a", "{not json"]], "line 3: destination_0 is not a valid JSON Address object"),
        ([["a", '{"type": "tel", "target": "1"}']], "line 3: destination_0.target"),
        ([["a", ""]], "line 3: at least one of destination_0"),
        ([["n" * 256, "tel:+15550001"]], "line 3: name is longer than 255"),
        ([["a", "tel:+15550001", "extra"]], "line 3: has more cells than the header"),
    ],
)
async def test_a_bad_csv_row_names_line_and_field_and_writes_nothing(
    services: Services,
    outdial_id: uuid.UUID,
    tmp_path: Path,
    rows: list[list[str]],
    expected: str,
) -> None:
    path = write_csv(
        tmp_path / "bad.csv", ["name", "destination_0"], [["ok", "tel:+15550001"], *rows]
    )
    with pytest.raises(ImportFailed) as caught:
        await import_file(services.ctx, outdial_id, path)
    assert caught.value.errors[0].startswith(expected), caught.value.errors
    assert "nothing imported" in caught.value.message
    assert await stored(services, outdial_id) == []


@pytest.mark.parametrize(
    "line,expected",
    [
        ('{"destination_0": "tel:12"}', "line 2: destination_0.target"),
        ("{not json", "line 2: is not valid JSON"),
        ('["tel:+15550001"]', "line 2: must be a JSON object"),
        ('{"destination_0": "tel:+15550001", "phone": "x"}', "line 2: has unknown field(s) phone"),
        ('{"name": 5, "destination_0": "tel:+15550001"}', "line 2: name must be a string"),
    ],
)
async def test_a_bad_json_line_names_line_and_field(
    services: Services, outdial_id: uuid.UUID, tmp_path: Path, line: str, expected: str
) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [{"destination_0": "tel:+15550001"}, line])
    with pytest.raises(ImportFailed) as caught:
        await import_file(services.ctx, outdial_id, path)
    assert caught.value.errors[0].startswith(expected), caught.value.errors
    assert await stored(services, outdial_id) == []


async def test_a_bad_row_after_written_chunks_rolls_everything_back(
    services: Services, outdial_id: uuid.UUID, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK", 2)
    monkeypatch.setattr(target_load, "BATCH", 3)  # batches moved into the table already
    rows = [[f"t{n}", f"tel:+1555000{n:04d}"] for n in range(7)] + [["bad", "tel:1"]]
    path = write_csv(tmp_path / "late.csv", ["name", "destination_0"], rows)
    with pytest.raises(ImportFailed) as caught:
        await import_file(services.ctx, outdial_id, path)
    assert caught.value.errors == [
        "line 9: destination_0.target must be E.164 (+ then 7 to 15 digits) for type tel"
    ]
    assert await stored(services, outdial_id) == []


async def test_many_batches_in_the_background(
    services: Services, outdial_id: uuid.UUID, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK", 7)
    monkeypatch.setattr(importer, "YIELD_EVERY", 2)
    monkeypatch.setattr(target_load, "BATCH", 10)
    rows = [[f"t{n:03d}", f"tel:+1555{n:07d}"] for n in range(203)]
    path = write_csv(tmp_path / "batches.csv", ["name", "destination_0"], rows)
    assert (await import_file(services.ctx, outdial_id, path)).imported == 203
    got = await stored(services, outdial_id)
    assert [r.name for r in got] == [f"t{n:03d}" for n in range(203)]
    assert len({r.id for r in got}) == 203


async def test_every_bad_row_is_reported_up_to_a_limit(
    services: Services, outdial_id: uuid.UUID, tmp_path: Path
) -> None:
    rows = [["bad", "tel:1"]] * 3 + [["ok", "tel:+15550001"]] + [["bad", "tel:1"]] * 80
    path = write_csv(tmp_path / "many.csv", ["name", "destination_0"], rows)
    with pytest.raises(ImportFailed) as caught:
        await import_file(services.ctx, outdial_id, path)
    errors = caught.value.errors
    assert len(errors) == importer.MAX_ERRORS
    assert [e.split(":")[0] for e in errors[:4]] == ["line 2", "line 3", "line 4", "line 6"]
    assert "stopped after" in caught.value.message


async def test_unknown_columns_are_rejected(
    services: Services, outdial_id: uuid.UUID, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "cols.csv", ["name", "phone"], [["a", "+15550001"]])
    with pytest.raises(InvalidArgument, match="unknown column"):
        await import_file(services.ctx, outdial_id, path)
    assert await stored(services, outdial_id) == []


@pytest.mark.parametrize("content", [b"", b"name,destination_0\n", b"\xef\xbb\xbf", b"\n\n"])
async def test_empty_files_import_nothing(
    services: Services, outdial_id: uuid.UUID, tmp_path: Path, content: bytes
) -> None:
    for suffix in (".csv", ".jsonl"):
        path = tmp_path / f"empty{suffix}"
        path.write_bytes(content if suffix == ".csv" or b"," not in content else b"")
        assert (await import_file(services.ctx, outdial_id, path)).imported == 0


async def test_a_file_that_is_not_utf8(
    services: Services, outdial_id: uuid.UUID, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,destination_0\nJosé,tel:+15550001\n".encode("latin-1"))
    with pytest.raises(ImportFailed) as caught:
        await import_file(services.ctx, outdial_id, path)
    assert "not UTF-8" in caught.value.errors[0]


async def test_progress_reports_bytes_and_rows(
    services: Services, outdial_id: uuid.UUID, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK", 10)
    rows = [[f"t{n}", f"tel:+1555{n:07d}"] for n in range(35)]
    path = write_csv(tmp_path / "p.csv", ["name", "destination_0"], rows)
    seen: list[tuple[int, int]] = []
    report = await import_file(
        services.ctx, outdial_id, path, progress=lambda done, n: seen.append((done, n))
    )
    assert report.imported == 35
    assert len(seen) == 4  # after each of three full chunks, and at the end
    assert seen == sorted(seen)
    assert seen[-1] == (path.stat().st_size, 35)


async def test_missing_or_deleted_outdial(services: Services, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ["destination_0"], [["tel:+15550001"]])
    with pytest.raises(NotFound):
        await import_file(services.ctx, uuid.uuid4(), path)
    customer = await services.customers.create("importer")
    outdial = await services.outdials.create(customer.id, {})
    await services.outdials.delete(customer.id, outdial.id)
    with pytest.raises(FailedPrecondition):
        await import_file(services.ctx, outdial.id, path)


# --- the CLI ---------------------------------------------------------------------------------


def outdial_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OUTDIAL_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "outdial", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def one_json(result: subprocess.CompletedProcess[str]) -> Any:
    lines = result.stdout.splitlines()
    assert len(lines) == 1, (result.stdout, result.stderr)
    return json.loads(lines[0])


# The CLI on SQLite alone: the services it calls run on both databases above and in tests/api,
# and the CLI reaches PostgreSQL in test_cli_migrate_postgres (docs/testing.md, one database
# where it does not matter).
CLI_ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@CLI_ON_SQLITE
async def test_cli_customers_and_accesskeys(services: Services, database_url: str) -> None:
    created = one_json(
        outdial_cli("customers", "create", "--name", "Acme", "--database-url", database_url)
    )
    assert list(created) == ["id", "name"] and created["name"] == "Acme"
    key = one_json(
        outdial_cli(
            "accesskeys", "create", "--customer-id", created["id"], "--database-url", database_url
        )
    )
    assert key["customer_id"] == created["id"] and key["token"]
    assert await services.customers.authenticate(key["token"]) == uuid.UUID(created["id"])

    missing = outdial_cli(
        "accesskeys", "create", "--customer-id", str(uuid.uuid4()), "--database-url", database_url
    )
    assert missing.returncode == 2
    assert one_json(missing)["error"]["reason"] == "CUSTOMER_NOT_FOUND"
    malformed = outdial_cli(
        "accesskeys", "create", "--customer-id", "x", "--database-url", database_url
    )
    assert malformed.returncode == 2
    assert one_json(malformed)["error"]["reason"] == "INVALID_ID"

    listed = one_json(
        outdial_cli(
            "accesskeys", "list", "--customer-id", created["id"], "--database-url", database_url
        )
    )["result"]
    assert [k["id"] for k in listed] == [key["id"]] and "token" not in listed[0]
    assert listed[0]["tm_delete"] == "9999-01-01 00:00:00.000000"
    deleted = one_json(
        outdial_cli("accesskeys", "delete", "--id", key["id"], "--database-url", database_url)
    )
    assert deleted["id"] == key["id"] and deleted["tm_delete"] != "9999-01-01 00:00:00.000000"
    fresh = Services.build(services.ctx.db, services.ctx.clock)  # this process's cache aside
    with pytest.raises(Unauthenticated):
        await fresh.customers.authenticate(key["token"])
    unknown = outdial_cli(
        "accesskeys", "delete", "--id", str(uuid.uuid4()), "--database-url", database_url
    )
    assert unknown.returncode == 2
    assert one_json(unknown)["error"]["reason"] == "ACCESSKEY_NOT_FOUND"


@CLI_ON_SQLITE
@pytest.mark.parametrize("progress", ["--progress", "--no-progress"])
async def test_cli_targets_import(
    services: Services, outdial_id: uuid.UUID, database_url: str, tmp_path: Path, progress: str
) -> None:
    rows = [[f"t{n}", f"tel:+1555{n:07d}"] for n in range(12)]
    path = write_csv(tmp_path / "cli.csv", ["name", "destination_0"], rows)
    result = outdial_cli(
        "targets",
        "import",
        str(path),
        "--outdial-id",
        str(outdial_id),
        "--database-url",
        database_url,
        progress,
    )
    assert result.returncode == 0, result.stderr
    assert one_json(result) == {"outdial_id": str(outdial_id), "imported": 12}
    # the progress bar goes to standard error, never into the JSON on standard output
    assert ("12 rows" in result.stderr) == (progress == "--progress"), result.stderr
    assert len(await stored(services, outdial_id)) == 12

    jsonl = write_jsonl(tmp_path / "cli.jsonl", [{"destination_0": "sip:a@b.example"}])
    result = outdial_cli(
        "targets",
        "import",
        str(jsonl),
        "--outdial-id",
        str(outdial_id),
        "--database-url",
        database_url,
    )
    assert one_json(result)["imported"] == 1


@CLI_ON_SQLITE
async def test_cli_targets_import_rejects_a_bad_file(
    services: Services, outdial_id: uuid.UUID, database_url: str, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "bad.csv", ["name", "destination_0"], [["a", "tel:+15550001"], ["b", "tel:9"]]
    )
    result = outdial_cli(
        "targets",
        "import",
        str(path),
        "--outdial-id",
        str(outdial_id),
        "--database-url",
        database_url,
    )
    assert result.returncode == 2
    err = one_json(result)["error"]
    assert err["reason"] == "IMPORT_REJECTED"
    assert err["errors"] == [
        "line 3: destination_0.target must be E.164 (+ then 7 to 15 digits) for type tel"
    ]
    assert await stored(services, outdial_id) == []
    missing = outdial_cli(
        "targets",
        "import",
        str(path),
        "--outdial-id",
        str(uuid.uuid4()),
        "--database-url",
        database_url,
    )
    assert missing.returncode == 2
    assert one_json(missing)["error"]["reason"] == "OUTDIAL_NOT_FOUND"


def test_cli_migrate_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    for _ in range(2):  # a second run finds the schema up to date
        result = outdial_cli("migrate", "--database-url", url)
        assert result.returncode == 0, result.stderr
        assert one_json(result)["revision"] == head()


@pytest.mark.postgres
def test_cli_migrate_postgres(pg_database_url: str) -> None:
    import asyncpg

    name = f"outdial_migrate_{uuid.uuid4().hex[:10]}"
    admin = PG_URL.replace("postgresql://", "postgres://")

    async def sql(statement: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(sql(f"CREATE DATABASE {name}"))
    try:
        url = f"{PG_URL.rsplit('/', 1)[0]}/{name}"
        for _ in range(2):
            result = outdial_cli("migrate", "--database-url", url)
            assert result.returncode == 0, result.stderr
            assert one_json(result)["revision"] == head()
    finally:
        asyncio.run(sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
