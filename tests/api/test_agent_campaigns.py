"""Campaign fields for agents (dial_mode, max_abandon_rate, abandon_message, dispositions),
the campaigncall's agent fields, `PUT /campaigncalls/{id}/disposition` and the stats'
abandon counts (issue 13, SPEC 7)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.services.container import Services
from outdial.storage.tables import campaigncalls, outdial_targets
from outdial.storage.timeconv import to_us
from tests.api.helpers import NIL, TEL, error, insert_campaigncall
from tests.conftest import Tenant


async def _campaign(tenant: Tenant, **extra: object) -> dict:
    od = await tenant.ok("POST", "/v1.0/outdials", json={"name": "o"})
    plan = await tenant.ok("POST", "/v1.0/outplans", json={"source": TEL, "max_try_count_0": 2})
    body = {"outdial_id": od["id"], "outplan_id": plan["id"], **extra}
    return await tenant.ok("POST", "/v1.0/campaigns", json=body)


async def test_campaign_agent_fields(tenant: Tenant) -> None:
    plain = await _campaign(tenant)
    assert (plain["dial_mode"], plain["max_abandon_rate"], plain["abandon_message"]) == ("", 3, "")
    assert plain["dispositions"] == [] and plain["queue_id"] == NIL
    queue = await tenant.ok("POST", "/v1.0/queues", json={"name": "q"})
    queued = await _campaign(tenant, queue_id=queue["id"], service_level=100)
    assert queued["dial_mode"] == "power"  # VoIPBIN's rule when a queue is set
    path = f"/v1.0/campaigns/{queued['id']}"
    body = {
        "dial_mode": "predictive",
        "max_abandon_rate": 2.5,
        "abandon_message": "This was Acme, call us on +1 555 0100.",
        "dispositions": ["sale", "no_sale", "callback", "sale"],
    }
    changed = await tenant.ok("PUT", path, json=body)
    assert changed["dial_mode"] == "predictive" and changed["max_abandon_rate"] == 2.5
    assert changed["dispositions"] == ["sale", "no_sale", "callback"]
    assert changed["abandon_message"].startswith("This was Acme")
    for bad in (
        {"dial_mode": "turbo"},
        {"max_abandon_rate": 101},
        {"max_abandon_rate": -1},
        {"dispositions": [""]},
        {"dispositions": "sale"},
    ):
        error(await tenant.call("PUT", path, json=bad), 400, "INVALID_ARGUMENT")
    missing = {"queue_id": str(uuid.uuid4())}
    response = await tenant.call("PUT", f"{path}/resource_info", json=missing)
    error(response, 400, "INVALID_ARGUMENT", "INVALID_REFERENCE")


async def test_queue_of_another_customer_is_no_reference(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await other_tenant.ok("POST", "/v1.0/queues", json={"name": "q"})
    od = await tenant.ok("POST", "/v1.0/outdials", json={"name": "o"})
    body = {"outdial_id": od["id"], "queue_id": theirs["id"]}
    error(await tenant.call("POST", "/v1.0/campaigns", json=body), 400, "INVALID_ARGUMENT",
          "INVALID_REFERENCE")  # fmt: skip


async def test_campaigncall_fields_and_disposition(
    tenant: Tenant, services: Services, clock: FakeClock
) -> None:
    campaign = await _campaign(tenant, dispositions=["sale", "callback"])
    target = await tenant.ok(
        "POST", f"/v1.0/outdials/{campaign['outdial_id']}/targets", json={"destination_0": TEL}
    )
    async with services.ctx.db.write() as conn:  # answered: the target is done
        await conn.execute(
            sa.update(outdial_targets)
            .where(outdial_targets.c.id == uuid.UUID(target["id"]))
            .values(status="done", try_count_0=1)
        )
    call_id = await insert_campaigncall(
        services, tenant.customer_id, campaign, target_id=uuid.UUID(target["id"])
    )
    call = await tenant.ok("GET", f"/v1.0/campaigncalls/{call_id}")
    assert (call["agent_id"], call["abandoned"], call["tm_connect"]) == (NIL, False, "")
    assert (call["disposition"], call["callback_at"]) == ("", "")
    path = f"/v1.0/campaigncalls/{call_id}/disposition"
    error(await tenant.call("PUT", path, json={"disposition": "maybe"}), 400, "INVALID_ARGUMENT",
          "INVALID_DISPOSITION")  # fmt: skip
    past = (clock.now() - timedelta(hours=1)).isoformat()
    error(await tenant.call("PUT", path, json={"callback_at": past}), 400, "INVALID_ARGUMENT")
    at = clock.now() + timedelta(days=1)
    body = {"disposition": "callback", "note": "after 5 pm", "callback_at": at.isoformat()}
    done = await tenant.ok("PUT", path, json=body)
    assert (done["disposition"], done["disposition_note"]) == ("callback", "after 5 pm")
    assert done["callback_at"] == at.strftime("%Y-%m-%d %H:%M:%S.%f")
    async with services.ctx.db.read() as conn:
        row = (
            await conn.execute(
                sa.select(outdial_targets).where(outdial_targets.c.id == uuid.UUID(target["id"]))
            )
        ).one()
    assert (row.status, row.not_before) == ("idle", to_us(at))  # dialed again then


async def test_dispositions_in_the_compliance_export(
    tenant: Tenant, services: Services, clock: FakeClock
) -> None:
    """An attempt carries agent_id, disposition, note and callback_at when set (the console's
    CSV is made from these same records), and none of them when not."""
    campaign = await _campaign(tenant, dispositions=["callback"])
    plain = await insert_campaigncall(services, tenant.customer_id, campaign)
    await clock.advance(1)
    target = await tenant.ok(
        "POST", f"/v1.0/outdials/{campaign['outdial_id']}/targets", json={"destination_0": TEL}
    )
    async with services.ctx.db.write() as conn:  # answered: the target is done
        await conn.execute(
            sa.update(outdial_targets)
            .where(outdial_targets.c.id == uuid.UUID(target["id"]))
            .values(status="done", try_count_0=1)
        )
    talked = await insert_campaigncall(
        services, tenant.customer_id, campaign, target_id=uuid.UUID(target["id"])
    )
    agent_id = uuid.uuid4()
    async with services.ctx.db.write() as conn:
        await conn.execute(
            sa.update(campaigncalls)
            .where(campaigncalls.c.id == uuid.UUID(talked))
            .values(agent_id=agent_id)
        )
    at = clock.now() + timedelta(days=1)
    body = {"disposition": "callback", "note": 'after 5 pm, "ask"', "callback_at": at.isoformat()}
    await tenant.ok("PUT", f"/v1.0/campaigncalls/{talked}/disposition", json=body)
    log = await tenant.ok("GET", f"/v1.0/campaigns/{campaign['id']}/compliance")
    by_id = {r["id"]: r for r in log["result"]}
    record = by_id[talked]
    assert record["agent_id"] == str(agent_id)
    assert (record["disposition"], record["note"]) == ("callback", 'after 5 pm, "ask"')
    assert record["callback_at"] == at.strftime("%Y-%m-%d %H:%M:%S.%f")
    assert not {"agent_id", "disposition", "note", "callback_at"} & set(by_id[plain])


async def test_disposition_isolation_and_in_flight(
    tenant: Tenant, other_tenant: Tenant, services: Services, clock: FakeClock
) -> None:
    campaign = await _campaign(tenant)
    call_id = await insert_campaigncall(
        services, tenant.customer_id, campaign, status="progressing"
    )
    path = f"/v1.0/campaigncalls/{call_id}/disposition"
    error(await other_tenant.call("PUT", path, json={"disposition": "x"}), 404, "NOT_FOUND")
    assert (await tenant.ok("PUT", path, json={"disposition": "x"}))["disposition"] == "x"
    later = (clock.now() + timedelta(hours=2)).isoformat()
    error(await tenant.call("PUT", path, json={"callback_at": later}), 409,
          "FAILED_PRECONDITION", "CAMPAIGNCALL_NOT_DONE")  # fmt: skip


async def test_stats_abandon_counts(tenant: Tenant, services: Services) -> None:
    campaign = await _campaign(tenant)
    ids = [await insert_campaigncall(services, tenant.customer_id, campaign) for _ in range(4)]
    now = services.ctx.now_us()
    async with services.ctx.db.write() as conn:
        for n, cid in enumerate(ids):
            values = {"abandoned": True, "tm_abandon": now} if n == 0 else {"tm_connect": now}
            await conn.execute(
                sa.update(campaigncalls).where(campaigncalls.c.id == uuid.UUID(cid)).values(values)
            )
    stats = await tenant.ok("GET", f"/v1.0/campaigns/{campaign['id']}/stats")
    assert (stats["connected"], stats["abandoned"], stats["abandon_rate"]) == (3, 1, 0.25)
