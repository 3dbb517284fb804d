"""Agents on the simulated telephony and the fake clock (issue 13): answered callees are
connected to simulated agents, the agents go ringing -> busy (wrap-up) -> available, a callee
with no agent within 2 s is abandoned and hears the safe-harbour message, power pacing
dials no more than its rule, and an abandoned number rests 72 h for every campaign."""

from __future__ import annotations

import uuid
from itertools import pairwise
from typing import Any

import pytest

from outdial.clock import FakeClock
from outdial.domain.netpolicy import NetworkPolicy
from outdial.services.container import Services
from outdial.storage.db import Database
from outdial.telephony.base import CallRequest, OnAnswer
from outdial.telephony.sim import SimTelephony
from tests.conftest import LOOPBACK
from tests.engine.harness import Harness

NIL = uuid.UUID(int=0)


@pytest.fixture
def services(db: Database, clock: FakeClock) -> Services:
    return Services.build(db, clock, network=NetworkPolicy.from_text(LOOPBACK), sim_agents=True)


class Spy(SimTelephony):
    """The simulated telephony, keeping each call's request and what its media bridged."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock, ring_ms=200, action_ms=100, seed=7)
        self.requests: list[CallRequest] = []
        self.spoken: list[str] = []

    async def place_call(self, request: CallRequest, on_answer: OnAnswer) -> Any:
        self.requests.append(request)
        return await super().place_call(request, on_answer)


async def _agents(h: Harness, count: int, aht: int = 30, wrap: int = 5, **queue: Any) -> Any:
    s, me = h.services, h.customer_id
    tag = await s.tags.create(me, {"name": "sales"})
    q = await s.queues.create(me, {"name": "q", "tag_ids": [str(tag.id)], **queue})
    made = []
    for n in range(count):
        address = {"type": "sip", "target": f"sim:agent?aht={aht}&wrap={wrap}"}
        agent = await s.agents.create(
            me, {"name": f"a{n}", "tag_ids": [str(tag.id)], "addresses": [address]}
        )
        await s.agents.update(me, agent.id, {"status": "available"}, part="status")
        made.append(agent)
    return q, made


async def _status(h: Harness, agent_id: uuid.UUID) -> str:
    return (await h.services.agents.get(h.customer_id, agent_id)).status


async def _until(h: Harness, agent_id: uuid.UUID, status: str, step: float, rounds: int) -> str:
    """Tick until the agent has `status` (at most `rounds`); the status it has then. Status
    changes are written by the call's own task, which a loaded machine may run a tick late."""
    for _ in range(rounds):
        if await _status(h, agent_id) == status:
            break
        await h.tick(step)
    return await _status(h, agent_id)


async def test_answered_callee_reaches_an_agent_then_wrapup(
    services: Services, clock: FakeClock
) -> None:
    async with Harness(services, clock) as h:
        h.engine.telephony = spy = Spy(clock)
        queue, (agent,) = await _agents(h, 1, aht=30, wrap=5)
        _, _, campaign = await h.setup(
            ["+15550001001"], queue_id=str(queue.id), service_level=100, actions=[]
        )
        assert campaign.dial_mode == "" and campaign.queue_id == queue.id
        await h.run(campaign.id)
        # placed, rang 200 ms, answered, agent reserved, the agent answered at once: the
        # connection is recorded at the agent's answer, while they talk
        assert await _until(h, agent.id, "busy", 0.1, 20) == "busy"
        assert [a["type"] for a in spy.requests[0].actions] == ["queue_join"]  # appended
        (call,) = await h.calls(campaign.id)
        assert call.status != "done" and call.tm_connect is not None
        assert call.agent_id == agent.id
        for _ in range(2000):  # the talk (exponential, mean 30 s) on virtual time
            await h.tick(0.1)
            if (await h.calls(campaign.id))[0].status == "done":
                break
        assert await _status(h, agent.id) == "busy"  # wrap-up
        (call,) = await h.calls(campaign.id)
        assert (call.agent_id, call.abandoned, call.result) == (agent.id, False, "success")
        assert call.tm_connect is not None
        assert await _until(h, agent.id, "available", 1.0, 30) == "available"  # wrap-up 5 s
        stats = await services.stats.campaign(h.customer_id, campaign.id)
        assert (stats.connected, stats.abandoned) == (1, 0)
        q = await services.queues.get(h.customer_id, queue.id)
        assert (q.total_incoming_count, q.total_serviced_count) == (1, 1)


async def test_no_agent_within_2s_abandons_and_rests_the_number_72h(
    services: Services, clock: FakeClock
) -> None:
    async with Harness(services, clock) as h:
        h.engine.telephony = Spy(clock)
        queue, (agent,) = await _agents(h, 1)
        await services.agents.update(h.customer_id, agent.id, {"status": "away"}, part="status")
        message = "This was Acme. Call us back on +1 555 0100."
        _, _, campaign = await h.setup(
            ["+15550001002"],
            queue_id=str(queue.id),
            dial_mode="progressive",
            abandon_message=message,
            actions=[{"type": "talk", "option": {"text": "hello"}}],
        )
        # progressive with no available agent places nothing: the callee is not dialed
        await h.run(campaign.id)
        await h.tick(0.1, rounds=10)
        assert await h.calls(campaign.id) == []
        # power with service_level 100 and one agent available dials one call; the agent
        # goes away before it is answered: the callee is abandoned after 2 s
        await services.agents.update(h.customer_id, agent.id, {"status": "available"},
                                     part="status")  # fmt: skip
        await services.campaigns.update(
            h.customer_id, campaign.id, {"dial_mode": "power", "service_level": 100},
            part="basic",
        )  # fmt: skip
        await h.tick(0.1)
        await services.agents.update(h.customer_id, agent.id, {"status": "away"}, part="status")
        await h.tick(0.1, rounds=80)
        (call,) = await h.calls(campaign.id)
        assert call.abandoned and call.agent_id == NIL and call.tm_connect is None
        assert call.status == "done"
        stats = await services.stats.campaign(h.customer_id, campaign.id)
        assert (stats.connected, stats.abandoned, stats.abandon_rate) == (0, 1, 1.0)
        # the same number in another campaign of the customer is not dialed for 72 h
        _, _, other = await h.setup(["+15550001002"])
        await h.run(other.id)
        await h.tick(1.0, rounds=5)
        assert await h.calls(other.id) == []
        await clock.advance(72 * 3600)
        await h.tick(1.0, rounds=5)
        assert len(await h.calls(other.id)) == 1


async def test_power_pacing_follows_the_voipbin_rule(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        queue, _ = await _agents(h, 4, aht=600)
        numbers = [f"+155500020{n:02d}" for n in range(20)]
        _, _, campaign = await h.setup(
            numbers, queue_id=str(queue.id), service_level=50, actions=[], calls_per_second=1000,
            outplan={"dial_timeout": 30000},
        )  # fmt: skip
        await h.run(campaign.id)
        await h.engine.step()
        # floor(4 available * 50 / 100) = 2 calls dialing, no more
        assert len(await h.calls(campaign.id)) == 2
        await h.engine.step()
        assert len(await h.calls(campaign.id)) == 2


async def test_predictive_campaign_keeps_each_agent_on_one_call(
    services: Services, clock: FakeClock
) -> None:
    """A predictive campaign on 3 simulated agents for 4 virtual minutes: 30 % of the numbers
    answer, the rest ring out. Every connected call has its agent; no agent ever talks to two
    callees at once; abandoned calls have none; the stats agree with the calls."""
    async with Harness(services, clock) as h:
        h.engine.telephony = SimTelephony(clock, ring_ms=2000, action_ms=100, seed=3)
        queue, agents = await _agents(h, 3, aht=20, wrap=2)
        numbers = [f"+1555{n:07d}" if n % 10 < 3 else f"+408555{n:04d}" for n in range(400)]
        _, _, campaign = await h.setup(
            numbers, queue_id=str(queue.id), dial_mode="predictive", actions=[],
            calls_per_second=1000, outplan={"dial_timeout": 8000, "max_try_count_0": 1},
        )  # fmt: skip
        await h.run(campaign.id)
        await h.tick(0.25, rounds=4 * 240)
        calls = await h.calls(campaign.id)
        done = [c for c in calls if c.status == "done"]
        connected = [c for c in done if c.tm_connect is not None]
        abandoned = [c for c in done if c.abandoned]
        assert len(connected) >= 8  # 3 agents, ~22 s a call (and the ring), 4 minutes
        assert all(c.agent_id in {a.id for a in agents} for c in connected)
        assert all(c.agent_id == NIL and c.tm_connect is None for c in abandoned)
        for agent in agents:
            spans = sorted((c.tm_connect, c.tm_update) for c in connected if c.agent_id == agent.id)
            assert all(end <= nxt for (_, end), (nxt, _) in pairwise(spans))
        stats = await services.stats.campaign(h.customer_id, campaign.id)
        talking = [c for c in calls if c.status != "done" and c.tm_connect is not None]
        assert (stats.connected, stats.abandoned) == (len(connected + talking), len(abandoned))
        assert h.engine.desk.decisions[campaign.id] in ("predictive", "warming_up", "throttled")


async def test_a_callee_who_hangs_up_while_the_agent_rings_is_abandoned_not_connected(
    services: Services, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SIP bridge reports a callee who hung up during the agent's ringing as end CALLEE
    with no 2xx: the desk frees the agent and counts an abandon, never a connection."""
    from outdial.telephony import sim
    from outdial.telephony.bridge import BridgeEnd, BridgeResult

    async def callee_gone(
        self: Any, destination: Any, ring_timeout_ms: int, **_: Any
    ) -> BridgeResult:
        await self.wait(300)
        return BridgeResult(BridgeEnd.CALLEE)

    monkeypatch.setattr(sim.SimMedia, "bridge", callee_gone)
    async with Harness(services, clock) as h:
        h.engine.telephony = Spy(clock)
        queue, (agent,) = await _agents(h, 1)
        _, _, campaign = await h.setup(
            ["+15550001003"], queue_id=str(queue.id), service_level=100, actions=[]
        )
        await h.run(campaign.id)
        for _ in range(100):
            await h.tick(0.1)
            calls = await h.calls(campaign.id)
            if calls and calls[0].status == "done":
                break
        (call,) = await h.calls(campaign.id)
        assert call.status == "done" and call.abandoned and call.tm_connect is None
        assert await _until(h, agent.id, "available", 0.1, 20) == "available"
        stats = await services.stats.campaign(h.customer_id, campaign.id)
        assert (stats.connected, stats.abandoned) == (0, 1)


async def test_an_open_browser_phone_is_tried_before_the_stored_addresses(
    services: Services, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The desk bridges to `webrtc:<agent id>` first when the agent's browser phone is open
    (telephony/webrtc.py); the sim telephony has no browser phones (480), so the agent's
    stored address answers next."""
    from outdial.telephony import sim

    bridged: list[str] = []
    real = sim.SimMedia.bridge

    async def spy(self: Any, destination: Any, ring_timeout_ms: int, **kw: Any) -> Any:
        bridged.append(destination.target)
        return await real(self, destination, ring_timeout_ms, **kw)

    monkeypatch.setattr(sim.SimMedia, "bridge", spy)
    async with Harness(services, clock) as h:
        h.engine.telephony = Spy(clock)
        queue, (agent, other) = await _agents(h, 2, aht=30, wrap=5)
        h.engine.desk.phone_open = lambda agent_id: agent_id == agent.id
        await services.agents.update(h.customer_id, other.id, {"status": "away"}, part="status")
        _, _, campaign = await h.setup(
            ["+15550001001"], queue_id=str(queue.id), service_level=100, actions=[]
        )
        await h.run(campaign.id)
        assert await _until(h, agent.id, "busy", 0.1, 20) == "busy"  # talking since the answer
        for _ in range(50):
            if len(bridged) >= 2:
                break
            await h.tick(0.1)
        assert bridged[:2] == [f"webrtc:{agent.id}", "sim:agent?aht=30&wrap=5"]
