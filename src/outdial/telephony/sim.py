"""Simulated telephony: answers by the test number plan (SPEC 5), on a controllable clock."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from outdial.clock import Clock
from outdial.domain.address import Address
from outdial.domain.agents import DEFAULT_RING_TIMEOUT_MS, SIM_PREFIX, parse_sim_agent
from outdial.domain.numberplan import FarEnd, Listening, behaviour_for, listening_for
from outdial.domain.outcome import CallOutcome, HangupReason, reason_for_sip_code
from outdial.domain.rules import ring_limit_ms
from outdial.telephony.base import CallRequest, OnAnswer
from outdial.telephony.bridge import (
    LOCAL_PREFIX,
    NAILED_PREFIX,
    BridgeEnd,
    BridgeResult,
    OnBridgeAnswer,
)
from outdial.telephony.interpreter import CallScript
from outdial.telephony.recording import Recorder

log = logging.getLogger("outdial.telephony.sim")
BEEP_MS = 250
BRIDGE_RING_MS = 200  # a non-sim second leg rings this long on the simulated telephony


class SimLeg:
    """A nailed-up agent leg on the simulated telephony (a `HeldLeg`): answered once, then
    open until `hang_up` (the desk's BYE) or `drop` (the agent's side hangs up: tests). Each
    conversation on it lasts the agent's drawn talk time (`sim:agent?aht=`), then the agent
    ends that conversation and the leg stays open (silence until the next callee)."""

    def __init__(self, agent_id: uuid.UUID, address: Address) -> None:
        self.agent_id, self.address = agent_id, address
        self.label = f"{NAILED_PREFIX}{agent_id}"
        self.ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.conversations = 0  # callees bridged to this leg
        self._busy = False

    def attach(self, speak: Callable[[bytes], None]) -> bool:
        if self.ended.done() or self._busy:
            return False
        self._busy = True
        self.conversations += 1
        return True

    def hear(self, pcm: bytes) -> None:
        return None  # no audio on the simulated telephony

    def detach(self) -> None:
        self._busy = False

    def talk_ms(self, rng: random.Random, default_ms: int) -> int:
        if self.address.target.startswith(SIM_PREFIX):
            return parse_sim_agent(self.address.target).talk_ms(rng)
        return default_ms

    def hang_up(self) -> None:
        if not self.ended.done():
            self.ended.set_result("bye")

    def drop(self) -> None:
        if not self.ended.done():
            self.ended.set_result("dropped")


class SimMedia:
    """A call's media without audio: the far end behaves as `listening_for` its number says
    (AMD decision and time, the voicemail-drop cue, the 776 key press); every talk or play
    takes `action_ms`."""

    def __init__(
        self, clock: Clock, far: Listening, action_ms: int, rng: random.Random | None = None
    ) -> None:
        self.clock = clock
        self.far = far
        self.action_ms = action_ms
        self.rng = rng or random.Random(0)
        self.bridges: list[tuple[str, BridgeResult]] = []  # what was bridged (tests)
        self.answered = clock.now()
        self.script: CallScript | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.legs: dict[str, SimLeg] = {}  # the telephony's nailed-up legs by target

    def now(self) -> datetime:
        return self.clock.now()

    def elapsed_ms(self) -> int:
        return int((self.clock.now() - self.answered).total_seconds() * 1000)

    async def wait(self, ms: int) -> None:
        if ms > 0:
            await self.clock.sleep(ms / 1000)

    async def _until(self, at_ms: int) -> None:
        await self.wait(at_ms - self.elapsed_ms())

    async def talk(self, text: str, language: str) -> None:
        await self.wait(self.action_ms)

    async def play(self, urls: list[str]) -> None:
        await self.wait(self.action_ms)

    async def silence(self, ms: int) -> None:
        await self.wait(ms)

    async def beep(self) -> None:
        await self.wait(BEEP_MS)

    async def send_digits(self, digits: str, duration_ms: int, interval_ms: int) -> None:
        await self.wait(len(digits) * duration_ms + (len(digits) - 1) * interval_ms)

    async def amd(self) -> tuple[str, int]:
        await self._until(self.far.amd_ms)
        return self.far.amd, max(self.far.amd_ms, 0)

    async def drop_cue(self) -> str:
        await self._until(self.far.drop_ms)
        return self.far.drop_cue

    def started(self) -> None:
        if self.far.key and self.script is not None:
            task = asyncio.get_running_loop().create_task(self._press(self.far.key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _press(self, key: str) -> None:
        await self.wait(self.far.key_after_ms)
        if self.script is not None:
            self.script.on_digit(key)

    def record(self, recorder: Recorder | None) -> None:
        return None  # no audio: a recording is silence of the right length

    async def bridge(
        self,
        destination: Address,
        ring_timeout_ms: int,
        *,
        ring_also: Sequence[Address] = (),
        on_answer: OnBridgeAnswer | None = None,
    ) -> BridgeResult:
        """A second leg on virtual time. `sim:agent?aht=S&wrap=S[&ring=MS][&answer=0]`: rings
        `ring` ms, answers, talks an exponential time of mean `aht` s (drawn from the
        telephony's seeded generator), then the agent hangs up. Any other address answers by
        the number plan (SPEC 5) and talks `action_ms`. With `ring_also` every address rings
        at once: the one that answers first (the lowest index on a tie) is bridged, the others
        are recorded as cancelled (487)."""
        ring_limit = ring_limit_ms(ring_timeout_ms)
        if destination.target.startswith(NAILED_PREFIX):
            return await self._bridge_held(destination.target, on_answer)
        if destination.target.startswith(LOCAL_PREFIX):  # no browser phones here: no audio
            result = BridgeResult(BridgeEnd.NOT_ANSWERED, sip_code=480)
            self.bridges.append((destination.target, result))
            return result
        legs = [self._leg(a) for a in (destination, *ring_also)]
        answering = [
            (ring_ms, n) for n, (answers, ring_ms, _) in enumerate(legs) if answers
            and ring_ms <= ring_limit
        ]  # fmt: skip
        targets = [a.target for a in (destination, *ring_also)]
        if not answering:
            failing = [ring_ms for answers, ring_ms, code in legs if code not in (200, 480, 487)]
            rang = ring_limit if len(failing) < len(legs) else max(failing)
            await self.wait(rang)
            for target, (_, _, code) in zip(targets, legs, strict=True):
                result = BridgeResult(BridgeEnd.NOT_ANSWERED, sip_code=487 if code == 200 else code)
                self.bridges.append((target, result))
            return result if len(legs) == 1 else BridgeResult(BridgeEnd.NOT_ANSWERED, 487)
        ring_ms, index = min(answering)
        await self.wait(ring_ms)
        for n, target in enumerate(targets):
            if n != index:  # CANCEL to the others
                self.bridges.append((target, BridgeResult(BridgeEnd.NOT_ANSWERED, 487)))
        answer_ms = self.elapsed_ms()
        target = targets[index]
        if target.startswith(SIM_PREFIX):
            talk_ms = parse_sim_agent(target).talk_ms(self.rng)
        else:
            talk_ms = self.action_ms
        if on_answer is not None:
            await on_answer(answer_ms)
        await self.wait(talk_ms)
        result = BridgeResult(BridgeEnd.AGENT, 200, answer_ms, talk_ms, index)
        self.bridges.append((target, result))
        return result

    async def _bridge_held(self, target: str, on_answer: OnBridgeAnswer | None) -> BridgeResult:
        """A nailed-up leg: connected at once (it is already answered), the agent's talk
        time, then the agent ends the conversation; the leg stays open. A leg that is gone or
        busy: not answered (480)."""
        leg = self.legs.get(target)
        if leg is None or not leg.attach(lambda pcm: None):
            result = BridgeResult(BridgeEnd.NOT_ANSWERED, sip_code=480)
            self.bridges.append((target, result))
            return result
        try:
            answer_ms = self.elapsed_ms()
            if on_answer is not None:
                await on_answer(answer_ms)
            talk = asyncio.ensure_future(self.wait(leg.talk_ms(self.rng, self.action_ms)))
            try:
                either: set[asyncio.Future[Any]] = {talk, leg.ended}
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            finally:
                talk.cancel()
            talk_ms = self.elapsed_ms() - answer_ms
        finally:
            leg.detach()
        result = BridgeResult(BridgeEnd.AGENT, 200, answer_ms, talk_ms)
        self.bridges.append((target, result))
        return result

    def _leg(self, destination: Address) -> tuple[bool, int, int]:
        """(answers, ring ms, SIP code) of a second leg to `destination`."""
        if destination.target.startswith(SIM_PREFIX):
            agent = parse_sim_agent(destination.target)
            return agent.answer, agent.ring_ms, 200 if agent.answer else 480
        behaviour = behaviour_for(destination.sip_user)
        never = behaviour.far_end is FarEnd.NEVER_ANSWER
        code = 487 if never else (behaviour.sip_code or 200)
        return code == 200, BRIDGE_RING_MS, code

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()


class SimTelephony:
    """Rings for `ring_ms`, then does what the number plan says; an answered call lasts as long
    as its actions (`sleep` durations, `action_ms` for each talk or play, the far end's timing
    for `amd`, `wait_for_beep` and `digits_receive`)."""

    def __init__(
        self,
        clock: Clock,
        *,
        ring_ms: int = 200,
        action_ms: int = 100,
        seed: int = 0,
        ring_shape: float = 0.0,
    ) -> None:
        self.clock = clock
        self.ring_ms = ring_ms
        # ring_shape > 0: answered calls ring a gamma time of mean ring_ms and this shape
        # (benchmarks: real ring times vary); 0: exactly ring_ms
        self.ring_shape = ring_shape
        self.ring_rng = random.Random(seed + 1)
        self.action_ms = action_ms
        self.placed = 0
        self.rng = random.Random(seed)  # simulated agents' talk times: deterministic per seed
        self.legs: dict[str, SimLeg] = {}  # nailed-up agent legs by target (`nailed:<id>`)
        self.legs_opened = 0  # agent legs dialed by `open_leg` (tests: the agent is called once)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def trunk_down(self) -> str | None:
        return None  # no trunk

    async def place_call(self, request: CallRequest, on_answer: OnAnswer) -> CallOutcome:
        self.placed += 1
        behaviour = behaviour_for(request.destination.sip_user)
        ring_limit = ring_limit_ms(request.dial_timeout_ms)  # 0: the system default
        if behaviour.far_end is FarEnd.NEVER_ANSWER or self.ring_ms > ring_limit:
            await self._wait(ring_limit)
            return CallOutcome(HangupReason.DIALOUT, sip_code=487, detail="dial timeout")
        await self._wait(self._ring_ms(ring_limit))
        if behaviour.sip_code is not None:
            code = behaviour.sip_code
            return CallOutcome(reason_for_sip_code(code), sip_code=code)
        await on_answer()
        far = listening_for(request.destination.sip_user)
        media = SimMedia(self.clock, far, self.action_ms, self.rng)
        media.legs = self.legs
        script = CallScript(
            request.actions,
            media,
            call_id=request.call_id,
            variables=request.variables,
            opt_out_key=request.opt_out_key,
            opt_out_confirmation=request.opt_out_confirmation,
            recordings_dir=request.recordings_dir,
            connector=request.connector,
        )
        media.script = script
        try:
            result = await script.run()
        finally:
            media.close()
            script.finish()
        detail = "opted out" if result.opted_out else ""
        if result.reason is HangupReason.AMD:
            detail = "answering machine"
        return CallOutcome(
            result.reason,
            answered=True,
            sip_code=200,
            detail=detail,
            amd_result=result.amd_result,
            amd_ms=result.amd_ms,
            digits=result.digits,
            opted_out=result.opted_out,
            recordings=tuple(result.recordings),
        )

    async def open_leg(self, agent_id: uuid.UUID, address: Address) -> SimLeg | None:
        """Call a nailed-up agent once (`LegOpener`): a `sim:agent` rings its `ring` ms and
        answers unless `answer=0`; another address answers by the number plan after
        BRIDGE_RING_MS. None: not answered."""
        self.legs_opened += 1
        if address.target.startswith(SIM_PREFIX):
            agent = parse_sim_agent(address.target)
            answers, ring_ms = agent.answer, agent.ring_ms
        else:
            behaviour = behaviour_for(address.sip_user)
            answers = behaviour.far_end is not FarEnd.NEVER_ANSWER and behaviour.sip_code is None
            ring_ms = BRIDGE_RING_MS
        if ring_ms > DEFAULT_RING_TIMEOUT_MS:  # rings out, as a bridge to it would
            answers, ring_ms = False, DEFAULT_RING_TIMEOUT_MS
        await self._wait(ring_ms)
        if not answers:
            return None
        leg = SimLeg(agent_id, address)
        self.legs[leg.label] = leg
        leg.ended.add_done_callback(lambda _: self._forget(leg))
        return leg

    def _forget(self, leg: SimLeg) -> None:
        if self.legs.get(leg.label) is leg:
            del self.legs[leg.label]

    def _ring_ms(self, ring_limit: int) -> int:
        if self.ring_shape <= 0:
            return self.ring_ms
        drawn = self.ring_rng.gammavariate(self.ring_shape, self.ring_ms / self.ring_shape)
        return min(max(1, round(drawn)), max(1, ring_limit - 1))

    async def _wait(self, ms: int) -> None:
        if ms > 0:
            await self.clock.sleep(ms / 1000)
