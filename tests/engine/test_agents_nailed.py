"""Nailed-up agents (issue 13, nailed) on the simulated telephony and the fake clock: the desk
calls a `nailed_up` agent once, keeps the leg between calls and connects each callee to it at
once (no ring time); BYE when the agent goes away; a dropped leg makes the agent offline."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from outdial.clock import FakeClock
from outdial.domain.netpolicy import NetworkPolicy
from outdial.services.container import Services
from outdial.storage.db import Database
from outdial.telephony.bridge import NAILED_PREFIX
from tests.conftest import LOOPBACK
from tests.engine.harness import Harness

# The agent's phone rings 1.5 s: rung per call, every callee would wait 1.5 s for it.
AGENT = "sim:agent?aht=2&wrap=1&ring=1500"


@pytest.fixture
def services(db: Database, clock: FakeClock) -> Services:
    return Services.build(db, clock, network=NetworkPolicy.from_text(LOOPBACK), sim_agents=True)


async def _setup(h: Harness, numbers: list[str], *, nailed_up: bool) -> tuple[Any, Any]:
    s, me = h.services, h.customer_id
    tag = await s.tags.create(me, {"name": "sales"})
    queue = await s.queues.create(me, {"name": "q", "tag_ids": [str(tag.id)]})
    agent = await s.agents.create(
        me,
        {
            "name": "a",
            "tag_ids": [str(tag.id)],
            "addresses": [{"type": "sip", "target": AGENT}],
            "nailed_up": nailed_up,
        },
    )
    await s.agents.update(me, agent.id, {"status": "available"}, part="status")
    _, _, campaign = await h.setup(
        numbers, queue_id=str(queue.id), actions=[], service_level=100, dial_mode="power"
    )
    return agent, campaign


async def _status(h: Harness, agent_id: uuid.UUID) -> str:
    return (await h.services.agents.get(h.customer_id, agent_id)).status


async def _until(h: Harness, agent_id: uuid.UUID, status: str) -> bool:
    """Tick (0.1 s) until the agent has `status` (at most 2 s)."""
    for _ in range(20):
        if await _status(h, agent_id) == status:
            return True
        await h.tick(0.1)
    return False


async def _all_done(h: Harness, campaign_id: uuid.UUID, count: int) -> list[Any]:
    for _ in range(400):
        calls = [c for c in await h.calls(campaign_id) if c.status == "done"]
        if len(calls) == count:
            return calls
        await h.tick(0.1)
    raise AssertionError("the calls did not end")


def _answer_to_connect_ms(call: Any, callee_ring_ms: int = 200) -> float:
    """From the callee's answer (the dial + the sim's 200 ms ring) to the agent's answer."""
    return (call.tm_connect - call.tm_create) / timedelta(milliseconds=1) - callee_ring_ms


async def test_nailed_up_leg_is_reused_without_ring(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        agent, campaign = await _setup(h, ["+15550004001", "+15550004002"], nailed_up=True)
        assert agent.nailed_up
        await h.run(campaign.id)
        # the desk calls the agent (its phone rings 1.5 s): no callee is placed meanwhile; the
        # pacing round may take a few ticks on a loaded machine, all well inside the ring
        for _ in range(12):
            await h.tick(0.1)
            if await _status(h, agent.id) == "ringing":
                break
        assert await _status(h, agent.id) == "ringing" and not await h.calls(campaign.id)
        calls = await _all_done(h, campaign.id, 2)
        assert h.sim.legs_opened == 1  # the agent was called once for both callees
        leg = h.sim.legs[f"{NAILED_PREFIX}{agent.id}"]
        assert leg.conversations == 2 and not leg.ended.done()
        for call in calls:
            assert call.agent_id == agent.id and not call.abandoned
            # connected at the callee's answer, give or take the desk's 100 ms tick/poll: no
            # 1.5 s ring of the agent's phone
            assert 0 <= _answer_to_connect_ms(call) <= 300
        assert await _status(h, agent.id) in ("available", "busy")
        # the agent goes away: the desk sends BYE on the next pacing round
        await services.agents.update(h.customer_id, agent.id, {"status": "away"}, part="status")
        await h.tick(0.1, rounds=3)
        assert leg.ended.done() and leg.ended.result() == "bye"
        assert not h.sim.legs and await _status(h, agent.id) == "away"
        assert h.sim.legs_opened == 1


async def test_without_nailed_up_each_callee_waits_for_the_ring(
    services: Services, clock: FakeClock
) -> None:
    """The control: the same agent not nailed up is rung per callee (1.5 s each time)."""
    async with Harness(services, clock) as h:
        agent, campaign = await _setup(h, ["+15550004003"], nailed_up=False)
        await h.run(campaign.id)
        (call,) = await _all_done(h, campaign.id, 1)
        assert h.sim.legs_opened == 0 and call.agent_id == agent.id
        assert _answer_to_connect_ms(call) >= 1_500


async def test_dropped_leg_makes_the_agent_offline(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        agent, campaign = await _setup(h, [], nailed_up=True)
        await h.run(campaign.id)
        for _ in range(40):
            await h.tick(0.1)
            if h.sim.legs:
                break
        (leg,) = h.sim.legs.values()
        assert await _until(h, agent.id, "available")
        leg.drop()  # the agent's side hangs up
        assert await _until(h, agent.id, "offline")
        await h.tick(0.1, rounds=3)
        assert h.sim.legs_opened == 1  # not called again while offline


async def test_unanswered_leg_makes_the_agent_offline(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        s, me = h.services, h.customer_id
        agent, campaign = await _setup(h, [], nailed_up=True)
        await s.agents.update(
            me, agent.id, {"addresses": [{"type": "sip", "target": AGENT + "&answer=0"}]},
            part="addresses",
        )  # fmt: skip
        await h.run(campaign.id)
        await h.tick(0.5, rounds=6)
        assert await _until(h, agent.id, "offline") and h.sim.legs_opened == 1
        assert not h.sim.legs
