"""Reset of one target, recycle passes over a campaign's done targets, and the target history
they write (issue 17; docs/recycling.md). Each runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.services.container import Services
from outdial.storage.tables import accesskeys, campaigncalls, events, outdial_targets
from outdial.storage.timeconv import to_us
from tests.api.helpers import (
    NIL,
    error,
    insert_campaigncall,
    make_campaign,
    make_outdial,
    make_outplan,
    make_target,
)
from tests.conftest import Tenant

T = outdial_targets


async def set_target(services: Services, target_id: str, **values: Any) -> None:
    async with services.ctx.db.write() as conn:
        await conn.execute(sa.update(T).where(T.c.id == uuid.UUID(target_id)).values(**values))


async def target_row(services: Services, target_id: str) -> Any:
    async with services.ctx.db.read() as conn:
        return (await conn.execute(sa.select(T).where(T.c.id == uuid.UUID(target_id)))).one()


async def events_of(services: Services, type_: str) -> list[dict[str, Any]]:
    stmt = sa.select(events.c.data).where(events.c.type == type_).order_by(events.c.id)
    async with services.ctx.db.read() as conn:
        return [json.loads(d) for d in (await conn.execute(stmt)).scalars()]


async def key_id(services: Services, t: Tenant) -> str:
    stmt = sa.select(accesskeys.c.id).where(accesskeys.c.customer_id == t.customer_id)
    async with services.ctx.db.read() as conn:
        return str((await conn.execute(stmt)).scalar_one())


def paths(target: dict[str, Any]) -> tuple[str, str]:
    base = f"/v1.0/outdials/{target['outdial_id']}/targets/{target['id']}"
    return f"{base}/reset", f"{base}/history"


async def test_reset_gives_a_done_target_its_tries_back(
    tenant: Tenant, services: Services, clock: FakeClock
) -> None:
    outdial = await make_outdial(tenant)
    target = await make_target(tenant, outdial["id"])
    ended = to_us(services.ctx.now())
    await set_target(
        services, target["id"], status="done", try_count_0=3, try_count_2=1, last_attempt_end=ended
    )
    reset, history = paths(target)
    after = await tenant.ok("POST", reset, json={"reason": "callback asked"})
    assert after["status"] == "idle" and after["id"] == target["id"]
    assert [after[f"try_count_{n}"] for n in range(5)] == [0] * 5
    assert after == await tenant.ok("GET", f"/v1.0/outdials/{outdial['id']}/targets/{target['id']}")
    row = await target_row(services, target["id"])
    assert row.last_attempt_end == ended  # try_interval still counts from the last attempt
    assert await events_of(services, "outdialtarget_reset") == [after]
    # an idle target may be reset too (its counts go back to 0; it stays idle)
    await clock.advance(1)  # history is newest first: the second entry is a later one
    await set_target(services, target["id"], try_count_1=2)
    again = await tenant.ok("POST", reset)  # no body: no reason
    assert again["status"] == "idle" and again["try_count_1"] == 0
    page = await tenant.ok("GET", history)
    assert len(page["result"]) == 2
    newest, oldest = page["result"]
    me = await key_id(services, tenant)
    assert oldest["action"] == "reset" and oldest["reason"] == "callback asked"
    assert oldest["status"] == "done" and newest["status"] == "idle" and newest["reason"] == ""
    for entry in (newest, oldest):
        assert entry["accesskey_id"] == me and entry["customer_id"] == str(tenant.customer_id)
        assert entry["outdial_target_id"] == target["id"] and entry["campaign_id"] == NIL
        assert entry["outdial_id"] == outdial["id"]
    one = await tenant.ok("GET", f"{history}?page_size=1")
    assert [e["id"] for e in one["result"]] == [newest["id"]]
    rest = await tenant.ok("GET", f"{history}?page_size=1&page_token={one['next_page_token']}")
    assert [e["id"] for e in rest["result"]] == [oldest["id"]]


async def test_reset_is_refused_while_in_progress_and_for_deleted(
    tenant: Tenant, other_tenant: Tenant, services: Services
) -> None:
    outdial = await make_outdial(tenant)
    target = await make_target(tenant, outdial["id"])
    await set_target(services, target["id"], status="progressing", try_count_0=1)
    reset, history = paths(target)
    err = error(await tenant.call("POST", reset), 409, "FAILED_PRECONDITION", "TARGET_IN_PROGRESS")
    assert "in progress" in err["message"]
    row = await target_row(services, target["id"])
    assert (row.status, row.try_count_0) == ("progressing", 1)
    assert (await tenant.ok("GET", history))["result"] == []
    assert await events_of(services, "outdialtarget_reset") == []
    # another customer's target is not found, a bad reason is a 400
    error(await other_tenant.call("POST", reset), 404, "NOT_FOUND", "OUTDIAL_NOT_FOUND")
    error(await other_tenant.call("GET", history), 404, "NOT_FOUND", "OUTDIAL_NOT_FOUND")
    missing = f"/v1.0/outdials/{outdial['id']}/targets/{uuid.uuid4()}/reset"
    error(await tenant.call("POST", missing), 404, "NOT_FOUND", "OUTDIAL_TARGET_NOT_FOUND")
    error(await tenant.call("POST", reset, json={"reason": 5}), 400, "INVALID_ARGUMENT")
    await set_target(services, target["id"], status="done")
    await tenant.ok("DELETE", f"/v1.0/outdials/{outdial['id']}/targets/{target['id']}")
    error(await tenant.call("POST", reset), 409, "FAILED_PRECONDITION", "OUTDIAL_TARGET_DELETED")


async def test_the_reset_statement_is_guarded(tenant: Tenant, services: Services) -> None:
    """A target read as done that an engine started meanwhile is left alone (zero rows)."""
    from outdial.domain.states import TargetStatus
    from outdial.storage import target_reset

    outdial = await make_outdial(tenant)
    target = await make_target(tenant, outdial["id"])
    await set_target(services, target["id"], status="progressing", try_count_0=1)
    async with services.ctx.db.write() as conn:
        moved = await target_reset.reset(conn, uuid.UUID(target["id"]), TargetStatus.DONE, 1)
    assert moved is None
    assert (await target_row(services, target["id"])).try_count_0 == 1


@pytest.fixture
async def campaign(tenant: Tenant) -> dict[str, Any]:
    outdial = await make_outdial(tenant)
    plan = await make_outplan(tenant, max_try_count_0=3, max_try_count_1=2)
    return await make_campaign(tenant, outdial_id=outdial["id"], outplan_id=plan["id"])


async def done_target(
    tenant: Tenant,
    services: Services,
    campaign: dict[str, Any],
    name: str,
    outcomes: list[tuple[str, str]],
    *,
    tries: int,
    ended_hours_ago: float,
    status: str = "done",
) -> dict[str, Any]:
    """A target whose attempts ended with `outcomes` ((result, hangup_reason), oldest first)."""
    target = await make_target(tenant, campaign["outdial_id"], name=name)
    now = services.ctx.now()
    for n, (result, reason) in enumerate(outcomes):
        call = await insert_campaigncall(
            services, tenant.customer_id, campaign, result=result, target_id=uuid.UUID(target["id"])
        )
        at = to_us(now - timedelta(hours=ended_hours_ago) + timedelta(seconds=n))
        async with services.ctx.db.write() as conn:
            await conn.execute(
                sa.update(campaigncalls)
                .where(campaigncalls.c.id == uuid.UUID(call))
                .values(hangup_reason=reason, tm_create=at)
            )
    ended = to_us(now - timedelta(hours=ended_hours_ago)) if outcomes else None
    await set_target(
        services, target["id"], status=status, try_count_0=tries, last_attempt_end=ended
    )
    return target


async def statuses(tenant: Tenant, campaign: dict[str, Any]) -> dict[str, tuple[str, int]]:
    page = await tenant.ok("GET", f"/v1.0/outdials/{campaign['outdial_id']}/targets")
    return {t["name"]: (t["status"], t["try_count_0"]) for t in page["result"]}


async def test_recycle_by_filter(
    tenant: Tenant, services: Services, campaign: dict[str, Any]
) -> None:
    fail, success = ("fail", "busy"), ("success", "normal")
    await done_target(
        tenant, services, campaign, "busy", [success, fail], tries=3, ended_hours_ago=5
    )
    noanswer = ("fail", "noanswer")
    await done_target(
        tenant, services, campaign, "noans", [fail, noanswer], tries=2, ended_hours_ago=1
    )
    await done_target(
        tenant, services, campaign, "answered", [fail, success], tries=2, ended_hours_ago=5
    )
    await done_target(tenant, services, campaign, "untried", [], tries=0, ended_hours_ago=0)
    await done_target(
        tenant,
        services,
        campaign,
        "flying",
        [fail],
        tries=1,
        ended_hours_ago=9,
        status="progressing",
    )
    await done_target(
        tenant, services, campaign, "waiting", [fail], tries=1, ended_hours_ago=9, status="idle"
    )
    recycle = f"/v1.0/campaigns/{campaign['id']}/recycle"

    # the last attempt's outcome decides, not an earlier one
    answer = await tenant.ok("POST", recycle, json={"hangup_reasons": ["busy"], "reason": "pass 2"})
    assert answer == {"recycled": 1}
    now = await statuses(tenant, campaign)
    assert now["busy"] == ("idle", 0) and now["noans"] == ("done", 2)
    assert now["flying"] == ("progressing", 1) and now["waiting"] == ("idle", 1)

    # several conditions must all hold: fail, fewer than 3 tries, ended over 2 hours ago
    before = (services.ctx.now() - timedelta(hours=2)).isoformat()
    both = {"results": ["fail"], "tries_below": 3, "last_attempt_before": before}
    assert await tenant.ok("POST", recycle, json=both) == {"recycled": 0}
    assert await tenant.ok("POST", recycle, json={**both, "last_attempt_before": None}) == {
        "recycled": 1
    }
    assert (await statuses(tenant, campaign))["noans"] == ("idle", 0)

    # no filter: every done target, including one done without any attempt
    assert await tenant.ok("POST", recycle) == {"recycled": 2}
    final = await statuses(tenant, campaign)
    assert final["answered"] == final["untried"] == ("idle", 0)
    assert final["flying"] == ("progressing", 1)  # never touched in flight

    recycled = await events_of(services, "campaign_recycled")
    assert [e["recycled"] for e in recycled] == [1, 0, 1, 2]
    assert recycled[0] == {
        "id": campaign["id"],
        "campaign_id": campaign["id"],
        "outdial_id": campaign["outdial_id"],
        "recycled": 1,
        "filter": {"hangup_reasons": ["busy"]},
        "reason": "pass 2",
    }
    wire = recycled[1]["filter"]["last_attempt_before"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", wire), wire
    # each recycled target's history names the campaign, the key and the reason
    page = await tenant.ok("GET", f"/v1.0/outdials/{campaign['outdial_id']}/targets")
    busy = next(t for t in page["result"] if t["name"] == "busy")
    entries = (await tenant.ok("GET", paths(busy)[1]))["result"]
    assert [(e["action"], e["campaign_id"], e["reason"], e["status"]) for e in entries] == [
        ("recycle", campaign["id"], "pass 2", "done")
    ]
    assert entries[0]["accesskey_id"] == await key_id(services, tenant)


async def test_recycle_while_running_and_refusals(
    tenant: Tenant, other_tenant: Tenant, services: Services, campaign: dict[str, Any]
) -> None:
    recycle = f"/v1.0/campaigns/{campaign['id']}/recycle"
    await done_target(
        tenant, services, campaign, "a", [("fail", "busy")], tries=3, ended_hours_ago=1
    )
    await tenant.ok("PUT", f"/v1.0/campaigns/{campaign['id']}/status", json={"status": "run"})
    assert await tenant.ok("POST", recycle, json={"results": ["fail"]}) == {"recycled": 1}
    await tenant.ok("PUT", f"/v1.0/campaigns/{campaign['id']}/status", json={"status": "stop"})
    for bad in (
        {"results": ["maybe"]},
        {"results": []},
        {"hangup_reasons": ["busy", "sleepy"]},
        {"tries_below": 0},
        {"tries_below": "3"},
        {"last_attempt_before": "yesterday"},
        {"reason": ["x"]},
    ):
        error(await tenant.call("POST", recycle, json=bad), 400, "INVALID_ARGUMENT")
    error(await other_tenant.call("POST", recycle), 404, "NOT_FOUND", "CAMPAIGN_NOT_FOUND")
    lone = await make_campaign(tenant)
    error(
        await tenant.call("POST", f"/v1.0/campaigns/{lone['id']}/recycle"),
        409,
        "FAILED_PRECONDITION",
        "CAMPAIGN_HAS_NO_OUTDIAL",
    )
    await tenant.ok("DELETE", f"/v1.0/campaigns/{campaign['id']}")
    error(await tenant.call("POST", recycle), 409, "FAILED_PRECONDITION", "CAMPAIGN_DELETED")
