"""Issue 5: every change writes its event in the change's own transaction (the outbox)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from outdial.clock import FakeClock
from outdial.domain.errors import FailedPrecondition
from outdial.services import events
from outdial.services.container import Services
from outdial.wire import campaigncall as wire_campaigncall
from tests.engine.harness import Harness


async def _events(services: Services, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    async with services.ctx.db.read() as conn:
        found = await events.after(conn, customer_id, 0, 10_000)
    return [json.loads(e.body()) for e in found]


async def test_a_campaign_run_writes_every_event_in_order(
    services: Services, clock: FakeClock
) -> None:
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(
            ["+15550000001", "+4865550002"], outplan={"max_try_count_0": 1, "try_interval": 0}
        )
        await h.run(campaign.id)
        await h.tick(0.1, rounds=10)
        await h.tick(1.1, rounds=3)
        assert (await services.campaigns.get(h.customer_id, campaign.id)).status == "stop"
        seen = await _events(services, h.customer_id)
        ids = [e["id"] for e in seen]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        types = [e["type"] for e in seen]
        assert types[:6] == [
            "outplan_created",
            "outdial_created",
            "outdialtarget_created",
            "outdialtarget_created",
            "campaign_created",
            "campaign_status_run",
        ]
        assert types.count("campaigncall_created") == len(await h.calls(campaign.id))
        assert types[-1] == "campaign_status_stop"
        # The last event of each call is exactly what the API answers for it now.
        last: dict[str, dict[str, Any]] = {}
        for e in seen:
            if e["type"].startswith("campaigncall_"):
                last[e["data"]["id"]] = e["data"]
        for call in await h.calls(campaign.id):
            assert last[str(call.id)] == wire_campaigncall.render(call)
        results = {d["hangup_reason"] for d in last.values()}
        assert results == {"normal", "busy"}
        target_events = [e for e in seen if e["type"] == "outdialtarget_created"]
        assert {e["data"]["outdial_id"] for e in target_events} == {str(outdial.id)}


async def test_stop_goes_through_stopping_events(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        _, _, campaign = await h.setup(["+4085550001"], outplan={"dial_timeout": 3000})
        await h.run(campaign.id)
        await h.tick(0.1)
        await services.campaigns.set_status(h.customer_id, campaign.id, {"status": "stop"})
        await h.tick(2.0, rounds=3)
        statuses = [
            e["type"]
            for e in await _events(services, h.customer_id)
            if e["type"].startswith("campaign_status_")
        ]
        assert statuses == [
            "campaign_status_run",
            "campaign_status_stopping",
            "campaign_status_stop",
        ]


async def test_a_change_that_fails_writes_no_event(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        _, _, campaign = await h.setup(["+4085550001"])
        await h.run(campaign.id)
        before = await _events(services, h.customer_id)
        with pytest.raises(FailedPrecondition):
            await services.campaigns.delete(h.customer_id, campaign.id)
        assert await _events(services, h.customer_id) == before


async def test_deletes_and_bulk_creates(services: Services, clock: FakeClock) -> None:
    me = (await services.customers.create("x")).id
    outdial = await services.outdials.create(me, {"name": "l"})
    made = await services.targets.create_many(
        me, outdial.id, [{"destination_0": f"tel:+1555000{n:04d}"} for n in range(3)]
    )
    await services.targets.delete(me, outdial.id, made[0].id)
    await services.targets.delete(me, outdial.id, made[0].id)  # again: no second event
    await services.outdials.update(me, outdial.id, {"name": "m"})
    await services.outdials.delete(me, outdial.id)
    types = [e["type"] for e in await _events(services, me)]
    assert types == [
        "outdial_created",
        *["outdialtarget_created"] * 3,
        "outdialtarget_deleted",
        "outdial_updated",
        "outdial_deleted",
    ]
