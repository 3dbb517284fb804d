"""POST /v1.0/outdials/{id}/targets_bulk: up to 10,000 targets, all or nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.api.app import create_app
from outdial.services import targets as target_service
from outdial.services.container import Services
from outdial.storage import target_load
from outdial.storage.tables import events, outdial_targets
from tests.api.helpers import TEL, error, make_outdial
from tests.conftest import Tenant

target_events = target_service.events  # the events module as the targets service sees it


def bulk_path(outdial: dict[str, Any]) -> str:
    return f"/v1.0/outdials/{outdial['id']}/targets_bulk"


async def listed(t: Tenant, outdial: dict[str, Any]) -> list[dict[str, Any]]:
    page = await t.ok("GET", f"/v1.0/outdials/{outdial['id']}/targets")
    result: list[dict[str, Any]] = page["result"]
    return result


async def test_bulk_creates_every_item(tenant: Tenant) -> None:
    outdial = await make_outdial(tenant)
    body = [
        {"name": "a", "destination_0": "tel:+15550001"},
        {"name": "b", "destination_0": "sip:bob@pbx.example:5070", "data": "x"},
        {"name": "c", "destination_0": TEL, "destination_1": "+15550002"},
        {"name": "d", "destination_2": "TEL:+15550003", "destination_0": None},
    ]
    made = await tenant.ok("POST", bulk_path(outdial), json=body)
    assert made["count"] == 4
    result = made["result"]
    assert [t["name"] for t in result] == ["a", "b", "c", "d"]
    assert result[0]["destination_0"] == TEL
    assert result[1]["destination_0"] == {**TEL, "type": "sip", "target": "bob@pbx.example:5070"}
    assert result[1]["data"] == "x"
    assert result[2]["destination_1"] == {**TEL, "target": "+15550002"}
    assert result[3]["destination_0"] is None
    assert result[3]["destination_2"] == {**TEL, "target": "+15550003"}
    assert all(t["status"] == "idle" and t["outdial_id"] == outdial["id"] for t in result)
    stored = {t["id"]: t for t in await listed(tenant, outdial)}
    assert stored == {t["id"]: t for t in result}


@pytest.mark.parametrize(
    "bad,expected",
    [
        ({"destination_0": "tel:12"}, "item 2: destination_0.target"),
        ({"destination_0": "fax:+15550001"}, "item 2: destination_0"),
        ({"destination_3": {"type": "sip", "target": "nohost"}}, "item 2: destination_3.target"),
        ({"name": "n" * 256, "destination_0": TEL}, "item 2: name"),
        ({"name": 5, "destination_0": TEL}, "item 2: name"),
        ({"destination_0": 5}, "item 2: destination_0"),
        ({}, "item 2: at least one"),
        ("tel:+15550001", "item 2"),
        (None, "item 2"),
    ],
)
async def test_one_bad_item_rejects_the_whole_request(
    tenant: Tenant, bad: Any, expected: str
) -> None:
    outdial = await make_outdial(tenant)
    good = {"destination_0": "tel:+15550001"}
    body = [good, good, bad, good]
    err = error(await tenant.call("POST", bulk_path(outdial), json=body), 400, "INVALID_ARGUMENT")
    assert err["message"].startswith(expected), err
    assert await listed(tenant, outdial) == []


async def test_ten_thousand_items(tenant: Tenant) -> None:
    outdial = await make_outdial(tenant)
    body = [{"destination_0": f"tel:+1555{n:07d}"} for n in range(10_000)]
    made = await tenant.ok("POST", bulk_path(outdial), json=body)
    assert made["count"] == 10_000
    assert made["result"][9_999]["destination_0"]["target"] == "+15550009999"
    error(
        await tenant.call("POST", bulk_path(outdial), json=[*body, body[0]]),
        400,
        "INVALID_ARGUMENT",
    )


@pytest.mark.parametrize("body", [[], {}, {"destination_0": "tel:+15550001"}, "x"])
async def test_the_body_must_be_a_non_empty_array(tenant: Tenant, body: Any) -> None:
    outdial = await make_outdial(tenant)
    error(await tenant.call("POST", bulk_path(outdial), json=body), 400, "INVALID_ARGUMENT")


async def test_bulk_into_a_deleted_or_foreign_outdial(tenant: Tenant, other_tenant: Tenant) -> None:
    outdial = await make_outdial(tenant)
    body = [{"destination_0": "tel:+15550001"}]
    response = await other_tenant.call("POST", bulk_path(outdial), json=body)
    error(response, 404, "NOT_FOUND", "OUTDIAL_NOT_FOUND")
    await tenant.ok("DELETE", f"/v1.0/outdials/{outdial['id']}")
    response = await tenant.call("POST", bulk_path(outdial), json=body)
    error(response, 409, "FAILED_PRECONDITION", "OUTDIAL_DELETED")


async def test_a_failure_after_rows_were_written_keeps_nothing(
    tenant: Tenant, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows go in in several batches (COPY on PostgreSQL, which must join the request's
    transaction); then the step after them fails. Nothing of the request stays."""
    monkeypatch.setattr(target_load, "BATCH", 1000)
    written: list[int] = []

    async def fail_after_the_rows(conn: AsyncConnection, *args: Any) -> None:
        count = sa.select(sa.func.count()).select_from(outdial_targets)
        written.append(int((await conn.execute(count)).scalar_one()))
        raise RuntimeError("injected failure after the rows were written")

    monkeypatch.setattr(target_events, "emit_many", fail_after_the_rows)
    outdial = await make_outdial(tenant)
    body = [{"destination_0": f"tel:+1555{n:07d}"} for n in range(3_500)]
    # the app answers 500 and re-raises (Starlette): take the answer, leave the exception
    transport = httpx.ASGITransport(app=create_app(services), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://outdial.test") as raw:
        auth = {"Authorization": f"Bearer {tenant.token}"}
        response = await raw.post(bulk_path(outdial), json=body, headers=auth)
    assert response.status_code == 500, response.text
    assert response.json()["error"]["status"] == "INTERNAL"
    # a 500 names its request id in the header as every other answer does
    assert response.headers["x-request-id"] == response.json()["error"]["request_id"] != ""
    assert written == [3_500]  # all four batches were in the transaction when it failed
    assert await listed(tenant, outdial) == []
    async with services.ctx.db.read() as conn:
        count = sa.select(sa.func.count()).select_from(outdial_targets)
        assert (await conn.execute(count)).scalar_one() == 0
        kinds = sa.select(events.c.type).where(events.c.customer_id == tenant.customer_id)
        assert "outdialtarget_created" not in set((await conn.execute(kinds)).scalars())
    monkeypatch.undo()
    made = await tenant.ok("POST", bulk_path(outdial), json=body[:3])  # the outdial still works
    assert made["count"] == 3 and len(await listed(tenant, outdial)) == 3
