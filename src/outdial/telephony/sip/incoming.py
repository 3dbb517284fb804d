"""The far end's requests inside an answered call (RFC 3261 12.2.2, 14.2; RFC 3311, 3264).

A request whose tags do not match the dialog gets 481, one with a CSeq below the last one 500,
a retransmission the same answer again. BYE ends the call. A re-INVITE or UPDATE refreshes the
remote target from its Contact; its SDP offer is answered as RFC 3264 says (`LocalSession`),
or refused with 488 when no stream is acceptable; an offerless re-INVITE gets our offer in the
2xx and the answer in the ACK is applied. The 2xx to a re-INVITE is retransmitted until the
ACK comes (timers G and H, RFC 3261 13.3.1.4).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from outdial.telephony.sip.dialog import Dialog
from outdial.telephony.sip.env import CallEnv
from outdial.telephony.sip.message import SipMessage, response_to
from outdial.telephony.sip.sdp import (
    LocalSession,
    MediaDescription,
    SdpError,
    answer_media,
    parse_sdp,
)
from outdial.telephony.sip.transport import Addr
from outdial.telephony.sip.uri import NameAddr, tag_of

log = logging.getLogger("outdial.telephony.sip.call")
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO"
ACCEPT = "application/sdp"
SUPPORTED = "100rel, timer"  # the option tags we handle (RFC 3261 20.37)


def capabilities(resp: SipMessage) -> SipMessage:
    resp.add("Allow", ALLOW)
    resp.add("Accept", ACCEPT)
    if SUPPORTED:
        resp.add("Supported", SUPPORTED)
    return resp


def answer_out_of_dialog(
    send: Callable[[SipMessage, Addr], None], msg: SipMessage, addr: Addr
) -> None:
    """A request that belongs to no call of ours: OPTIONS 200 with what we handle; a request
    for a dialog we do not know 481; a new call 603 (outdial only dials out)."""
    if msg.method == "ACK":
        return
    if msg.method == "OPTIONS":
        send(capabilities(response_to(msg, 200, "OK", to_tag="outdial")), addr)
    elif tag_of(msg.get("To")):
        send(response_to(msg, 481, "Call/Transaction Does Not Exist"), addr)
    elif msg.method == "INVITE":
        send(response_to(msg, 603, "Decline", to_tag="outdial"), addr)
    else:
        send(capabilities(response_to(msg, 405, "Method Not Allowed", to_tag="outdial")), addr)


class IncomingRequests:
    env: CallEnv
    label: str
    local_tag: str
    dialog: Dialog | None
    session: LocalSession
    remote_bye: asyncio.Future[None]

    @property
    def contact(self) -> str:
        raise NotImplementedError

    def use_media(self, media: MediaDescription | None) -> None: ...

    def on_late_2xx(self, msg: SipMessage) -> None: ...

    def on_info(self, msg: SipMessage) -> None:
        """An INFO in the dialog (a key press in application/dtmf-relay, application/dtmf)."""

    def on_session_refresh(self, request: SipMessage, response: SipMessage) -> None:
        """A re-INVITE or UPDATE was answered (session timers hook in here)."""

    def _init_incoming(self) -> None:
        self._answers: dict[tuple[int, str], SipMessage] = {}
        self._remote_cseq: int | None = None
        self._unacked: dict[int, asyncio.TimerHandle | None] = {}  # re-INVITE CSeq -> timer G
        self._wants_answer: set[int] = set()  # offerless re-INVITEs: the answer is in the ACK

    def on_dialog_message(self, msg: SipMessage, addr: Addr) -> None:
        """Datagrams with our Call-ID that no transaction took."""
        if not msg.is_request:
            if 200 <= msg.status < 300 and self.dialog is not None:
                self.on_late_2xx(msg)  # after the INVITE transaction ended
            return
        if msg.method == "ACK":
            self._on_ack(msg)
            return
        send = self.env.transport.send
        dialog = self.dialog
        if (
            dialog is None
            or tag_of(msg.get("To")) != self.local_tag
            or tag_of(msg.get("From")) != tag_of(dialog.remote)
        ):
            send(response_to(msg, 481, "Call/Transaction Does Not Exist"), addr)
            return
        key = msg.cseq
        if key in self._answers:  # a retransmitted request: the same answer again
            send(self._answers[key], addr)
            return
        if self._remote_cseq is not None and key[0] < self._remote_cseq:
            send(response_to(msg, 500, "Server Internal Error (CSeq out of order)"), addr)
            return
        self._remote_cseq = key[0]
        resp = self._answer(msg, dialog)
        self._answers[key] = resp
        send(resp, addr)
        if msg.method == "INVITE" and 200 <= resp.status < 300:
            self._retransmit(key[0], resp, addr, self.env.timers.t1, 0.0)

    def _answer(self, msg: SipMessage, dialog: Dialog) -> SipMessage:
        method = msg.method
        if method == "BYE":
            log.info("call %s: the far end hung up (BYE)", self.label)
            if not self.remote_bye.done():
                self.remote_bye.set_result(None)
            return response_to(msg, 200, "OK")
        if method in ("INVITE", "UPDATE"):
            resp = self._offer(msg, dialog)
            self.on_session_refresh(msg, resp)
            return resp
        if method == "INFO":
            self.on_info(msg)
        if method in ("OPTIONS", "INFO", "CANCEL"):  # CANCEL: the re-INVITE is answered already
            resp = response_to(msg, 200, "OK")
            return capabilities(resp) if method == "OPTIONS" else resp
        return capabilities(response_to(msg, 501, "Not Implemented"))

    def _offer(self, msg: SipMessage, dialog: Dialog) -> SipMessage:
        contacts = msg.get_all("Contact")
        if contacts:  # a target refresh: later requests go there (RFC 3261 12.2.2, RFC 3311)
            try:
                dialog.remote_target = NameAddr.parse(contacts[0]).uri
            except ValueError:
                log.warning("call %s: unreadable Contact in %s", self.label, msg.method)
        if not msg.body.strip():
            if msg.method == "UPDATE":
                return self._with_contact(response_to(msg, 200, "OK"))
            log.info("call %s: re-INVITE without SDP, offering ours", self.label)
            self._wants_answer.add(msg.cseq[0])
            return self._with_contact(response_to(msg, 200, "OK", body=self.session.offer()))
        try:
            answered = self.session.answer(parse_sdp(msg.body))
        except SdpError as exc:
            log.warning("call %s: unreadable SDP offer in %s: %s", self.label, msg.method, exc)
            answered = None
        if answered is None:
            resp = response_to(msg, 488, "Not Acceptable Here")
            resp.add("Warning", '304 outdial "no acceptable audio stream"')
            return resp
        body, media = answered
        log.info("call %s: %s offer answered (%s)", self.label, msg.method, media.direction)
        self.use_media(media)
        return self._with_contact(response_to(msg, 200, "OK", body=body))

    def _with_contact(self, resp: SipMessage) -> SipMessage:
        resp.add("Contact", self.contact)
        if resp.body:
            resp.add("Content-Type", "application/sdp")
        return resp

    def _on_ack(self, msg: SipMessage) -> None:
        try:
            number = msg.cseq[0]
        except ValueError:
            return
        if number in self._unacked:
            handle = self._unacked.pop(number)
            if handle is not None:
                handle.cancel()
        if number in self._wants_answer:
            self._wants_answer.discard(number)
            media = answer_media(msg.body)
            if isinstance(media, str):
                log.warning("call %s: ACK of our offer: %s", self.label, media)
            else:
                self.use_media(media)

    def _retransmit(
        self, number: int, resp: SipMessage, addr: Addr, interval: float, spent: float
    ) -> None:
        """Timer G: send the 2xx again (T1 doubling to T2) until the ACK; H gives up."""
        timers = self.env.timers
        if spent >= timers.b:
            self._unacked.pop(number, None)
            log.warning("call %s: no ACK for the 2xx to the re-INVITE (timer H)", self.label)
            return
        if spent > 0:
            if number not in self._unacked:
                return
            self.env.transport.send(resp, addr)
        loop = asyncio.get_running_loop()
        nxt = interval if spent == 0 else min(2 * interval, timers.t2)
        self._unacked[number] = loop.call_later(
            nxt, self._retransmit, number, resp, addr, nxt, spent + nxt
        )

    def _stop_incoming(self) -> None:
        for handle in self._unacked.values():
            if handle is not None:
                handle.cancel()
        self._unacked.clear()
