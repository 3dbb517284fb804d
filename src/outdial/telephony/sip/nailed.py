"""Nailed-up agent legs over SIP (issue 13; telephony/bridge.py `HeldLeg`, docs/agents.md).

`open_nailed` INVITEs the agent's address once, by the same path as a bridge's agent leg
(`b2bua.AgentLeg`: the trunk and its health, digest credentials, the network policy, the
transports, session timers), and keeps the answered leg as a `NailedLeg`:

- between callees the leg stays up and outdial sends it silence (G.711 silence packets every
  packet time), so NAT and firewall bindings on the way stay open and the agent hears nothing;
- `bridge_nailed` connects a callee to it without a new INVITE: the callee's RTP and the
  agent's are relayed both ways (`relay.RtpRelay`, as a dialed bridge does), at once (no ring).
  The callee hanging up ends the conversation (end CALLEE): the relay stops, the silence
  starts again, the agent gets no BYE;
- the agent hanging up (its BYE) or the leg's session timer expiring ends the leg: `ended`
  resolves (the desk makes the agent `offline`, engine/desk.py) and a conversation on it ends
  with BYE to the callee (end AGENT);
- `hang_up` (the desk: the agent went away or offline, the engine stops) sends BYE.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from outdial.domain.address import Address, AddressType
from outdial.domain.outcome import CallOutcome
from outdial.telephony.base import CallRequest
from outdial.telephony.bridge import NAILED_PREFIX, BridgeEnd, BridgeResult, OnBridgeAnswer
from outdial.telephony.sip.b2bua import AGENT_HUNG_UP, AgentLeg, g711_from_pcm, pcm_from_g711
from outdial.telephony.sip.call import OutboundCall
from outdial.telephony.sip.env import CallEnv, DialTarget
from outdial.telephony.sip.g711 import silence
from outdial.telephony.sip.media import RtpStream
from outdial.telephony.sip.relay import RtpRelay
from outdial.telephony.sip.rtp import RtpPacket
from outdial.telephony.sip.sdp import PCMA, PCMU, MediaDescription

log = logging.getLogger("outdial.telephony.sip.nailed")
KEEPALIVE_MS = 1000  # silence queued at a time between callees (sent one packet per ptime)
# The From of the INVITE: no campaign's caller id belongs to a leg that serves them all.
SOURCE = Address(AddressType.SIP, "", name="outdial")
AGENT_BYE = "the agent hung up"  # `ended` results
SESSION_EXPIRED = "session timer expired"
HUNG_UP = "hung up by outdial"


class NailedLeg:
    """An answered agent leg kept open between callees (a `HeldLeg`); see the module doc."""

    def __init__(
        self,
        agent_id: uuid.UUID,
        call: AgentLeg,
        task: asyncio.Task[CallOutcome],
        media: MediaDescription,
    ) -> None:
        self.agent_id = agent_id
        self.label = f"{NAILED_PREFIX}{agent_id}"
        self.call = call
        self.task = task
        self.media = media
        self.ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.conversations = 0  # callees connected on this leg
        self.busy = False
        self._keepalive: asyncio.Task[None] | None = None
        self._speak: Callable[[bytes], None] | None = None
        self._next_ts: int | None = None
        task.add_done_callback(self._over)
        self._keep_alive()

    @property
    def stream(self) -> RtpStream:
        """The leg's RTP (to the agent and from it)."""
        return self.call.stream

    # ---- between callees: silence ----------------------------------------------------------
    def _keep_alive(self) -> None:
        if self._keepalive is None and not self.ended.done():
            self._keepalive = asyncio.get_running_loop().create_task(self._silence())

    async def _silence(self) -> None:
        stream = self.stream
        while True:
            sent = stream.play(silence(stream.payload_type, KEEPALIVE_MS * 8))
            if sent.done():  # the stream is closed (the leg is ending)
                return
            await sent

    def _quiet(self) -> None:
        """Stop the silence at once (a conversation starts, or the leg ends)."""
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None
        self.stream.flush()

    # ---- one conversation at a time --------------------------------------------------------
    def claim(self) -> bool:
        """Take the leg for a conversation (False: busy or gone); the silence stops."""
        if self.busy or self.ended.done():
            return False
        self.busy = True
        self.conversations += 1
        self._quiet()
        return True

    def release(self) -> None:
        """The conversation is over: the leg stays, the silence starts again."""
        if not self.busy:
            return
        self.busy = False
        if self.stream.packetizer is not None:
            self.stream.packetizer.mark()
        self._keep_alive()

    # ---- `LocalLeg`: PCM in and out (for a caller that has no RTP of its own) ---------------
    def attach(self, speak: Callable[[bytes], None]) -> bool:
        if not self.claim():
            return False
        self._speak, self._next_ts = speak, None
        self.stream.on_packet = self._heard
        return True

    def _heard(self, data: bytes) -> None:
        speak = self._speak
        if speak is None or len(data) < 12 or data[1] & 0x7F not in (PCMU, PCMA):
            return
        try:
            payload = data[12:] if data[0] == 0x80 else RtpPacket.parse(data).payload
        except ValueError:
            return
        speak(pcm_from_g711(payload, data[1] & 0x7F))

    def hear(self, pcm: bytes) -> None:
        stream = self.stream
        stream.start_clock()
        ts = stream.media_timestamp() if self._next_ts is None else self._next_ts
        pt = stream.payload_type
        stream.forward(g711_from_pcm(pcm, pt), pt, ts, self._next_ts is None)
        self._next_ts = (ts + len(pcm) // 2) & 0xFFFFFFFF

    def detach(self) -> None:
        if self._speak is not None:
            self._speak = None
            self.stream.on_packet = None
        self.release()

    # ---- the end of the leg ----------------------------------------------------------------
    def hang_up(self) -> None:
        """BYE to the agent (the desk ended the leg); `ended` resolves once it went."""
        if not self.call.release.done():
            self.call.release.set_result(None)

    def _over(self, task: asyncio.Task[CallOutcome]) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None
        if self.ended.done():
            return
        if task.cancelled():
            why = HUNG_UP
        elif task.exception() is not None:
            why = f"error: {task.exception()}"
        elif task.result().detail == AGENT_HUNG_UP:
            why = AGENT_BYE
        elif self.call.session_end.done():
            why = SESSION_EXPIRED
        else:
            why = HUNG_UP
        log.info("%s: leg ended (%s) after %d conversations", self.label, why, self.conversations)
        self.ended.set_result(why)

    async def wait_closed(self) -> None:
        """Until the leg's dialog is over (its BYE answered or given up on)."""
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.shield(self.task)


LegTarget = Callable[[CallRequest], Awaitable[DialTarget | str]]


async def open_nailed(
    env: CallEnv,
    leg_target: LegTarget,
    agent_id: uuid.UUID,
    address: Address,
    ring_timeout_ms: int,
) -> NailedLeg | None:
    """INVITE the agent once; the answered leg (None: not answered, failed, not dialable).
    Cancelled while it rings: CANCEL (or BYE if it answered meanwhile), then the cancellation
    goes on."""
    request = CallRequest(uuid.uuid4(), SOURCE, address, max(1, ring_timeout_ms))
    target = await leg_target(request)
    if isinstance(target, str):
        log.warning("agent %s: cannot call %s: %s", agent_id, address.target, target)
        return None
    call = AgentLeg(env, request, target)
    log.info("agent %s: nailed-up leg %s to %s", agent_id, call.label, address.target)
    task = asyncio.get_running_loop().create_task(call.run())
    try:
        first: set[asyncio.Future[Any]] = {call.media_answer, task}
        await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()  # the leg's own cancellation sends CANCEL or BYE
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.shield(task)
        raise
    if not call.media_answer.done():
        outcome = task.result()
        log.info("agent %s: nailed-up leg not answered: %s %s", agent_id,
                 outcome.sip_code, outcome.detail)  # fmt: skip
        return None
    return NailedLeg(agent_id, call, task, call.media_answer.result())


async def bridge_nailed(
    callee: OutboundCall, leg: NailedLeg | None, on_answer: OnBridgeAnswer | None = None
) -> BridgeResult:
    """Connect `callee` to the open leg at once: RTP relayed both ways until the callee hangs
    up (CALLEE: the leg stays), the leg ends (AGENT: BYE to the callee) or the callee's session
    timer expires (DIALER: BYE to the callee). A leg that is gone or busy: NOT_ANSWERED (480).
    A cancellation stops the relay only (the callee's leg is the calling call's to end)."""
    if callee.remote_bye.done():
        return BridgeResult(BridgeEnd.CALLEE)
    if leg is None or not leg.claim():
        log.info("call %s: nailed-up leg not free", callee.label)
        return BridgeResult(BridgeEnd.NOT_ANSWERED, 480)
    loop = asyncio.get_running_loop()
    agent = leg.call
    relay = RtpRelay(
        callee.stream, callee.event_payload_type, agent.stream, leg.media.telephone_event
    )
    answer_ms = callee.answered_ms()
    connected = loop.time()
    callee.bridging = True
    try:
        relay.start()
        callee.relay = relay
        log.info("call %s: connected to %s (leg %s)", callee.label, leg.label, agent.label)
        if on_answer is not None:
            await on_answer(answer_ms)
        ends: set[asyncio.Future[Any]] = {leg.ended, callee.remote_bye, callee.session_end}
        await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        talk_ms = int((loop.time() - connected) * 1000)
        relay.stop()
        if callee.remote_bye.done():
            end = BridgeEnd.CALLEE
        elif callee.session_end.done():
            await callee.hang_up()
            end = BridgeEnd.DIALER
        else:
            await callee.hang_up()
            end = BridgeEnd.AGENT if leg.ended.result() == AGENT_BYE else BridgeEnd.DIALER
        log.info("call %s: bridge over (%s) after %d ms", callee.label, end.value, talk_ms)
        return BridgeResult(end, 200, answer_ms, talk_ms)
    finally:
        relay.stop()
        callee.relay = None
        callee.bridging = False
        leg.release()


__all__ = ["NailedLeg", "bridge_nailed", "open_nailed"]
