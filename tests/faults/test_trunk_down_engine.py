"""Issue 16 item 2 at the engine: attempts that failed because the trunk was down end with
`hangup_detail` `trunk_down` and give their try back; while the telephony says the trunk is down
no attempt starts; `trunk_down` / `trunk_up` events reach the customers with running campaigns.
(The SIP side, a real trunk going silent and coming back: test_trunk_down_sip.py.)"""

from __future__ import annotations

import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.domain.outcome import TRUNK_DOWN, CallOutcome, HangupReason
from outdial.metrics import TRUNK_PAUSED
from outdial.services.container import Services
from outdial.storage.tables import events
from outdial.telephony.base import CallRequest, OnAnswer
from outdial.wire import campaigncall as wire_campaigncall
from tests.engine.harness import Harness


async def _events(h: Harness, *types: str) -> list[str]:
    async with h.services.ctx.db.read() as conn:
        found = await conn.execute(
            sa.select(events.c.type)
            .where(events.c.customer_id == h.customer_id, events.c.type.in_(types))
            .order_by(events.c.id)
        )
        return [row.type for row in found]


async def test_trunk_down_attempts_give_their_try_back(
    services: Services, clock: FakeClock
) -> None:
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(
            ["+15550001", "+15550002"],
            outplan={"max_try_count_0": 1, "max_try_count_1": 0, "try_interval": 0},
            calls_per_second=100,
        )
        real = h.sim.place_call
        placed: list[CallRequest] = []

        async def trunk_gone(request: CallRequest, on_answer: OnAnswer) -> CallOutcome:
            placed.append(request)
            return CallOutcome(HangupReason.FAILED, detail=TRUNK_DOWN)

        h.sim.place_call = trunk_gone  # type: ignore[method-assign]
        await h.run(campaign.id)
        await h.tick(0.5, rounds=3)
        calls = await h.calls(campaign.id)
        assert len(calls) >= 2 and len(placed) == len(calls)
        assert {(c.result, c.hangup_reason, c.hangup_detail) for c in calls} == {
            ("fail", "failed", TRUNK_DOWN)
        }
        assert wire_campaigncall.render(calls[0])["hangup_detail"] == TRUNK_DOWN
        # no try was used: both targets are still idle with their only try left
        targets = await h.targets(outdial.id)
        assert {(t.status, t.try_counts[0]) for t in targets} == {("idle", 0)}

        # The trunk is down: the engine starts nothing and says so once.
        h.sim.trunk_down = lambda: "5 attempts in a row"  # type: ignore[method-assign]
        before = len(await h.calls(campaign.id))
        await h.tick(0.5, rounds=3)
        assert len(await h.calls(campaign.id)) == before
        assert await _events(h, "trunk_down", "trunk_up") == ["trunk_down"]
        assert TRUNK_PAUSED._value.get() == 1
        # It answers again: attempts resume, count as tries, and trunk_up is sent.
        h.sim.trunk_down = lambda: None  # type: ignore[method-assign]
        h.sim.place_call = real  # type: ignore[method-assign]
        for _ in range(20):
            await h.tick(0.5)
            if {t.status for t in await h.targets(outdial.id)} == {"done"}:
                break
        targets = await h.targets(outdial.id)
        assert {(t.status, t.try_counts[0]) for t in targets} == {("done", 1)}
        assert await _events(h, "trunk_down", "trunk_up") == ["trunk_down", "trunk_up"]
        assert TRUNK_PAUSED._value.get() == 0
        done = [c for c in await h.calls(campaign.id) if c.result == "success"]
        assert len(done) == 2 and {c.hangup_detail for c in done} == {""}
