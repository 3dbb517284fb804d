"""The answered part of an outbound call: ACK for the 2xx, BYE, media, and the far end's
in-dialog requests (BYE, re-INVITE, OPTIONS, ...), answered from the datagram callback."""

from __future__ import annotations

import asyncio
import logging

from outdial.telephony.sip.dialog import Dialog
from outdial.telephony.sip.env import CallEnv, is_ip, resolve
from outdial.telephony.sip.media import RtpStream
from outdial.telephony.sip.message import SipMessage, response_to
from outdial.telephony.sip.sdp import PCMU, MediaDescription, parse_answer
from outdial.telephony.sip.transaction import InviteClientTransaction, NonInviteClientTransaction
from outdial.telephony.sip.transport import Addr
from outdial.telephony.sip.uri import tag_of

log = logging.getLogger("outdial.telephony.sip.call")
_OK_METHODS = frozenset({"OPTIONS", "INFO", "UPDATE", "NOTIFY", "PRACK", "CANCEL"})


class InDialog:
    stream: RtpStream
    invite: SipMessage
    tx: InviteClientTransaction | None
    local_tag: str

    def __init__(self, env: CallEnv, *, label: str, sip_call_id: str, via: str) -> None:
        self.env = env
        self.label = label
        self.sip_call_id = sip_call_id
        self.via = via
        self.dialog: Dialog | None = None
        self.remote_bye: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._ack: tuple[bytes, Addr] | None = None
        self._answers: dict[tuple[int, str], SipMessage] = {}

    @property
    def contact(self) -> str:
        return f"<sip:outdial@{self.via}>"

    async def _next_hop(self) -> Addr:
        assert self.dialog is not None
        return await resolve(*self.dialog.next_hop()[2].address)

    async def send_ack_2xx(self) -> None:
        assert self.dialog is not None
        addr = await self._next_hop()
        data = self.dialog.ack(self.via).to_bytes()
        self._ack = (data, addr)
        self.env.transport.send(data, addr)
        if self.tx is not None:
            self.tx.ack_2xx = self._ack  # the transaction re-sends it on a retransmitted 2xx

    async def hang_up(self) -> SipMessage | None:
        """BYE; the final response, or None if timer F fired."""
        assert self.dialog is not None
        bye = self.dialog.request("BYE", self.via)
        bye.add("User-Agent", self.env.user_agent)
        log.info("call %s: BYE", self.label)
        tx = NonInviteClientTransaction(
            self.env.transport, bye, await self._next_hop(), self.env.timers
        )
        reply = await tx.run()
        if reply is None:
            log.warning("call %s: BYE not answered (timer F)", self.label)
        return reply

    def use_media(self, media: MediaDescription | None) -> None:
        if media is None:
            log.warning("call %s: no usable audio in the SDP; audio is not sent", self.label)
            self.stream.set_remote(None, PCMU)
        elif not media.wants_audio or not is_ip(media.host):
            log.info(
                "call %s: far end takes no audio (%s %s:%d)",
                self.label,
                media.direction,
                media.host,
                media.port,
            )
            self.stream.set_remote(None, media.payload_type)
        else:
            self.stream.set_remote((media.host, media.port), media.payload_type)

    def on_dialog_message(self, msg: SipMessage, addr: Addr) -> None:
        """Datagrams with our Call-ID that no transaction took."""
        if not msg.is_request:
            if 200 <= msg.status < 300 and self._ack is not None:
                self.env.transport.send(*self._ack)  # a late 2xx retransmission
            return
        if msg.method == "ACK":
            return
        if self.dialog is None or tag_of(msg.get("To")) != self.local_tag:
            self.env.transport.send(response_to(msg, 481, "Call/Transaction Does Not Exist"), addr)
            return
        key = msg.cseq
        if key in self._answers:  # a retransmitted request: same answer again
            self.env.transport.send(self._answers[key], addr)
            return
        if msg.method == "BYE":
            log.info("call %s: the far end hung up (BYE)", self.label)
            resp = response_to(msg, 200, "OK")
            if not self.remote_bye.done():
                self.remote_bye.set_result(None)
        elif msg.method == "INVITE":
            log.info("call %s: re-INVITE, answering with our SDP", self.label)
            if msg.body:
                self.use_media(parse_answer(msg.body))
            resp = response_to(msg, 200, "OK", body=self.invite.body)
            resp.add("Contact", self.contact)
            resp.add("Content-Type", "application/sdp")
        elif msg.method in _OK_METHODS:
            resp = response_to(msg, 200, "OK")
        else:
            resp = response_to(msg, 501, "Not Implemented")
        self._answers[key] = resp
        self.env.transport.send(resp, addr)
