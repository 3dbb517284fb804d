"""One outbound call from INVITE to BYE (the UAC core of RFC 3261 13, 9, 15, 22).

Dialing: INVITE (timers A/B in the transaction), CANCEL once `dial_timeout` has passed and a
provisional response arrived, digest credentials for 401/407, a 3xx followed to its Contact,
ACK for every final response.
Answered: ACK the 2xx through the route set, play the actions over RTP while answering the far
end's in-dialog requests (see `InDialog`), then BYE. Cancelling the task hangs up first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from collections.abc import Coroutine, Sequence
from typing import Any

from outdial.domain.address import Address
from outdial.domain.outcome import CallOutcome, HangupReason, reason_for_sip_code
from outdial.domain.rules import ring_limit_ms
from outdial.domain.trunk import Verdict, verdict_for
from outdial.telephony.base import CallRequest, OnAnswer
from outdial.telephony.bridge import (
    LOCAL_PREFIX,
    NAILED_PREFIX,
    BridgeEnd,
    BridgeResult,
    OnBridgeAnswer,
)
from outdial.telephony.interpreter import CallScript, ScriptResult
from outdial.telephony.listen.amd import amd_settings_for
from outdial.telephony.sip.actions import ActionPlayer, SipMedia
from outdial.telephony.sip.auth import CallCredentials
from outdial.telephony.sip.dialog import Dialog, new_branch, new_tag
from outdial.telephony.sip.early import EarlyDialogs
from outdial.telephony.sip.env import CallEnv, DialTarget, MediaStats
from outdial.telephony.sip.incoming import ALLOW, SUPPORTED
from outdial.telephony.sip.indialog import InDialog
from outdial.telephony.sip.listening import CallEar
from outdial.telephony.sip.media import RtpStream
from outdial.telephony.sip.message import SipMessage
from outdial.telephony.sip.relay import RtpRelay
from outdial.telephony.sip.retries import InviteRetries
from outdial.telephony.sip.sdp import PCMU, LocalSession, MediaDescription, answer_media
from outdial.telephony.sip.session_timer import (
    MIN_SE,
    SessionRefresh,
    SessionTimer,
    parse_session_expires,
)
from outdial.telephony.sip.transaction import (
    InviteClientTransaction,
    NonInviteClientTransaction,
    cancel_for,
)
from outdial.telephony.sip.uri import top_branch

log = logging.getLogger("outdial.telephony.sip.call")
_TIMEOUT = object()  # `_next_event` found nothing in time


def _expire(waiter: asyncio.Future[SipMessage | object | None]) -> None:
    if not waiter.done():
        waiter.set_result(_TIMEOUT)


class OutboundCall(InviteRetries, SessionRefresh, EarlyDialogs, InDialog):
    def __init__(
        self, env: CallEnv, request: CallRequest, target: DialTarget, on_answer: OnAnswer
    ) -> None:
        super().__init__(
            env, label=str(request.call_id), sip_call_id=str(request.call_id), via=target.via
        )
        self.request = request
        self.target = target
        self.on_answer = on_answer
        self.player = ActionPlayer(env.library, label=self.label)
        # Responses for `_wait_final`: a deque and one waiter future (no task per wait).
        self.events: deque[SipMessage | None] = deque()
        self._waiter: asyncio.Future[SipMessage | object | None] | None = None
        self.local_tag = new_tag()
        self.to_uri = target.request_uri  # kept when a 3xx sends the INVITE elsewhere
        self.tried = {target.request_uri}
        self.cseq = 0
        self.invite = SipMessage()
        self.tx: InviteClientTransaction | None = None
        self.provisional = False
        self.want_cancel = False
        self.cancel_sent = False
        self.cancel_deadline = 0.0
        self.credentials = CallCredentials(env.username, env.password, env.realms)
        self.failover_due = False  # no answer at all from this server within env.failover
        # What this call says about the server it was sent to (domain/trunk.py).
        self.responded = False  # any response at all to an INVITE of this call
        self.progressed = False  # a provisional response (100 Trying included)
        self.final_code: int | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self._init_early()
        self.far_allow: set[str] = set()
        self.session_expires = env.session_expires  # asked in the INVITE (a 422 raises it)
        self.session_end: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.timer = SessionTimer(self.refresh_session, self._session_over)
        self.ear: CallEar | None = None
        self.script: CallScript | None = None
        self.event_payload_type: int | None = None  # telephone-event in the far end's answer
        self.answered_at = 0.0  # loop time of the answer
        self.bridging = False  # a bridge to a second leg runs (sip/b2bua.py)
        self.relay: RtpRelay | None = None
        self._bye: asyncio.Future[SipMessage | None] | None = None

    async def run(self) -> CallOutcome:
        try:
            self.stream = RtpStream(self.env.clock, self.target.media_host, label=self.label)
        except OSError as exc:
            return CallOutcome(HangupReason.FAILED, detail=f"cannot open an RTP socket: {exc}")
        self.session = LocalSession(self.target.media_host, self.stream.port)
        self.offer = self.session.offer()
        if self.env.transport.has_dialog(self.sip_call_id):
            self.sip_call_id = f"{self.sip_call_id}-{secrets.token_hex(3)}"
        self.env.transport.add_dialog(self.sip_call_id, self.on_dialog_message)
        prepare = None
        if any(a.get("type") == "talk" for a in self.request.actions):
            prepare = asyncio.get_running_loop().create_task(
                self.player.prepare(self.request.actions, PCMU)
            )
        try:
            return await self._run()
        except asyncio.CancelledError:
            log.info("call %s: cancelled, hanging up", self.label)
            await self._abandon()
            raise
        except Exception:  # on_answer raised (the engine's error): hang up, then let it go up
            log.exception("call %s: error during the call, hanging up", self.label)
            await self._abandon()
            raise
        finally:
            if prepare is not None:
                prepare.cancel()
            for task in self._tasks:
                task.cancel()
            self._stop_incoming()
            self.timer.cancel()
            if self.ear is not None:
                self.env.ears.discard(self.ear)
                self.ear.close()
            self.stream.close()
            stream = self.stream
            stats = MediaStats(
                stream.sent_packets, stream.received_packets, stream.payload_type, stream.port
            )
            self.env.record_media(self.label, stats)
            self.env.transport.remove_dialog(self.sip_call_id)

    async def _run(self) -> CallOutcome:
        loop = asyncio.get_running_loop()
        dial_ms = ring_limit_ms(self.request.dial_timeout_ms)
        deadline = loop.time() + dial_ms / 1000
        redirects = 0
        self._start_invite()
        log.info("call %s: INVITE %s via %s", self.label, self.target.request_uri, self.target.addr)
        while True:
            final = await self._wait_final(deadline)
            if final is None:
                if self.cancel_sent:
                    return CallOutcome(HangupReason.DIALOUT, detail="no final response to CANCEL")
                failure = self.tx.failure if self.tx is not None else ""
                if not self.provisional and self._fail_over(failure or "no response"):
                    continue
                timer_b = self.env.timers.b
                detail = failure or f"no response from {self.target.addr} (timer B, {timer_b:g} s)"
                return CallOutcome(HangupReason.FAILED, detail=detail)
            code = final.status
            log.info("call %s: final response %d %s", self.label, code, final.reason)
            if code == 503 and not self.cancel_sent and self._fail_over("503"):
                continue
            if code == 422 and not self.cancel_sent and self._retry_min_se(final):
                continue
            if code < 300:
                return await self._answered(final)
            if code in (401, 407) and not self.cancel_sent:
                if loop.time() >= deadline:
                    detail = f"not answered within {dial_ms} ms (still challenged, {code})"
                    return CallOutcome(HangupReason.DIALOUT, sip_code=code, detail=detail)
                problem = self._retry_with_credentials(final)
                if problem is None:
                    continue
                log.warning("call %s: %s", self.label, problem)
                return CallOutcome(HangupReason.FAILED, sip_code=code, detail=problem)
            if self.cancel_sent:
                detail = f"not answered within {dial_ms} ms ({code} {final.reason})"
                return CallOutcome(HangupReason.DIALOUT, sip_code=code, detail=detail)
            if 300 <= code < 400:
                problem = await self._redirect(final, redirects)
                if problem is None:
                    redirects += 1
                    continue
                reason = reason_for_sip_code(code)
                return CallOutcome(reason, sip_code=code, detail=problem)
            return CallOutcome(
                reason_for_sip_code(code), sip_code=code, detail=f"{code} {final.reason}"
            )

    def trunk_verdict(self) -> Verdict:
        """What this finished call says about the health of the server it went to."""
        if self.cseq == 0:  # nothing was sent (no RTP socket, say)
            return Verdict.NONE
        return verdict_for(
            responded=self.responded, final_code=self.final_code, progressed=self.progressed
        )

    def _start_invite(self) -> None:
        self.cseq += 1
        t = self.target
        msg = SipMessage(method="INVITE", uri=t.request_uri)
        msg.add("Via", f"SIP/2.0/{t.addr.transport} {t.via};branch={new_branch()};rport")
        for route in t.routes:
            msg.add("Route", route)
        msg.add("Max-Forwards", "70")
        msg.add("From", f"{t.from_value};tag={self.local_tag}")
        msg.add("To", f"<{self.to_uri}>")
        msg.add("Call-ID", self.sip_call_id)
        msg.add("CSeq", f"{self.cseq} INVITE")
        msg.add("Contact", self.contact)
        for header in self.credentials.headers("INVITE", t.request_uri):
            msg.add(*header)
        if t.identity:
            msg.add("P-Asserted-Identity", t.identity)
        for name, value in t.extra_headers:
            msg.add(name, value)
        msg.add("Allow", ALLOW)
        msg.add("Supported", SUPPORTED)
        if self.session_expires:
            msg.add("Session-Expires", str(self.session_expires))
            msg.add("Min-SE", str(min(MIN_SE, self.session_expires)))
        msg.add("User-Agent", self.env.user_agent)
        msg.add("Content-Type", "application/sdp")
        msg.body = self.offer  # the same offer in every INVITE of the attempt
        self.invite = msg
        self.provisional = False
        self.failover_due = False
        self.tx = InviteClientTransaction(
            self.env.transport, msg, t.addr, self.env.timers, self._deliver
        )
        self.tx.start()

    def _deliver(self, msg: SipMessage | None) -> None:
        """From the transaction, in the datagram callback: note a 2xx's dialog at once, so a
        BYE that overtakes our reading of the queue still finds its dialog; later 2xx
        responses (retransmitted, or from another fork) are dealt with here too."""
        if msg is not None and 200 <= msg.status < 300:
            if self.dialog is not None:
                self.on_late_2xx(msg)
                return
            self.dialog = Dialog.from_2xx(self.invite, msg)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(msg)
        else:
            self.events.append(msg)

    async def _next_event(self, within: float | None) -> SipMessage | object | None:
        """The next response (None: the transaction gave up), or _TIMEOUT."""
        if self.events:
            return self.events.popleft()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[SipMessage | object | None] = loop.create_future()
        self._waiter = waiter
        handle = None
        if within is not None:
            handle = loop.call_later(within, _expire, waiter)
        try:
            return await waiter
        finally:
            self._waiter = None
            if handle is not None:
                handle.cancel()

    async def _wait_final(self, deadline: float | None) -> SipMessage | None:
        """The final response to the current INVITE; None after timer B (or after 64*T1
        without one once CANCEL went out). Past `deadline` it sends CANCEL as soon as a
        provisional response has arrived (RFC 3261 9.1 forbids it before)."""
        loop = asyncio.get_running_loop()
        branch = top_branch(self.invite.get_all("Via"))
        failover_at = loop.time() + self.env.failover if self.target.alternatives else None
        while True:
            if self.cancel_sent:
                timeout: float | None = max(0.0, self.cancel_deadline - loop.time())
            elif self.want_cancel or deadline is None:
                timeout = None  # wait for a provisional response (then CANCEL) or timer B
            else:
                timeout = max(0.0, deadline - loop.time())
            if failover_at is not None and not self.provisional and not self.cancel_sent:
                left = max(0.0, failover_at - loop.time())
                timeout = left if timeout is None else min(timeout, left)
            event = await self._next_event(timeout)
            if event is _TIMEOUT:
                if self.cancel_sent:
                    if self.tx is not None:
                        self.tx.close()
                    return None
                if failover_at is not None and not self.provisional and loop.time() >= failover_at:
                    return None  # no answer at all from this server: the caller fails over
                self.want_cancel = True
                self._cancel_if_ringing()
                continue
            if event is None:
                return None
            assert isinstance(event, SipMessage)
            msg = event
            if top_branch(msg.get_all("Via")) != branch:
                continue  # left over from the transaction before a 401/407
            self.responded = True
            if msg.status >= 200:
                self.final_code = msg.status
                return msg
            self.progressed = True
            self.provisional = True
            self.on_provisional(msg)
            self._cancel_if_ringing()

    def _cancel_if_ringing(self) -> None:
        if self.want_cancel and self.provisional and not self.cancel_sent:
            self._send_cancel()
            self.cancel_deadline = asyncio.get_running_loop().time() + self.env.timers.b

    def _send_cancel(self) -> None:
        log.info("call %s: CANCEL", self.label)
        cancel = cancel_for(self.invite)
        tx = NonInviteClientTransaction(
            self.env.transport, cancel, self.target.addr, self.env.timers
        )
        self._spawn(tx.run())
        self.cancel_sent = True

    async def _answered(self, response: SipMessage) -> CallOutcome:
        dialog = self.dialog or Dialog.from_2xx(self.invite, response)
        self.dialog = dialog
        await self.send_ack_2xx()
        code = response.status
        if self.want_cancel:
            await self.hang_up()
            detail = "answered after the dial timeout, hung up at once"
            return CallOutcome(HangupReason.DIALOUT, sip_code=code, detail=detail)
        dialog.local_cseq = max(dialog.local_cseq, self.last_cseq)  # after any PRACK
        self.far_allow = {m.upper() for m in response.get_all("Allow")}
        if response.body.strip() or self.early_media is None:
            media: MediaDescription | str = answer_media(response.body)
        else:
            media = self.early_media  # the answer came in a provisional response
        if isinstance(media, str):  # answered, but nothing can be heard: not a delivered call
            log.warning("call %s: %s: hanging up", self.label, media)
            await self.hang_up()
            return CallOutcome(HangupReason.FAILED, False, code, media)
        self.use_media(media)
        self.answered_at = asyncio.get_running_loop().time()
        self._start_session_timer(response)
        await self.on_answer()
        script = self._listen(media)
        play = asyncio.get_running_loop().create_task(script.run())
        waiters: set[asyncio.Future[Any]] = {play, self.remote_bye, self.session_end}
        try:
            done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            if play not in done and self.bridging:
                # a bridge runs: it sees the same hang-up, ends the other leg and returns
                # its result to the actions; give it the time a hang-up may take
                await asyncio.wait({play}, timeout=self.env.abandon_grace)
                done = {play} if play.done() else done
        except asyncio.CancelledError:
            play.cancel()
            script.finish()
            raise
        if play in done and self.remote_bye.done():  # the callee hung up during a bridge
            return self._outcome(HangupReason.NORMAL, code, "the far end hung up")
        if self.session_end in done and play not in done and not self.remote_bye.done():
            await self._stop_script(play)
            reason = self.session_end.result()
            log.warning("call %s: %s: hanging up", self.label, reason)
            await self.hang_up()
            return self._outcome(HangupReason.NORMAL, code, reason)
        if play not in done:
            await self._stop_script(play)
            return self._outcome(HangupReason.NORMAL, code, "the far end hung up")
        try:
            result = play.result()
        except Exception as exc:  # a bug in the media path fails this call, not the engine
            log.exception("call %s: playing the actions failed", self.label)
            await self.hang_up()
            return self._outcome(HangupReason.FAILED, code, f"media error: {exc}")
        reply = await self.hang_up()
        if result.reason is HangupReason.AMD:
            detail = "answering machine, hung up"
        elif result.opted_out:
            detail = "opted out, hung up"
        else:
            detail = "hung up after the actions"
        detail += "" if reply else " (BYE not answered)"
        return self._outcome(result.reason, code, detail)

    def _listen(self, media: MediaDescription) -> CallScript:
        """Start hearing the far end and make the script that runs the actions."""
        request = self.request
        script: CallScript | None = None

        def on_digit(digit: str) -> None:
            if script is not None:
                script.on_digit(digit)

        ear = CallEar(
            on_digit, event_payload_type=media.telephone_event, label=self.label,
            amd=amd_settings_for(request.actions),
        )  # fmt: skip
        self.ear = ear
        self.event_payload_type = media.telephone_event
        self.stream.on_packet = ear.on_packet
        self.env.ears.add(ear)
        sip_media = SipMedia(
            self.env.library, self.stream, ear, label=self.label,
            event_payload_type=media.telephone_event, bridger=self.bridge,
        )  # fmt: skip
        script = CallScript(
            request.actions, sip_media, call_id=request.call_id, variables=request.variables,
            opt_out_key=request.opt_out_key, opt_out_confirmation=request.opt_out_confirmation,
            recordings_dir=request.recordings_dir, label=self.label,
            connector=request.connector,
        )  # fmt: skip
        self.script = script
        return script

    def answered_ms(self) -> int:
        """Milliseconds since this call was answered."""
        return int((asyncio.get_running_loop().time() - self.answered_at) * 1000)

    async def hang_up(self) -> SipMessage | None:
        """BYE, sent once: a second call (the bridge hung this leg up, then the actions ended)
        gets the first one's answer."""
        if self._bye is None:
            self._bye = asyncio.ensure_future(super().hang_up())
        try:
            return await asyncio.shield(self._bye)
        except asyncio.CancelledError:
            self._bye.cancel()  # as before: a hang-up given up on stops its BYE transaction
            raise

    async def bridge(
        self,
        destination: Address,
        ring_timeout_ms: int,
        *,
        ring_also: Sequence[Address] = (),
        on_answer: OnBridgeAnswer | None = None,
    ) -> BridgeResult:
        """Connect this answered call to `destination` (sip/b2bua.py)."""
        from outdial.telephony.sip import b2bua

        if self.remote_bye.done():  # the callee is gone already
            return BridgeResult(BridgeEnd.CALLEE)
        if destination.target.startswith(NAILED_PREFIX):  # an open nailed-up leg (nailed.py)
            from outdial.telephony.sip import nailed

            held = self.env.local_legs(destination.target) if self.env.local_legs else None
            leg = held if isinstance(held, nailed.NailedLeg) else None
            return await nailed.bridge_nailed(self, leg, on_answer)
        if destination.target.startswith(LOCAL_PREFIX):  # the agent's browser phone
            local = self.env.local_legs(destination.target) if self.env.local_legs else None
            if local is None:
                return BridgeResult(BridgeEnd.NOT_ANSWERED, 480)
            return await b2bua.bridge_local(self, local, on_answer)
        if self.env.leg_target is None:
            return BridgeResult(BridgeEnd.NOT_ANSWERED)
        destinations = (destination, *ring_also)
        leg_target = self.env.leg_target
        return await b2bua.bridge(self, leg_target, destinations, ring_timeout_ms, on_answer)

    async def _stop_script(self, play: asyncio.Task[ScriptResult]) -> None:
        play.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await play

    def on_info(self, msg: SipMessage) -> None:
        if self.ear is not None:
            self.ear.on_info(msg.get("Content-Type") or "", msg.body)

    def _outcome(self, reason: HangupReason, code: int, detail: str) -> CallOutcome:
        """An answered call's outcome, with what the actions heard (amd, digits, recordings)."""
        if self.script is None:
            return CallOutcome(reason, True, code, detail)
        result = self.script.finish()
        return CallOutcome(
            reason, True, code, detail, amd_result=result.amd_result, amd_ms=result.amd_ms,
            digits=result.digits, opted_out=result.opted_out,
            recordings=tuple(result.recordings),
        )  # fmt: skip

    def _start_session_timer(self, response: SipMessage) -> None:
        granted = parse_session_expires(response.get("Session-Expires"))
        if granted is None or not self.session_expires or granted[0] <= 0:
            return
        interval, refresher = granted
        self.timer.start(interval, we_refresh=refresher != "uas")

    def _session_over(self, reason: str) -> None:
        if not self.session_end.done():
            self.session_end.set_result(reason)

    async def _abandon(self) -> None:
        """Hang up a call whose task was cancelled: CANCEL before the answer, BYE after."""
        grace = self.env.abandon_grace
        try:
            if self.dialog is None and self.tx is not None:
                self.want_cancel = True
                self._cancel_if_ringing()
                final = await asyncio.wait_for(self._wait_final(None), grace)
                if final is None or final.status >= 300:
                    return
                self.dialog = self.dialog or Dialog.from_2xx(self.invite, final)
                await self.send_ack_2xx()
            if self.dialog is not None and not self.remote_bye.done():
                await asyncio.wait_for(self.hang_up(), grace)
        except TimeoutError:
            log.warning("call %s: far end did not confirm the hang-up in %g s", self.label, grace)
        except OSError as exc:
            log.warning("call %s: could not hang up: %s", self.label, exc)
        finally:
            if self.tx is not None and self.dialog is None:
                self.tx.close()

    def _spawn(self, coro: Coroutine[object, object, object]) -> None:
        task: asyncio.Task[object] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
