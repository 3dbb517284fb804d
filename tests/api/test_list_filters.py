"""Server-side filters of the list routes (console-ops): targets by `status` and `q`, calls by
`status`, `result`, `hangup_reason`/`reason`, `since`/`until` and `target_id`, each keeping
the stable newest-first cursor paging (SPEC 2). SQLite and PostgreSQL (`services`)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.services.container import Services
from outdial.storage.tables import campaigncalls, outdial_targets
from tests.api.helpers import (
    error,
    insert_campaigncall,
    make_campaign,
    make_outdial,
    make_outplan,
    make_target,
)
from tests.conftest import Tenant


def tel(number: str) -> dict[str, str]:
    return {"type": "tel", "target": number}


async def pages(t: Tenant, path: str, size: int = 2, **params: Any) -> list[dict[str, Any]]:
    """Every page of a filtered list, `size` rows a page, following next_page_token."""
    found: list[dict[str, Any]] = []
    token = ""
    for _ in range(50):
        page = await t.ok("GET", path, params={**params, "page_size": size, "page_token": token})
        assert len(page["result"]) <= size
        found.extend(page["result"])
        token = page["next_page_token"]
        if not token:
            return found
    raise AssertionError("paging did not end")


async def set_status(services: Services, target_id: str, status: str) -> None:
    async with services.ctx.db.write() as conn:
        await conn.execute(
            sa.update(outdial_targets)
            .where(outdial_targets.c.id == uuid.UUID(target_id))
            .values(status=status)
        )


async def test_targets_by_status_and_text(
    tenant: Tenant, other_tenant: Tenant, services: Services, clock: FakeClock
) -> None:
    od = await make_outdial(tenant)
    path = f"/v1.0/outdials/{od['id']}/targets"
    made = {}
    rows = [
        ("Ann Lee", "+15550001", None),
        ("Bob Ray", "+15550002", "sip:ann@example.com"),
        ("Cy 100%_x", "+15559999", None),
        ("Dee", "+15550004", None),
        ("Eve", "+82212345678", None),
    ]
    for name, number, second in rows:
        await clock.advance(1)
        body: dict[str, Any] = {"name": name, "destination_0": tel(number)}
        if second:
            body["destination_1"] = {"type": "sip", "target": second[4:]}
        made[name] = await make_target(tenant, od["id"], **body)
    await set_status(services, made["Bob Ray"]["id"], "done")
    await set_status(services, made["Dee"]["id"], "done")

    def names(found: list[dict[str, Any]]) -> list[str]:
        return [r["name"] for r in found]

    everything = names(await pages(tenant, path))
    assert everything == ["Eve", "Dee", "Cy 100%_x", "Bob Ray", "Ann Lee"]
    assert names(await pages(tenant, path, status="done")) == ["Dee", "Bob Ray"]
    assert names(await pages(tenant, path, status="idle")) == ["Eve", "Cy 100%_x", "Ann Lee"]
    assert names(await pages(tenant, path, status="done,idle")) == everything
    # q: the name (any case) or any destination's target, a substring
    assert names(await pages(tenant, path, q="ANN")) == ["Bob Ray", "Ann Lee"]  # sip:ann@
    assert names(await pages(tenant, path, q="5550002")) == ["Bob Ray"]
    assert names(await pages(tenant, path, q="+8221")) == ["Eve"]
    assert names(await pages(tenant, path, q="555000")) == ["Dee", "Bob Ray", "Ann Lee"]
    assert names(await pages(tenant, path, q="ann", status="idle")) == ["Ann Lee"]
    # LIKE's wildcards are literal, and nothing but the target matches (not the type "tel")
    assert names(await pages(tenant, path, q="100%_")) == ["Cy 100%_x"]
    assert names(await pages(tenant, path, q="%")) == ["Cy 100%_x"]
    assert names(await pages(tenant, path, q="tel")) == []
    assert names(await pages(tenant, path, q="target")) == []
    assert names(await pages(tenant, path, q="")) == everything  # empty: no filter
    assert names(await pages(tenant, path, colour="red")) == everything  # unknown: ignored
    error(await tenant.call("GET", path, params={"status": "lost"}), 400, "INVALID_ARGUMENT")
    error(await tenant.call("GET", path, params={"q": "x" * 101}), 400, "INVALID_ARGUMENT")
    theirs = await other_tenant.call("GET", path, params={"q": "ann"})
    assert theirs.status_code == 404


async def test_calls_by_status_result_reason_time_and_target(
    tenant: Tenant, other_tenant: Tenant, services: Services, clock: FakeClock
) -> None:
    od = await make_outdial(tenant)
    plan = await make_outplan(tenant)
    camp = await make_campaign(tenant, outdial_id=od["id"], outplan_id=plan["id"])
    od2 = await make_outdial(tenant)
    other_camp = await make_campaign(tenant, outdial_id=od2["id"], outplan_id=plan["id"])
    target = uuid.uuid4()
    made: dict[str, str] = {}
    spec = [
        ("a", camp, "done", "success", "normal", None),
        ("b", camp, "done", "fail", "busy", target),
        ("c", camp, "progressing", "", "", target),
        ("d", camp, "done", "fail", "noanswer", None),
        ("e", other_camp, "done", "fail", "busy", None),
    ]
    times: dict[str, str] = {}
    for key, campaign, status, result, reason, tid in spec:
        await clock.advance(60)
        call_id = await insert_campaigncall(
            services,
            tenant.customer_id,
            campaign,
            status=status,
            result=result or "success",
            target_id=tid,
        )
        async with services.ctx.db.write() as conn:
            await conn.execute(
                sa.update(campaigncalls)
                .where(campaigncalls.c.id == uuid.UUID(call_id))
                .values(hangup_reason=reason)
            )
        made[call_id] = key
        times[key] = clock.now().isoformat()

    async def keys(path: str, **params: Any) -> list[str]:
        return [made[r["id"]] for r in await pages(tenant, path, **params)]

    every = "/v1.0/campaigncalls"
    mine = f"/v1.0/campaigns/{camp['id']}/campaigncalls"
    assert await keys(every) == ["e", "d", "c", "b", "a"]
    assert await keys(mine) == ["d", "c", "b", "a"]
    assert await keys(every, result="fail") == ["e", "d", "b"]
    assert await keys(mine, result="fail") == ["d", "b"]
    assert await keys(every, status="progressing") == ["c"]
    assert await keys(every, status="done", result="success") == ["a"]
    assert await keys(every, hangup_reason="busy") == ["e", "b"]
    assert await keys(mine, reason="busy,noanswer") == ["d", "b"]  # `reason`: the same
    assert await keys(every, since=times["b"]) == ["e", "d", "c", "b"]  # at or after
    assert await keys(every, until=times["b"]) == ["a"]  # strictly before
    assert await keys(every, since=times["b"], until=times["d"]) == ["c", "b"]
    assert await keys(every, target_id=str(target)) == ["c", "b"]
    assert await keys(every, since=times["d"], until=times["b"]) == []  # an empty range
    assert await keys(mine, target_id=str(target), status="done") == ["b"]
    assert await keys(every, result="", page_size_x="1") == ["e", "d", "c", "b", "a"]
    bad = [
        {"result": "maybe"},
        {"status": "ringing"},
        {"hangup_reason": "hungup"},
        {"since": "yesterday"},
        {"target_id": "nope"},
    ]
    for params in bad:
        response = await tenant.call("GET", every, params=params)
        assert response.status_code == 400, (params, response.text)
    # another customer sees none of them, filtered or not
    assert (await other_tenant.ok("GET", every, params={"result": "fail"}))["result"] == []
    response = await other_tenant.call("GET", mine, params={"result": "fail"})
    assert response.status_code == 404


@pytest.mark.parametrize("size", [1, 3])
async def test_filtered_paging_is_stable_while_rows_arrive(
    tenant: Tenant, services: Services, clock: FakeClock, size: int
) -> None:
    """A page token taken from a filtered page goes on where it stopped even when newer
    matching rows arrive meanwhile (they are before the cursor, never repeated)."""
    od = await make_outdial(tenant)
    plan = await make_outplan(tenant)
    camp = await make_campaign(tenant, outdial_id=od["id"], outplan_id=plan["id"])
    ids = []
    for n in range(6):
        await clock.advance(1)
        result = "fail" if n % 2 else "success"
        ids.append(await insert_campaigncall(services, tenant.customer_id, camp, result=result))
    fails = [ids[5], ids[3], ids[1]]
    first = await tenant.ok(
        "GET", "/v1.0/campaigncalls", params={"result": "fail", "page_size": size}
    )
    await clock.advance(1)
    await insert_campaigncall(services, tenant.customer_id, camp, result="fail")  # newer
    seen = [r["id"] for r in first["result"]]
    token = first["next_page_token"]
    while token:
        page = await tenant.ok(
            "GET",
            "/v1.0/campaigncalls",
            params={"result": "fail", "page_size": size, "page_token": token},
        )
        seen += [r["id"] for r in page["result"]]
        token = page["next_page_token"]
    assert seen == fails
