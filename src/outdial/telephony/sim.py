"""Simulated telephony: answers by the test number plan (SPEC 5), on a controllable clock."""

from __future__ import annotations

from outdial.clock import Clock
from outdial.domain.numberplan import FarEnd, behaviour_for
from outdial.domain.outcome import CallOutcome, HangupReason, reason_for_sip_code
from outdial.domain.rules import ring_limit_ms
from outdial.telephony.base import CallRequest, OnAnswer


class SimTelephony:
    """Rings for `ring_ms`, then does what the number plan says; an answered call lasts as long
    as its actions (`sleep` durations, `action_ms` for each talk or play)."""

    def __init__(self, clock: Clock, *, ring_ms: int = 200, action_ms: int = 100) -> None:
        self.clock = clock
        self.ring_ms = ring_ms
        self.action_ms = action_ms
        self.placed = 0

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def place_call(self, request: CallRequest, on_answer: OnAnswer) -> CallOutcome:
        self.placed += 1
        behaviour = behaviour_for(request.destination.sip_user)
        ring_limit = ring_limit_ms(request.dial_timeout_ms)  # 0: the system default
        if behaviour.far_end is FarEnd.NEVER_ANSWER or self.ring_ms > ring_limit:
            await self._wait(ring_limit)
            return CallOutcome(HangupReason.DIALOUT, sip_code=487, detail="dial timeout")
        await self._wait(self.ring_ms)
        if behaviour.sip_code is not None:
            code = behaviour.sip_code
            return CallOutcome(reason_for_sip_code(code), sip_code=code)
        await on_answer()
        for action in request.actions:
            kind = action.get("type")
            if kind == "hangup":
                break
            if kind == "sleep":
                await self._wait(int(action.get("option", {}).get("duration", 0)))
            elif kind in ("talk", "play"):
                await self._wait(self.action_ms)
        return CallOutcome(HangupReason.NORMAL, answered=True, sip_code=200)

    async def _wait(self, ms: int) -> None:
        if ms > 0:
            await self.clock.sleep(ms / 1000)
