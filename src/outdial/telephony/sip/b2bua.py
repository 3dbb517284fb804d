"""Bridging an answered call to a second party over SIP: outdial as the back-to-back user agent
(`CallMedia.bridge`, telephony/bridge.py; docs/telephony.md "Bridging a call to an agent").

The callee's leg (an `OutboundCall` whose actions are running) stays up while a second INVITE,
the agent leg, goes to the destination with everything a call has (digest credentials, the
network policy, the trunk and its health, 3xx, DNS failover, CANCEL at the ring limit, forked
answers, session timers). When the agent answers, `RtpRelay` joins the two legs' RTP; the bridge
lasts until one side sends BYE, then the other leg gets BYE:

- the agent leg fails or rings out (CANCEL): NOT_ANSWERED, the callee's leg is still up;
- several destinations (an agent's `ringall`): one INVITE each at once; the first 2xx is
  bridged and the others get CANCEL (BYE when one answered as well);
- the callee hangs up: BYE to the agent (CANCEL while it still rings), end CALLEE;
- the agent hangs up: BYE to the callee, end AGENT;
- a session timer of either leg expires: BYE to both, end DIALER;
- the bridge's task is cancelled (the opt-out key, the call's own cancellation): the agent leg
  gets CANCEL or BYE before the cancellation goes on; the callee's leg is the calling call's
  to end.

`bridge_local` joins the callee to a *local leg* instead (the agent's browser phone,
telephony/webrtc.py): nothing is dialed, the leg answers at once if it is free; the callee's
G.711 is decoded to PCM for it and what it sends back is encoded to the callee's codec and sent
at once (the leg paced it), on one continuous timestamp line. It ends like `bridge`: the callee
hangs up (CALLEE), the leg drops (the page closed: BYE to the callee, AGENT), a session timer
(BYE, DIALER), a cancellation (the leg is only detached).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from functools import cache
from typing import Any

import numpy as np

from outdial.domain.address import Address
from outdial.domain.outcome import CallOutcome, HangupReason
from outdial.telephony.base import CallRequest
from outdial.telephony.bridge import BridgeEnd, BridgeResult, LocalLeg, OnBridgeAnswer
from outdial.telephony.sip import g711
from outdial.telephony.sip.call import OutboundCall
from outdial.telephony.sip.dialog import Dialog
from outdial.telephony.sip.env import CallEnv, DialTarget
from outdial.telephony.sip.message import SipMessage
from outdial.telephony.sip.relay import RtpRelay, _chain
from outdial.telephony.sip.rtp import RtpPacket
from outdial.telephony.sip.sdp import PCMA, PCMU, MediaDescription, answer_media

log = logging.getLogger("outdial.telephony.sip.bridge")
AGENT_HUNG_UP = "the far end hung up"
LegTarget = Callable[[CallRequest], Awaitable[DialTarget | str]]


async def _nothing() -> None:
    return None


class AgentLeg(OutboundCall):
    """The second leg: dialed like any call; answered, it plays nothing and waits for a BYE
    from its far end or for `release` (then it sends BYE itself)."""

    def __init__(self, env: CallEnv, request: CallRequest, target: DialTarget) -> None:
        super().__init__(env, request, target, _nothing)
        loop = asyncio.get_running_loop()
        self.media_answer: asyncio.Future[MediaDescription] = loop.create_future()
        self.release: asyncio.Future[None] = loop.create_future()

    async def _answered(self, response: SipMessage) -> CallOutcome:
        dialog = self.dialog or Dialog.from_2xx(self.invite, response)
        self.dialog = dialog
        await self.send_ack_2xx()
        code = response.status
        if self.want_cancel or self.release.done():
            await self.hang_up()
            return CallOutcome(HangupReason.DIALOUT, True, code, "answered too late")
        dialog.local_cseq = max(dialog.local_cseq, self.last_cseq)  # after any PRACK
        if response.body.strip() or self.early_media is None:
            media: MediaDescription | str = answer_media(response.body)
        else:
            media = self.early_media  # the answer came in a provisional response
        if isinstance(media, str):  # nothing to relay: not a connected agent
            log.warning("call %s: %s: hanging up", self.label, media)
            await self.hang_up()
            return CallOutcome(HangupReason.FAILED, False, code, media)
        self.use_media(media)
        self._start_session_timer(response)
        self.media_answer.set_result(media)
        waiters: set[asyncio.Future[Any]] = {self.remote_bye, self.session_end, self.release}
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if self.remote_bye.done():
            return CallOutcome(HangupReason.NORMAL, True, code, AGENT_HUNG_UP)
        await self.hang_up()
        return CallOutcome(HangupReason.NORMAL, True, code, "hung up by the bridge")


async def bridge(
    callee: OutboundCall,
    leg_target: LegTarget,
    destinations: Sequence[Address],
    ring_timeout_ms: int,
    on_answer: OnBridgeAnswer | None = None,
) -> BridgeResult:
    """Dial `destinations` (all at once when there are several: an agent's `ringall`; the
    first to answer is bridged, the others get CANCEL, or BYE when they answered as well) and
    relay audio between the one that answered and `callee` (see the module doc)."""
    loop = asyncio.get_running_loop()
    base = callee.request
    legs: list[tuple[int, AgentLeg, asyncio.Task[CallOutcome]]] = []
    failed_code = 0
    for index, destination in enumerate(destinations):
        request = CallRequest(uuid.uuid4(), base.source, destination, max(1, ring_timeout_ms))
        target = await leg_target(request)
        if isinstance(target, str):
            log.warning("call %s: cannot bridge to %s: %s", callee.label, destination.target,
                        target)  # fmt: skip
            continue
        leg = AgentLeg(callee.env, request, target)
        log.info("call %s: bridging to %s (leg %s)", callee.label, destination.target, leg.label)
        legs.append((index, leg, loop.create_task(leg.run())))
    if not legs:
        return BridgeResult(BridgeEnd.NOT_ANSWERED)
    callee_end: set[asyncio.Future[Any]] = {callee.remote_bye, callee.session_end}
    relay: RtpRelay | None = None
    callee.bridging = True
    chosen: tuple[int, AgentLeg, asyncio.Task[CallOutcome]] | None = None
    try:
        ringing = list(legs)
        while chosen is None:
            first: set[asyncio.Future[Any]] = set(callee_end)
            for _, leg, task in ringing:
                first |= {leg.media_answer, task}
            await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
            chosen = next((item for item in ringing if item[1].media_answer.done()), None)
            if chosen is not None:
                break
            for item in [item for item in ringing if item[2].done()]:
                ringing.remove(item)  # failed, busy, rang out
                outcome = item[2].result()
                failed_code = outcome.sip_code or failed_code
                log.info("call %s: agent leg not answered: %s", callee.label, outcome.detail)
            if any(f.done() for f in callee_end):
                # the callee hung up while the agent's phones rang: CANCEL them
                await asyncio.gather(*(_end_leg(leg, task) for _, leg, task in ringing))
                ringing.clear()
                callee_gone = callee.remote_bye.done()
                return BridgeResult(BridgeEnd.CALLEE if callee_gone else BridgeEnd.DIALER)
            if not ringing:  # the callee is still there
                return BridgeResult(BridgeEnd.NOT_ANSWERED, failed_code)
        index, leg, task = chosen
        others = [item for item in legs if item is not chosen and not item[2].done()]
        if others:  # ringall: the others get CANCEL (BYE if they answered too)
            await asyncio.gather(*(_end_leg(o_leg, o_task) for _, o_leg, o_task in others))
        media = leg.media_answer.result()
        answer_ms = callee.answered_ms()
        connected = loop.time()
        relay = RtpRelay(
            callee.stream, callee.event_payload_type, leg.stream, media.telephone_event
        )
        relay.start()
        callee.relay = relay
        log.info("call %s: connected to %s", callee.label, destinations[index].target)
        if on_answer is not None:
            await on_answer(answer_ms)
        await asyncio.wait({task, *callee_end}, return_when=asyncio.FIRST_COMPLETED)  # talking
        talk_ms = int((loop.time() - connected) * 1000)
        relay.stop()
        code = leg.final_code or 200
        if callee.remote_bye.done():
            await _end_leg(leg, task)
            end = BridgeEnd.CALLEE
        elif callee.session_end.done():
            await _end_leg(leg, task)
            await callee.hang_up()
            end = BridgeEnd.DIALER
        else:  # the agent leg ended: its far end hung up, or its session timer expired
            await callee.hang_up()
            outcome = task.result()
            end = BridgeEnd.AGENT if outcome.detail == AGENT_HUNG_UP else BridgeEnd.DIALER
        log.info("call %s: bridge over (%s) after %d ms", callee.label, end.value, talk_ms)
        return BridgeResult(end, code, answer_ms, talk_ms, index)
    except asyncio.CancelledError:
        if relay is not None:
            relay.stop()
        for _, _, task in legs:
            task.cancel()  # the leg's own cancellation sends CANCEL or BYE
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.shield(asyncio.gather(*(t for _, _, t in legs), return_exceptions=True))
        raise
    finally:
        callee.bridging = False
        callee.relay = None
        for _, _, task in legs:
            if not task.done():
                task.cancel()


async def _end_leg(leg: AgentLeg, task: asyncio.Task[CallOutcome]) -> None:
    """Hang the agent leg up (BYE once answered; CANCEL while it rings) and wait for it (a
    cancellation of the bridge meanwhile still propagates: `asyncio.wait` does not absorb it)."""
    if leg.dialog is not None:
        if not leg.release.done():
            leg.release.set_result(None)
    else:
        task.cancel()
    await asyncio.wait({task})


_RESYNC = 1600  # samples (200 ms): a local leg's timestamps further off the clock are reset


@cache
def _decoder(payload_type: int) -> np.ndarray[Any, Any]:
    """G.711 code -> 16-bit PCM, as a table (numpy indexing: with the encoder, 11 CPU µs per
    20 ms frame both ways against 127 with `g711.decode/encode`, benchmarks/bench_webrtc.py)."""
    one = g711.alaw_decode_sample if payload_type == PCMA else g711.ulaw_decode_sample
    return np.array([one(code) for code in range(256)], dtype="<i2")


@cache
def _encoder(payload_type: int) -> np.ndarray[Any, Any]:
    """16-bit PCM (read as unsigned) -> G.711 code, as a table."""
    one = g711.alaw_encode_sample if payload_type == PCMA else g711.ulaw_encode_sample
    return np.array([one(u - 65536 if u >= 32768 else u) for u in range(65536)], dtype=np.uint8)


def pcm_from_g711(payload: bytes, payload_type: int) -> bytes:
    return bytes(_decoder(payload_type)[np.frombuffer(payload, dtype=np.uint8)].tobytes())


def g711_from_pcm(pcm: bytes, payload_type: int) -> bytes:
    samples = np.frombuffer(pcm[: len(pcm) & ~1], dtype="<u2")
    return bytes(_encoder(payload_type)[samples].tobytes())


async def bridge_local(
    callee: OutboundCall, leg: LocalLeg, on_answer: OnBridgeAnswer | None = None
) -> BridgeResult:
    """Relay audio between `callee` and a local leg (see the module doc); an open local leg
    answers at once (`on_answer` is awaited as it is attached)."""
    loop = asyncio.get_running_loop()
    stream = callee.stream
    saved = stream.on_packet
    next_ts: int | None = None

    def from_callee(data: bytes) -> None:
        if len(data) < 12 or data[1] & 0x7F not in (PCMU, PCMA):
            return  # telephone-events, comfort noise: the browser phone has no use for them
        if data[0] == 0x80:
            payload = data[12:]
        else:
            try:
                payload = RtpPacket.parse(data).payload
            except ValueError:
                return
        leg.hear(pcm_from_g711(payload, data[1] & 0x7F))

    def to_callee(pcm: bytes) -> None:
        nonlocal next_ts
        now_ts = stream.media_timestamp()
        marker = next_ts is None or abs((now_ts - next_ts + 2**31) % 2**32 - 2**31) > _RESYNC
        ts = now_ts if marker or next_ts is None else next_ts
        pt = stream.payload_type
        stream.forward(g711_from_pcm(pcm, pt), pt, ts, marker)
        next_ts = (ts + len(pcm) // 2) & 0xFFFFFFFF

    if callee.remote_bye.done():
        return BridgeResult(BridgeEnd.CALLEE)
    if leg.ended.done() or not leg.attach(to_callee):
        log.info("call %s: local leg %s not free", callee.label, leg.label)
        return BridgeResult(BridgeEnd.NOT_ANSWERED, 486)
    answer_ms = callee.answered_ms()
    connected = loop.time()
    callee.bridging = True
    stream.flush()  # whatever was playing stops
    stream.start_clock()
    stream.on_packet = _chain(saved, from_callee)
    log.info("call %s: connected to %s", callee.label, leg.label)
    try:
        if on_answer is not None:
            await on_answer(answer_ms)
        ends: set[asyncio.Future[Any]] = {leg.ended, callee.remote_bye, callee.session_end}
        await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        talk_ms = int((loop.time() - connected) * 1000)
        if callee.remote_bye.done():
            end = BridgeEnd.CALLEE
        elif callee.session_end.done():
            await callee.hang_up()
            end = BridgeEnd.DIALER
        else:  # the browser phone dropped
            await callee.hang_up()
            end = BridgeEnd.AGENT
        log.info("call %s: bridge over (%s) after %d ms", callee.label, end.value, talk_ms)
        return BridgeResult(end, 200, answer_ms, talk_ms)
    finally:
        leg.detach()
        stream.on_packet = saved
        callee.bridging = False
        if stream.packetizer is not None:
            stream.packetizer.mark()
