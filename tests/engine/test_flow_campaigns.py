"""Flow campaigns (issue 12 item 6): no call leg; each attempt runs the non-call actions with
the target's data and ends as VoIPBIN's flow campaigncalls do."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

from outdial.clock import FakeClock
from outdial.domain.netpolicy import NetworkPolicy
from outdial.engine.flowrun import FlowRunner, HttpSender
from outdial.services.container import Services
from tests.engine.harness import Harness
from tests.receiver import Receiver

A = "0d9f4c3e-5b7a-4c1e-9a57-1e2f3a4b5c6d"
VIP = "1d9f4c3e-5b7a-4c1e-9a57-1e2f3a4b5c6d"
END = "2d9f4c3e-5b7a-4c1e-9a57-1e2f3a4b5c6d"


def _flow(url: str, sync: bool = True) -> list[dict[str, Any]]:
    body = '{"who": "${voipbin.outdial_target.name}", "tier": "${tier}"}'
    return [
        {"type": "variable_set", "option": {"key": "tier", "value": "basic"}},
        {
            "type": "branch",
            "option": {"variable": "voipbin.outdial_target.detail", "target_ids": {"vip": VIP}},
        },
        {"id": A, "type": "goto", "option": {"target_id": END, "loop_count": 1}},
        {"id": VIP, "type": "variable_set", "option": {"key": "tier", "value": "gold"}},
        {"id": END, "type": "webhook_send", "option": {"uri": url, "sync": sync, "data": body}},
        {"type": "message_send", "option": {"text": "not here"}},
        {"type": "talk", "option": {"text": "no call to say it on"}},  # skipped
    ]


async def _targets(services: Services, h: Harness, outdial_id: Any) -> None:
    for name, detail in (("Ann", "vip"), ("Bob", "")):
        await services.targets.create(
            h.customer_id,
            outdial_id,
            {
                "name": name,
                "detail": detail,
                "destination_0": {"type": "tel", "target": "+15550000801"},
            },
        )


async def _run(h: Harness, campaign_id: Any, rounds: int = 4) -> None:
    await h.run(campaign_id)
    for _ in range(rounds):
        await h.engine.step()
        if h.engine.attempts:
            await asyncio.wait(h.engine.attempts)  # the webhooks go over real sockets
        await h.clock.advance(0.5)
        await h.engine.settle()


async def test_flow_campaign_runs_the_actions_without_a_call(
    services: Services, clock: FakeClock
) -> None:
    async with Receiver() as hook, Harness(services, clock) as h:
        _, outdial, campaign = await h.setup([], type="flow", actions=_flow(hook.url))
        await _targets(services, h, outdial.id)
        await _run(h, campaign.id)
        assert h.sim.placed == 0  # no call leg
        bodies = sorted((json.loads(r.body) for r in hook.received), key=lambda b: b["who"])
        assert bodies == [{"who": "Ann", "tier": "gold"}, {"who": "Bob", "tier": "basic"}]
        assert all(r.method == "POST" for r in hook.received)
        assert hook.received[0].headers["content-type"] == "application/json"
        calls = await h.calls(campaign.id)
        assert len(calls) == 2
        for call in calls:
            assert (call.reference_type, call.status, call.result) == ("flow", "done", "success")
            assert call.hangup_reason == "normal"
        assert all(t.status == "done" for t in await h.targets(outdial.id))
        assert (await services.campaigns.get(h.customer_id, campaign.id)).status == "stop"


async def test_sync_webhook_failure_fails_the_attempt(services: Services, clock: FakeClock) -> None:
    async with Receiver(status=lambda _r: 500) as hook, Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(
            [], type="flow", actions=_flow(hook.url), outplan={"max_try_count_0": 1}
        )
        await _targets(services, h, outdial.id)
        await _run(h, campaign.id)
        calls = await h.calls(campaign.id)
        assert {(c.result, c.hangup_reason) for c in calls} == {("fail", "failed")}
        assert len(hook.received) == 2


async def test_webhook_send_obeys_the_network_policy(services: Services, clock: FakeClock) -> None:
    """With private networks closed, a name that resolves to loopback is refused when the flow
    runs (the literal would already be refused when the campaign is created)."""
    async with Receiver() as hook, Harness(services, clock) as h:
        closed = replace(services.ctx, network=NetworkPolicy())
        h.engine.flows = FlowRunner(HttpSender(closed.network), clock)
        url = f"http://localhost:{hook.port}/hook"
        _, outdial, campaign = await h.setup(
            [], type="flow", actions=_flow(url), outplan={"max_try_count_0": 1}
        )
        await _targets(services, h, outdial.id)
        await _run(h, campaign.id)
        calls = await h.calls(campaign.id)
        assert {(c.result, c.hangup_reason) for c in calls} == {("fail", "failed")}
        assert hook.received == []
        assert isinstance(h.engine.flows.sender, HttpSender)
        await h.engine.flows.sender.close()


async def test_async_webhook_does_not_hold_the_flow(services: Services, clock: FakeClock) -> None:
    async with Receiver(status=lambda _r: 503) as hook, Harness(services, clock) as h:
        _, outdial, campaign = await h.setup([], type="flow", actions=_flow(hook.url, sync=False))
        await _targets(services, h, outdial.id)
        await _run(h, campaign.id)
        await h.engine.flows.drain()
        calls = await h.calls(campaign.id)
        assert {(c.result, c.reference_type) for c in calls} == {("success", "flow")}
        assert len(hook.received) == 2  # sent, and its failure only logged
