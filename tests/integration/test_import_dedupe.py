"""`outdial targets import --dedupe ... --dedupe-action ...` (issue 17, SPEC 3.10): a
duplicate row is an error naming its line and field (nothing imported), or with `skip` is
left out and counted in `skipped_duplicates`; `within_outdial` also matches live targets."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from outdial.domain.dedupe import Dedupe, DedupeAction
from outdial.services.container import Services
from outdial.services.importer import ImportFailed, import_file
from tests.integration.test_import import (
    one_json,
    outdial_cli,
    stored,
    write_csv,
    write_jsonl,
)

HEADER = ["name", "destination_0", "destination_1"]
ROWS = [
    ["a", "tel:+15550001", ""],  # line 2
    ["b", "+15550002", "sip:bob@PBX.example"],  # line 3
    ["c", "", "tel:+15550001"],  # line 4: a's number, another slot
    ["d", "sip:bob@pbx.example", ""],  # line 5: b's URI
    ["e", "+15550003", "+15550003"],  # line 6: its own number twice is fine
]


@pytest.fixture
async def outdial_id(services: Services) -> uuid.UUID:
    customer = await services.customers.create("deduper")
    return (await services.outdials.create(customer.id, {"name": "dedupe"})).id


async def test_within_file_reports_lines_and_imports_nothing(
    services: Services, outdial_id: uuid.UUID, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "t.csv", HEADER, ROWS)
    with pytest.raises(ImportFailed) as caught:
        await import_file(services.ctx, outdial_id, path, dedupe=Dedupe.WITHIN_FILE)
    assert caught.value.errors == [
        "line 4: destination_1 +15550001 repeats line 2",
        "line 5: destination_0 sip:bob@pbx.example repeats line 3",
    ]
    assert await stored(services, outdial_id) == []
    # none (the default) imports every row
    report = await import_file(services.ctx, outdial_id, path)
    assert report.imported == 5 and report.skipped_duplicates == 0


async def test_within_file_skip(services: Services, outdial_id: uuid.UUID, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", HEADER, ROWS)
    report = await import_file(
        services.ctx,
        outdial_id,
        path,
        dedupe=Dedupe.WITHIN_FILE,
        dedupe_action=DedupeAction.SKIP,
    )
    assert (report.imported, report.skipped_duplicates) == (3, 2)
    assert [r.name for r in await stored(services, outdial_id)] == ["a", "b", "e"]


async def test_bad_rows_and_duplicates_are_reported_together(
    services: Services, outdial_id: uuid.UUID, tmp_path: Path
) -> None:
    lines = [
        {"destination_0": "+15550001"},
        {"destination_0": "tel:12"},
        {"destination_0": "tel:+15550001"},
    ]
    path = write_jsonl(tmp_path / "t.jsonl", lines)
    with pytest.raises(ImportFailed) as caught:
        await import_file(services.ctx, outdial_id, path, dedupe=Dedupe.WITHIN_FILE)
    assert caught.value.errors[0].startswith("line 2: destination_0.target")
    assert caught.value.errors[1] == "line 3: destination_0 +15550001 repeats line 1"


async def test_within_outdial(services: Services, outdial_id: uuid.UUID, tmp_path: Path) -> None:
    first = write_csv(tmp_path / "first.csv", HEADER, ROWS[:2])
    await import_file(services.ctx, outdial_id, first)
    again = write_csv(
        tmp_path / "again.csv",
        HEADER,
        [["x", "+15559999", "sip:bob@pbx.EXAMPLE"], ["y", "+15559998", ""]],
    )
    with pytest.raises(ImportFailed) as caught:
        await import_file(services.ctx, outdial_id, again, dedupe=Dedupe.WITHIN_OUTDIAL)
    assert caught.value.errors == [
        "line 2: destination_1 sip:bob@pbx.example is already a target of the outdial"
    ]
    report = await import_file(
        services.ctx,
        outdial_id,
        again,
        dedupe=Dedupe.WITHIN_OUTDIAL,
        dedupe_action=DedupeAction.SKIP,
    )
    assert (report.imported, report.skipped_duplicates) == (1, 1)
    assert [r.name for r in await stored(services, outdial_id)] == ["a", "b", "y"]


async def test_cli_dedupe_options(
    services: Services, outdial_id: uuid.UUID, database_url: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "cli.csv", HEADER, ROWS)
    base = ["targets", "import", str(path), "--outdial-id", str(outdial_id)]
    base += ["--database-url", database_url, "--no-progress"]
    rejected = outdial_cli(*base, "--dedupe", "within_file")
    assert rejected.returncode == 2
    err = one_json(rejected)["error"]
    assert err["reason"] == "IMPORT_REJECTED"
    assert err["errors"][0] == "line 4: destination_1 +15550001 repeats line 2"
    skipped = outdial_cli(*base, "--dedupe", "within_outdial", "--dedupe-action", "skip")
    assert skipped.returncode == 0, skipped.stderr
    assert one_json(skipped) == {
        "outdial_id": str(outdial_id),
        "imported": 3,
        "dedupe": "within_outdial",
        "skipped_duplicates": 2,
    }
    # the same file again: every row is now a duplicate of a live target
    again = one_json(outdial_cli(*base, "--dedupe", "within_outdial", "--dedupe-action", "skip"))
    assert again["imported"] == 0 and again["skipped_duplicates"] == 5
    bad = outdial_cli(*base, "--dedupe", "sometimes")
    assert bad.returncode == 2
    assert "--dedupe 'sometimes' is not one of" in one_json(bad)["error"]["message"]


async def test_within_outdial_reads_the_outdial_once_across_many_chunks(
    services: Services, outdial_id: uuid.UUID, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many chunks and batches, streamed over several fetches: the outdial's destinations
    are read in one statement, never one per row or per chunk."""
    from sqlalchemy import event

    from outdial.services import importer
    from outdial.storage import target_keys, target_load

    monkeypatch.setattr(importer, "CHUNK", 7)
    monkeypatch.setattr(target_load, "BATCH", 10)
    monkeypatch.setattr(target_keys, "FETCH", 16)
    first = [[f"old{n:03d}", f"tel:+1555{n:07d}", ""] for n in range(100)]
    await import_file(services.ctx, outdial_id, write_csv(tmp_path / "a.csv", HEADER, first))
    # every third row repeats an existing number (0..99), in the second slot
    rows = [
        [f"new{n:03d}", f"tel:+1666{n:07d}", f"tel:+1555{n:07d}" if n % 3 == 0 else ""]
        for n in range(150)
    ]
    path = write_csv(tmp_path / "b.csv", HEADER, rows)
    reads: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "destination_0" in statement and statement.lstrip().upper().startswith("SELECT"):
            reads.append(statement)

    engine = services.ctx.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        report = await import_file(
            services.ctx,
            outdial_id,
            path,
            dedupe=Dedupe.WITHIN_OUTDIAL,
            dedupe_action=DedupeAction.SKIP,
        )
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    repeats = len([n for n in range(100) if n % 3 == 0])  # 34
    assert (report.imported, report.skipped_duplicates) == (150 - repeats, repeats)
    assert len(reads) == 1, reads
    assert len(await stored(services, outdial_id)) == 250 - repeats
