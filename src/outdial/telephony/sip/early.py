"""Provisional responses: reliable ones PRACKed (RFC 3262) and early media.

outdial's INVITE says `Supported: 100rel`. A 1xx with `Require: 100rel` and an RSeq is
acknowledged with a PRACK in its early dialog (RAck: RSeq, CSeq, INVITE), once per RSeq and in
order; a retransmission is not PRACKed again and one out of order is ignored (RFC 3262 4).
The SDP answer in a provisional response (a reliable 183 above all) starts early media: the
far end's address and codec are taken at once, its RTP is received, and a 2xx without SDP
keeps that answer (RFC 3264: the answer was given).
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING

from outdial.telephony.sip.dialog import Dialog
from outdial.telephony.sip.env import CallEnv, DialTarget
from outdial.telephony.sip.hop import Hop
from outdial.telephony.sip.message import SipMessage
from outdial.telephony.sip.sdp import MediaDescription, answer_media
from outdial.telephony.sip.transaction import NonInviteClientTransaction
from outdial.telephony.sip.uri import tag_of

log = logging.getLogger("outdial.telephony.sip.call")


class EarlyDialogs:
    env: CallEnv
    label: str
    via: str
    invite: SipMessage
    target: DialTarget

    if TYPE_CHECKING:  # provided by the call these are mixed into

        def use_media(self, media: MediaDescription | None) -> None: ...

        async def _next_hop(self, dialog: Dialog | None = None) -> Hop:
            raise NotImplementedError

        def _spawn(self, coro: Coroutine[object, object, object]) -> None: ...

    def _init_early(self) -> None:
        self.early_media: MediaDescription | None = None
        self.early_reliable = False  # the early answer came in a reliable provisional
        self._rseq: dict[str, int] = {}  # To tag -> last RSeq PRACKed
        self.pracks = 0
        self.last_cseq = 0  # the highest CSeq used in the early dialogs (PRACK)

    def on_provisional(self, msg: SipMessage) -> None:
        """A 1xx to the current INVITE: PRACK it if reliable, take its SDP answer."""
        if msg.status == 100:
            return
        reliable = "100rel" in {v.lower() for v in msg.get_all("Require")}
        rseq_text = (msg.get("RSeq") or "").strip()
        if reliable and rseq_text.isdigit():
            tag = tag_of(msg.get("To"))
            rseq = int(rseq_text)
            last = self._rseq.get(tag)
            if last is not None and rseq != last + 1:
                return  # a retransmission (or out of order): not PRACKed, not processed
            self._rseq[tag] = rseq
            self._spawn(self._prack(msg, rseq))
        if msg.body.strip() and (reliable or self.early_media is None):
            media = answer_media(msg.body)
            if isinstance(media, MediaDescription):
                log.info("call %s: early media from the %d", self.label, msg.status)
                self.early_media, self.early_reliable = media, reliable
                self.use_media(media)

    async def _prack(self, provisional: SipMessage, rseq: int) -> None:
        early = Dialog.from_2xx(self.invite, provisional)
        early.local_cseq = max(early.local_cseq, self.last_cseq)
        try:
            hop = await self._next_hop(early)
        except OSError as exc:
            log.warning("call %s: cannot send PRACK: %s", self.label, exc)
            return
        prack = early.request("PRACK", self.via, transport=hop.transport)
        self.last_cseq = prack.cseq[0]
        invite_cseq = self.invite.cseq[0]
        prack.add("RAck", f"{rseq} {invite_cseq} INVITE")
        prack.add("User-Agent", self.env.user_agent)
        self.pracks += 1
        tx = NonInviteClientTransaction(self.env.transport, prack, hop, self.env.timers)
        reply = await tx.run()
        if reply is None or reply.status >= 300:
            log.warning("call %s: PRACK not accepted (%s)", self.label,
                        reply.status if reply else "no answer")  # fmt: skip
