"""Each dialing rule of SPEC 3, on the simulated telephony and the controllable clock."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.domain.errors import InvalidArgument
from outdial.engine.engine import Engine, EngineConfig
from outdial.services.container import Services
from outdial.services.dialing import DialingService
from outdial.storage.tables import campaigns, engines
from outdial.telephony.sim import SimTelephony
from tests.engine.harness import Harness


async def _in_flight(services: Services, campaign_id: object) -> int:
    async with services.ctx.db.read() as conn:
        value = (
            await conn.execute(
                sa.select(campaigns.c.in_flight).where(campaigns.c.id == campaign_id)
            )
        ).scalar()
    return int(value or 0)


async def test_cooling_target_does_not_block_others(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(
            ["+4865550001"], calls_per_second=100, end_handle="continue"
        )
        await h.run(campaign.id)
        await h.tick(0.1, rounds=5)
        # the busy target cools down for 60 s; a target added now is dialed at once
        late = await services.targets.create(
            h.customer_id, outdial.id, {"destination_0": {"type": "tel", "target": "+15557770000"}}
        )
        await h.tick(0.1, rounds=6)
        targets = {t.id: t for t in await h.targets(outdial.id)}
        assert targets[late.id].status == "done"
        assert len(await h.calls(campaign.id)) == 2


@pytest.mark.serial  # the rest is measured on the real clock (docs/testing.md, two phases)
async def test_a_slow_empty_claim_rests_the_campaign(services: Services, clock: FakeClock) -> None:
    """An empty claim that took long (a large list with nothing due) is not repeated every
    tick: the campaign rests rest_factor times the claim's time (capped), then is claimed
    again and dials what became due meanwhile."""
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(
            ["+4865550001"], calls_per_second=100, end_handle="continue"
        )
        await h.run(campaign.id)
        await h.tick(0.1, rounds=3)  # the busy target is now cooling down for 60 s
        # the rest is on from here: every claim below takes at least 0.05 s of real time
        h.engine.config = replace(h.engine.config, rest_factor=20.0, rest_max_s=2.0)
        claims = 0
        real_claim = h.engine.dialing.attempts.claim

        async def slow_claim(run: Any, **kw: Any) -> Any:
            nonlocal claims
            if run.campaign.id == campaign.id:  # (other tests' campaigns may be running)
                claims += 1
                await asyncio.sleep(0.05)  # as an empty claim over a large list would take
            return await real_claim(run, **kw)

        h.engine.dialing.attempts.claim = slow_claim  # type: ignore[method-assign]
        await h.tick(0.1)
        assert claims == 1  # empty, and slow: rests 20 x (0.05 s or more), 1 to 2 s
        late = await services.targets.create(
            h.customer_id, outdial.id, {"destination_0": {"type": "tel", "target": "+15557770000"}}
        )
        await h.tick(0.1, rounds=5)
        assert claims == 1
        targets = {t.id: t for t in await h.targets(outdial.id)}
        assert targets[late.id].status == "idle"
        await h.tick(0.1, rounds=15)  # the rest (at most rest_max_s) is over
        assert claims >= 2
        targets = {t.id: t for t in await h.targets(outdial.id)}
        assert targets[late.id].status == "done"


async def test_dial_timeout_gives_dialout(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(
            ["+4085550001"], outplan={"dial_timeout": 1500, "max_try_count_0": 1}
        )
        await h.run(campaign.id)
        await h.tick(0.1)
        [call] = await h.calls(campaign.id)
        assert call.status == "dialing"
        await h.tick(1.0)
        [call] = await h.calls(campaign.id)
        assert call.status == "dialing"  # still ringing before dial_timeout
        await h.tick(0.6)
        [call] = await h.calls(campaign.id)
        assert (call.status, call.result, call.hangup_reason) == ("done", "fail", "dialout")
        [target] = await h.targets(outdial.id)
        assert target.status == "done"  # its only try is used


async def test_deleted_targets_are_never_dialed(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(["+15550000001", "+15550000002"])
        gone = (await h.targets(outdial.id))[0]
        await services.targets.delete(h.customer_id, outdial.id, gone.id)
        await h.run(campaign.id)
        await h.tick(0.1, rounds=10)
        calls = await h.calls(campaign.id)
        assert [c.outdial_target_id for c in calls] != [] and gone.id not in {
            c.outdial_target_id for c in calls
        }
        await h.tick(1.0, rounds=3)
        assert (await services.campaigns.get(h.customer_id, campaign.id)).status == "stop"


async def test_max_concurrent_calls(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        numbers = [f"+408555000{i}" for i in range(8)]
        _, _, campaign = await h.setup(
            numbers, max_concurrent_calls=3, calls_per_second=100, outplan={"dial_timeout": 10000}
        )
        await h.run(campaign.id)
        for _ in range(5):
            await h.tick(0.5)
            calls = await h.calls(campaign.id)
            assert sum(c.status != "done" for c in calls) <= 3
            assert await _in_flight(services, campaign.id) <= 3
        assert len(await h.calls(campaign.id)) == 3


async def test_calls_per_second(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        numbers = [f"+1555000{i:04d}" for i in range(40)]
        _, _, campaign = await h.setup(numbers, calls_per_second=2, max_concurrent_calls=100)
        await h.run(campaign.id)
        await h.tick(0.1, rounds=50)  # five seconds
        started = len(await h.calls(campaign.id))
        assert 9 <= started <= 11


async def test_stop_goes_through_stopping(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        _, _, campaign = await h.setup(
            ["+4085550001", "+4085550002"], calls_per_second=100, outplan={"dial_timeout": 3000}
        )
        await h.run(campaign.id)
        await h.tick(0.1)
        stopped = await services.campaigns.set_status(
            h.customer_id, campaign.id, {"status": "stop"}
        )
        assert stopped.status == "stopping"
        await h.tick(1.0)
        assert len(await h.calls(campaign.id)) == 2  # nothing new while stopping
        await h.tick(2.5)
        assert (await services.campaigns.get(h.customer_id, campaign.id)).status == "stop"
        assert await _in_flight(services, campaign.id) == 0


async def test_end_handle_continue_picks_up_new_targets(
    services: Services, clock: FakeClock
) -> None:
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(["+15550000001"], end_handle="continue")
        await h.run(campaign.id)
        await h.tick(0.1, rounds=10)
        await h.tick(2.0, rounds=2)
        assert (await services.campaigns.get(h.customer_id, campaign.id)).status == "run"
        await services.targets.create(
            h.customer_id, outdial.id, {"destination_0": {"type": "tel", "target": "+15550000002"}}
        )
        await h.tick(0.1, rounds=10)
        assert [t.status for t in await h.targets(outdial.id)] == ["done", "done"]


async def test_end_handle_stop_starts_next_campaign(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        _, _, second = await h.setup(["+15550000009"])
        _, _, first = await h.setup(["+15550000001"], next_campaign_id=str(second.id))
        await h.run(first.id)
        await h.tick(0.1, rounds=10)
        await h.tick(1.1, rounds=2)
        assert (await services.campaigns.get(h.customer_id, first.id)).status == "stop"
        assert (await services.campaigns.get(h.customer_id, second.id)).status in ("run", "stop")
        await h.tick(0.1, rounds=10)
        await h.tick(1.1, rounds=2)
        assert len(await h.calls(second.id)) == 1
        assert (await services.campaigns.get(h.customer_id, second.id)).status == "stop"


async def test_run_validation(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(["+15550000001"])
        me = h.customer_id
        # a flow campaign (issue 12) needs an outplan and an outdial like a call campaign
        flow = await services.campaigns.create(me, {"type": "flow"})
        with pytest.raises(InvalidArgument, match="outplan"):
            await services.campaigns.set_status(me, flow.id, {"status": "run"})
        bare = await services.campaigns.create(me, {"name": "no plan"})
        with pytest.raises(InvalidArgument, match="outplan"):
            await services.campaigns.set_status(me, bare.id, {"status": "run"})
        await services.outdials.delete(me, outdial.id)
        with pytest.raises(InvalidArgument, match="deleted"):
            await services.campaigns.set_status(me, campaign.id, {"status": "run"})


async def test_unsupported_destination_type_fails_the_attempt(
    services: Services, clock: FakeClock
) -> None:
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup([], outplan={"max_try_count_0": 1})
        await services.targets.create(
            h.customer_id, outdial.id, {"destination_0": {"type": "extension", "target": "2001"}}
        )
        await h.run(campaign.id)
        await h.tick(0.1, rounds=3)
        [call] = await h.calls(campaign.id)
        assert (call.result, call.hangup_reason) == ("fail", "failed")


async def test_lost_attempts_of_a_dead_engine_are_recovered(
    services: Services, clock: FakeClock
) -> None:
    async with Harness(services, clock, stale_after_s=5.0) as h:
        _, outdial, campaign = await h.setup(["+4085550001"], outplan={"dial_timeout": 60000})
        dead = Engine(
            DialingService(services.ctx),
            SimTelephony(clock),
            clock,
            EngineConfig(),
            engine_id="engine-dead",
        )
        await services.campaigns.set_status(h.customer_id, campaign.id, {"status": "run"})
        await dead.dialing.registry.register(dead.id)
        await dead.step()  # it starts the attempt, then "dies" (never records an end)
        for task in list(dead.attempts):
            task.cancel()
        [target] = await h.targets(outdial.id)
        assert target.status == "progressing"
        async with services.ctx.db.write() as conn:  # its heartbeat stops here
            await conn.execute(
                sa.update(engines).where(engines.c.id == "engine-dead").values(heartbeat=0)
            )
        await h.engine.recover()
        [call] = await h.calls(campaign.id)
        assert (call.status, call.result, call.hangup_reason) == ("done", "fail", "lost")
        [target] = await h.targets(outdial.id)
        assert target.status == "idle" and target.try_counts[0] == 1
        assert await _in_flight(services, campaign.id) == 0
