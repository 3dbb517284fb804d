"""The agent desk's issue-13 remainder (desk2) on the simulated telephony and the fake clock:
the connection recorded at the agent's answer, `ring_method`, the queue's `wait_actions` and
`wait_timeout` past 2 s, `service_timeout`, `callback_agent_id`, `agent_status_updated`."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from outdial.clock import FakeClock
from outdial.domain.errors import InvalidArgument
from outdial.domain.netpolicy import NetworkPolicy
from outdial.services import events
from outdial.services.container import Services
from outdial.storage.db import Database
from outdial.telephony import sim
from outdial.wire.common import ts
from tests.conftest import LOOPBACK
from tests.engine.harness import Harness

# each round of the fake clock waits on real database work (the desk's queue and ring timers):
# beside another xdist worker a round can pass before that work is recorded (docs/testing.md)
pytestmark = pytest.mark.serial


@pytest.fixture
def services(db: Database, clock: FakeClock) -> Services:
    return Services.build(db, clock, network=NetworkPolicy.from_text(LOOPBACK), sim_agents=True)


@pytest.fixture
def spoken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text the simulated calls speak, in order."""
    said: list[str] = []
    original = sim.SimMedia.talk

    async def talk(self: sim.SimMedia, text: str, language: str) -> None:
        said.append(text)
        await original(self, text, language)

    monkeypatch.setattr(sim.SimMedia, "talk", talk)
    return said


async def _queue(h: Harness, **fields: Any) -> tuple[Any, Any]:
    tag = await h.services.tags.create(h.customer_id, {"name": "sales"})
    queue = await h.services.queues.create(
        h.customer_id, {"name": "q", "tag_ids": [str(tag.id)], **fields}
    )
    return tag, queue


async def _agent(h: Harness, tags: list[Any], *targets: str, status: str = "available",
                 **fields: Any) -> Any:  # fmt: skip
    s, me = h.services, h.customer_id
    agent = await s.agents.create(
        me,
        {
            "name": "a",
            "tag_ids": [str(t.id) for t in tags],
            "addresses": [{"type": "sip", "target": t} for t in targets],
            **fields,
        },
    )
    await s.agents.update(me, agent.id, {"status": status}, part="status")
    return agent


async def _status(h: Harness, agent_id: uuid.UUID) -> str:
    return (await h.services.agents.get(h.customer_id, agent_id)).status


async def _done(h: Harness, campaign_id: uuid.UUID, step: float, rounds: int) -> Any:
    """Tick until the campaign's (only) call is done; that call."""
    for _ in range(rounds):
        calls = await h.calls(campaign_id)
        if calls and calls[0].status == "done":
            return calls[0]
        await h.tick(step)
    raise AssertionError("the call did not end")


def _connect_delay_ms(call: Any) -> float:
    """From the call's creation (the dial) to the agent's answer."""
    return (call.tm_connect - call.tm_create) / timedelta(milliseconds=1)


@pytest.mark.parametrize("ring_method", ["ringall", "linear"])
async def test_ring_method(services: Services, clock: FakeClock, ring_method: str) -> None:
    """ringall rings both addresses at once (the second answers after 300 ms, the first never
    does and gets CANCEL); linear rings the first until its ring limit (15 s), then the next."""
    async with Harness(services, clock) as h:
        tag, queue = await _queue(h)
        agent = await _agent(
            h, [tag], "sim:agent?aht=2&wrap=1&answer=0", "sim:agent?aht=2&wrap=1&ring=300",
            ring_method=ring_method,
        )  # fmt: skip
        _, _, campaign = await h.setup(
            ["+15550003001"], queue_id=str(queue.id), actions=[], service_level=100
        )
        await h.run(campaign.id)
        call = await _done(h, campaign.id, 0.5, 200)
        assert call.agent_id == agent.id and call.tm_connect is not None
        delay = _connect_delay_ms(call)
        if ring_method == "ringall":
            assert delay < 5_000  # 200 ms callee ring + 300 ms agent ring (+ tick steps)
            assert not call.abandoned
        else:
            assert delay >= 15_000


async def test_sim_bridge_ringall_cancels_the_others(clock: FakeClock) -> None:
    from outdial.domain.address import Address, AddressType
    from outdial.domain.numberplan import listening_for

    media = sim.SimMedia(clock, listening_for("15550003002"), 100)
    slow = Address(AddressType.SIP, "sim:agent?aht=1&ring=900")
    fast = Address(AddressType.SIP, "sim:agent?aht=1&ring=200")
    answered: list[int] = []

    async def on_answer(ms: int) -> None:
        answered.append(ms)

    task = asyncio.ensure_future(media.bridge(slow, 15_000, ring_also=[fast], on_answer=on_answer))
    for _ in range(100):
        if task.done():
            break
        await clock.advance(0.1)
    result = task.result()
    assert result.connected and result.index == 1 and 200 <= result.answer_ms < 900
    assert answered == [result.answer_ms]  # the callback came at the answer
    assert [(t, r.sip_code) for t, r in media.bridges] == [(slow.target, 487), (fast.target, 200)]


async def test_waiting_callee_hears_wait_actions_and_is_connected_late(
    services: Services, clock: FakeClock, spoken: list[str]
) -> None:
    """wait_timeout 20 s: no agent at the answer, the callee hears the wait actions; an agent
    frees up after ~5 s and is connected. Late for FTC: the campaign counts an abandon, the
    queue a serviced call; no abandon message."""
    async with Harness(services, clock) as h:
        tag, queue = await _queue(
            h,
            wait_timeout=20_000,
            wait_actions=[
                {"type": "talk", "option": {"text": "please hold"}},
                {"type": "sleep", "option": {"duration": 900}},
            ],
        )
        agent = await _agent(h, [tag], "sim:agent?aht=3&wrap=1", status="available")
        _, _, campaign = await h.setup(
            ["+15550003003"],
            queue_id=str(queue.id),
            actions=[],
            service_level=100,
            dial_mode="power",
            abandon_message="This was Acme.",
        )
        await h.run(campaign.id)
        await h.tick(0.1)  # placed (power: one available agent)
        await services.agents.update(h.customer_id, agent.id, {"status": "away"}, part="status")
        await h.tick(0.5, rounds=10)  # 5 s waiting
        calls = await h.calls(campaign.id)
        assert calls[0].status != "done" and calls[0].abandoned  # late (> 2 s): FTC abandon
        await services.agents.update(
            h.customer_id, agent.id, {"status": "available"}, part="status"
        )
        call = await _done(h, campaign.id, 0.5, 200)
        assert call.agent_id == agent.id and call.tm_connect is not None and call.abandoned
        assert _connect_delay_ms(call) > 4_000
        assert spoken.count("please hold") >= 3 and "This was Acme." not in spoken
        q = await services.queues.get(h.customer_id, queue.id)
        assert (q.total_serviced_count, q.total_abandoned_count) == (1, 0)
        stats = await services.stats.campaign(h.customer_id, campaign.id)
        assert (stats.connected, stats.abandoned) == (0, 1)


async def test_callee_unconnected_at_wait_timeout_is_abandoned(
    services: Services, clock: FakeClock, spoken: list[str]
) -> None:
    async with Harness(services, clock) as h:
        tag, queue = await _queue(
            h, wait_timeout=4_000, wait_actions=[{"type": "talk", "option": {"text": "hold"}}]
        )
        agent = await _agent(h, [tag], "sim:agent?aht=3&wrap=1")
        _, _, campaign = await h.setup(
            ["+15550003004"],
            queue_id=str(queue.id),
            actions=[],
            service_level=100,
            dial_mode="power",
            abandon_message="This was Acme.",
        )
        await h.run(campaign.id)
        await h.tick(0.1)
        await services.agents.update(h.customer_id, agent.id, {"status": "away"}, part="status")
        call = await _done(h, campaign.id, 0.5, 60)
        assert call.abandoned and call.tm_connect is None
        assert spoken[0] == "hold" and spoken[-1] == "This was Acme."
        assert spoken.count("This was Acme.") == 1
        ended = (call.tm_update - call.tm_create) / timedelta(milliseconds=1)
        assert ended >= 4_000  # waited the whole wait_timeout, not 2 s
        q = await services.queues.get(h.customer_id, queue.id)
        assert (q.total_serviced_count, q.total_abandoned_count) == (0, 1)


async def test_default_wait_timeout_abandons_at_2s_without_wait_actions(
    services: Services, clock: FakeClock, spoken: list[str]
) -> None:
    """wait_timeout <= 2000 (the default): today's rule, wait_actions do not play."""
    async with Harness(services, clock) as h:
        tag, queue = await _queue(
            h, wait_timeout=2_000, wait_actions=[{"type": "talk", "option": {"text": "hold"}}]
        )
        agent = await _agent(h, [tag], "sim:agent?aht=3&wrap=1")
        _, _, campaign = await h.setup(
            ["+15550003005"],
            queue_id=str(queue.id),
            actions=[],
            service_level=100,
            dial_mode="power",
            abandon_message="This was Acme.",
        )
        await h.run(campaign.id)
        await h.tick(0.1)
        await services.agents.update(h.customer_id, agent.id, {"status": "away"}, part="status")
        call = await _done(h, campaign.id, 0.5, 60)
        assert call.abandoned and spoken == ["This was Acme."]
        q = await services.queues.get(h.customer_id, queue.id)
        assert q.total_abandoned_count == 1


async def test_service_timeout_ends_the_conversation(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        tag, queue = await _queue(h, service_timeout=3_000)
        agent = await _agent(h, [tag], "sim:agent?aht=600&wrap=1")
        _, _, campaign = await h.setup(
            ["+15550003006"], queue_id=str(queue.id), actions=[], service_level=100
        )
        await h.run(campaign.id)
        # small steps: a round whose end the engine records late (a loaded database) moves
        # the fake clock by one step only
        call = await _done(h, campaign.id, 0.1, 300)
        assert call.agent_id == agent.id and call.hangup_detail == "service_timeout", call
        talked = (call.tm_update - call.tm_connect) / timedelta(milliseconds=1)
        assert 3_000 <= talked < 5_000
        for _ in range(20):  # wrap-up 1 s, then available
            if await _status(h, agent.id) == "available":
                break
            await h.tick(0.5)
        assert await _status(h, agent.id) == "available"


async def test_callback_is_routed_to_the_callback_agent(
    services: Services, clock: FakeClock
) -> None:
    """The callback goes to the named agent, who does not even serve the queue."""
    async with Harness(services, clock) as h:
        s, me = services, h.customer_id
        tag, queue = await _queue(h)
        first = await _agent(h, [tag], "sim:agent?aht=1&wrap=0")
        closer = await _agent(h, [], "sim:agent?aht=1&wrap=0")  # serves no tagged queue
        _, _, campaign = await h.setup(
            ["+15550003007"], queue_id=str(queue.id), actions=[], service_level=100,
            outplan={"max_try_count_0": 3, "try_interval": 0},
        )  # fmt: skip
        await h.run(campaign.id)
        call = await _done(h, campaign.id, 0.5, 60)
        assert call.agent_id == first.id
        at = clock.now() + timedelta(minutes=5)
        with pytest.raises(InvalidArgument) as bad:  # not an agent of the customer
            await s.dispositions.set(
                me, call.id, {"callback_at": ts(at), "callback_agent_id": str(uuid.uuid4())}
            )
        assert bad.value.reason == "INVALID_REFERENCE"
        with pytest.raises(InvalidArgument):  # needs callback_at
            await s.dispositions.set(me, call.id, {"callback_agent_id": str(closer.id)})
        done = await s.dispositions.set(
            me, call.id, {"callback_at": ts(at), "callback_agent_id": str(closer.id)}
        )
        assert done.callback_agent_id == closer.id
        await clock.advance(5 * 60 + 1)
        for _ in range(60):
            calls = await h.calls(campaign.id)
            if len(calls) == 2 and calls[0].status == "done":
                break
            await h.tick(0.5)
        newest = (await h.calls(campaign.id))[0]
        assert newest.id != call.id and newest.agent_id == closer.id


async def test_agent_status_updated_events(services: Services, clock: FakeClock) -> None:
    """Every status change writes agent_status_updated (API and engine), and the connection
    a campaigncall_updated with the agent and tm_connect."""
    async with Harness(services, clock) as h:
        tag, queue = await _queue(h)
        agent = await _agent(h, [tag], "sim:agent?aht=1&wrap=1")
        _, _, campaign = await h.setup(
            ["+15550003008"], queue_id=str(queue.id), actions=[], service_level=100
        )
        await h.run(campaign.id)
        await _done(h, campaign.id, 0.5, 60)
        for _ in range(20):
            if await _status(h, agent.id) == "available":
                break
            await h.tick(0.5)
        async with services.ctx.db.read() as conn:
            found = await events.after(conn, h.customer_id, 0, 1000)
        statuses = [
            json.loads(e.data)["status"] for e in found if e.type == events.AGENT_STATUS_UPDATED
        ]
        # offline at creation; the API's available; ringing, busy (talking), available
        assert statuses == ["available", "ringing", "busy", "available"]
        for e in found:
            assert "password" not in e.data
        connected = [
            json.loads(e.data)
            for e in found
            if e.type == events.CAMPAIGNCALL_UPDATED and json.loads(e.data)["tm_connect"]
        ]
        assert connected and connected[0]["agent_id"] == str(agent.id)
