"""POST /v1.0/outdials/{id}/targets_import: a CSV or JSON Lines body, streamed, all or nothing,
with the CLI's row errors (issue 14, "Upload path")."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from outdial.api.app import create_app
from outdial.domain.limits import Limits
from outdial.services import importer
from outdial.services.container import Services
from outdial.storage.tables import outdial_targets
from tests.api.helpers import TEL, make_outdial
from tests.conftest import Tenant, make_tenant


def import_path(outdial: dict[str, Any]) -> str:
    return f"/v1.0/outdials/{outdial['id']}/targets_import"


async def count(services: Services) -> int:
    async with services.ctx.db.read() as conn:
        return int(
            (
                await conn.execute(sa.select(sa.func.count()).select_from(outdial_targets))
            ).scalar_one()
        )


CSV = (
    "name,detail,data,destination_0,destination_1\r\n"
    "ann,first,crm:1,tel:+15550001,\r\n"
    'bob,"multi\nline","x,y",+15550002,sip:bob@pbx.example:5070\r\n'
)


async def test_csv_body_is_imported(tenant: Tenant, services: Services) -> None:
    outdial = await make_outdial(tenant)
    answer = await tenant.ok(
        "POST", import_path(outdial), content=CSV.encode(), headers={"Content-Type": "text/csv"}
    )
    assert answer == {"imported": 2}
    page = await tenant.ok("GET", f"/v1.0/outdials/{outdial['id']}/targets")
    by_name = {t["name"]: t for t in page["result"]}
    assert set(by_name) == {"ann", "bob"}
    assert by_name["ann"]["destination_0"] == TEL
    assert by_name["bob"]["detail"] == "multi\nline" and by_name["bob"]["data"] == "x,y"
    assert by_name["bob"]["destination_1"]["type"] == "sip"


async def test_json_lines_body_in_small_chunks(tenant: Tenant) -> None:
    """A body that arrives a few bytes at a time (rows and UTF-8 characters split across
    chunks) is read as one file."""
    outdial = await make_outdial(tenant)
    lines = [
        json.dumps({"name": f"né {n}", "destination_0": f"tel:+1555{n:07d}"}) for n in range(300)
    ]
    data = ("\n".join(lines) + "\n").encode()

    async def trickle() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 7):
            yield data[start : start + 7]

    answer = await tenant.ok(
        "POST",
        import_path(outdial),
        content=trickle(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert answer == {"imported": 300}
    page = await tenant.ok("GET", f"/v1.0/outdials/{outdial['id']}/targets?page_size=1")
    assert page["result"][0]["name"].startswith("né ")


async def test_bad_rows_are_listed_and_nothing_is_written(
    tenant: Tenant, services: Services
) -> None:
    outdial = await make_outdial(tenant)
    body = "name,destination_0\na,tel:+15550001\nb,tel:9\nc,\n"
    response = await tenant.call(
        "POST", import_path(outdial), content=body.encode(), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 400, response.text
    err = response.json()["error"]
    assert err["reason"] == "IMPORT_REJECTED"
    assert err["errors"][0] == (
        "line 3: destination_0.target must be E.164 (+ then 7 to 15 digits) for type tel"
    )
    assert err["errors"][1].startswith("line 4: ")
    assert len(err["errors"]) == 2
    assert await count(services) == 0


async def test_the_errors_are_the_clis(tenant: Tenant, services: Services, tmp_path: Any) -> None:
    """The same file gives the same errors over HTTP as through `import_file` (the CLI's)."""
    outdial = await make_outdial(tenant)
    body = '{"name": "a"}\nnot json\n[1]\n{"name": "b", "destination_0": "tel:+15550001", "x": 1}\n'
    path = tmp_path / "bad.jsonl"
    path.write_text(body)
    with pytest.raises(importer.ImportFailed) as caught:
        await importer.import_file(services.ctx, __import__("uuid").UUID(outdial["id"]), path)
    response = await tenant.call(
        "POST",
        import_path(outdial),
        content=body.encode(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["errors"] == caught.value.errors
    assert len(caught.value.errors) == 4


async def test_unknown_column_and_bad_utf8(tenant: Tenant, services: Services) -> None:
    outdial = await make_outdial(tenant)
    unknown = await tenant.call(
        "POST",
        import_path(outdial),
        content=b"name,phone\na,+15550001\n",
        headers={"Content-Type": "text/csv"},
    )
    assert unknown.status_code == 400 and "unknown column(s) phone" in unknown.text
    latin = await tenant.call(
        "POST",
        import_path(outdial),
        content=b"name,destination_0\nJos\xe9,tel:+15550001\n",
        headers={"Content-Type": "text/csv"},
    )
    assert latin.status_code == 400
    assert "not UTF-8" in latin.json()["error"]["errors"][0]
    assert await count(services) == 0


@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain"])
async def test_other_content_types_are_415(tenant: Tenant, content_type: str | None) -> None:
    outdial = await make_outdial(tenant)
    headers = {"Content-Type": content_type} if content_type else {}
    response = await tenant.call(
        "POST", import_path(outdial), content=CSV.encode(), headers=headers
    )
    assert response.status_code == 415
    assert response.json()["error"]["reason"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_another_customers_outdial_is_404(
    tenant: Tenant, other_tenant: Tenant, services: Services
) -> None:
    outdial = await make_outdial(tenant)
    response = await other_tenant.call(
        "POST", import_path(outdial), content=CSV.encode(), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["reason"] == "OUTDIAL_NOT_FOUND"
    assert await count(services) == 0
    bad_id = await tenant.call(
        "POST",
        "/v1.0/outdials/nope/targets_import",
        content=CSV.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert bad_id.status_code == 400 and bad_id.json()["error"]["reason"] == "INVALID_ID"


async def test_no_credential_is_401(client: httpx.AsyncClient, tenant: Tenant) -> None:
    outdial = await make_outdial(tenant)
    response = await client.post(
        import_path(outdial), content=CSV.encode(), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 401


async def test_the_import_has_its_own_body_limit(services: Services) -> None:
    """The import's limit (Limits.import_body) replaces the 32 MiB one for this route only:
    past it, 413 whether announced by Content-Length or found while streaming; nothing is
    written."""
    small = Services.over(
        __import__("dataclasses").replace(services.ctx, limits=Limits(import_body=200))
    )
    app = create_app(small)
    app.state.ready = True
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://outdial.test") as c:
        t = await make_tenant(small, c, "small")
        outdial = await make_outdial(t)
        rows = "name,destination_0\n" + "".join(f"n{n},tel:+1555{n:07d}\n" for n in range(20))
        announced = await t.call(
            "POST",
            import_path(outdial),
            content=rows.encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert announced.status_code == 413, announced.text
        assert "200 bytes" in announced.json()["error"]["message"]

        async def streamed() -> AsyncIterator[bytes]:
            yield rows.encode()

        found = await t.call(
            "POST",
            import_path(outdial),
            content=streamed(),
            headers={"Content-Type": "text/csv"},
        )
        assert found.status_code == 413, found.text
        fits = await t.call(
            "POST",
            import_path(outdial),
            content=CSV.encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert fits.json() == {"imported": 2}
    assert await count(small) == 2


async def test_cookie_authenticated_import_takes_csv(tenant: Tenant) -> None:
    """text/csv and application/x-ndjson are write types for a cookie's key (a cross-site
    form cannot send them)."""
    outdial = await make_outdial(tenant)
    response = await tenant.client.post(
        import_path(outdial),
        content=CSV.encode(),
        headers={"Content-Type": "text/csv", "Cookie": f"accesskey={tenant.token}"},
    )
    assert response.json() == {"imported": 2}


async def test_dedupe_over_http_reports_or_skips_as_the_cli_does(
    tenant: Tenant, services: Services
) -> None:
    """`?dedupe=within_file`: a repeated number is a row error (nothing written), or with
    `dedupe_action=skip` left out and counted in `skipped_duplicates`."""
    outdial = await make_outdial(tenant)
    body = b"name,destination_0\na,tel:+15550001\nb,+15550002\nc,tel:+15550001\n"
    csv_type = {"Content-Type": "text/csv"}
    response = await tenant.call(
        "POST", import_path(outdial) + "?dedupe=within_file", content=body, headers=csv_type
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["errors"] == ["line 4: destination_0 +15550001 repeats line 2"]
    assert await count(services) == 0
    answer = await tenant.ok(
        "POST",
        import_path(outdial) + "?dedupe=within_file&dedupe_action=skip",
        content=body,
        headers=csv_type,
    )
    assert answer == {"imported": 2, "skipped_duplicates": 1}
    assert await count(services) == 2
    again = await tenant.ok(
        "POST",
        import_path(outdial) + "?dedupe=within_outdial&dedupe_action=skip",
        content=body,
        headers=csv_type,
    )
    assert again == {"imported": 0, "skipped_duplicates": 3}
