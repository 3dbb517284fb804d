"""The answered part of an outbound call: ACK for the 2xx, BYE, media; the far end's in-dialog
requests (BYE, re-INVITE, UPDATE, OPTIONS, ...) are answered by `IncomingRequests`.

A forking proxy may answer one INVITE with 2xx responses from several far ends (different To
tags). The first makes the call's dialog; every other one is ACKed and at once hung up with a
BYE of its own (RFC 3261 13.2.2.4), so no second phone is left off the hook in silence."""

from __future__ import annotations

import asyncio
import logging

from outdial.domain.netpolicy import BlockedAddress
from outdial.telephony.sip.auth import CallCredentials
from outdial.telephony.sip.dialog import Dialog
from outdial.telephony.sip.env import CallEnv, DialTarget, is_ip, resolve
from outdial.telephony.sip.hop import Hop
from outdial.telephony.sip.incoming import IncomingRequests
from outdial.telephony.sip.media import RtpStream
from outdial.telephony.sip.message import SipMessage
from outdial.telephony.sip.sdp import PCMU, MediaDescription
from outdial.telephony.sip.transaction import InviteClientTransaction, NonInviteClientTransaction
from outdial.telephony.sip.transport import Addr
from outdial.telephony.sip.uri import tag_of

log = logging.getLogger("outdial.telephony.sip.call")
_LINGERING: set[asyncio.Task[None]] = set()  # hang-ups of forked answers still under way


class InDialog(IncomingRequests):
    stream: RtpStream
    target: DialTarget
    credentials: CallCredentials
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
        self._init_incoming()
        self._forks: dict[str, tuple[bytes, Addr] | None] = {}  # To tag -> its ACK, once sent

    @property
    def contact(self) -> str:
        return f"<{self.target.contact_uri}>"

    async def _next_hop(self, dialog: Dialog | None = None) -> Hop:
        """Where an in-dialog request goes (RFC 3261 12.2.1.1; the outbound proxy when the
        route set is empty). A call that is not to the trunk never follows a Contact or
        Record-Route the network policy refuses: it sends where the INVITE went."""
        dialog = dialog or self.dialog
        assert dialog is not None
        if not dialog.route_set and self.target.routes:
            return self.target.addr
        uri = dialog.next_hop()[2]
        host, port = uri.address
        first = self.target.addr
        if uri.transport == "UDP" and first.reliable and (host, port) == first.addr:
            return first  # a Contact without ;transport= on the connection the INVITE used
        if self.target.to_trunk:
            return await resolve(host, port, uri.transport)
        try:
            hops, _ = await self.env.route(host, port, uri.transport)
            return hops[0]
        except BlockedAddress as exc:
            log.warning("call %s: in-dialog next hop refused (%s)", self.label, exc)
            return self.target.addr

    async def send_ack_2xx(self) -> None:
        assert self.dialog is not None
        addr = await self._next_hop()
        data = self.dialog.ack(self.via, addr.transport).to_bytes()
        self._ack = (data, addr)
        self.env.transport.send(data, addr)

    def on_late_2xx(self, msg: SipMessage) -> None:
        """A 2xx after the one that made the dialog: a retransmission is ACKed again; one from
        another fork is ACKed and hung up (once; its retransmissions get the same ACK)."""
        assert self.dialog is not None
        tag = tag_of(msg.get("To"))
        if tag == tag_of(self.dialog.remote):
            if self._ack is not None:  # else the first ACK is on its way
                self.env.transport.send(*self._ack)
            return
        if tag in self._forks:
            sent = self._forks[tag]
            if sent is not None:
                self.env.transport.send(*sent)
            return
        self._forks[tag] = None
        log.info(
            "call %s: a second far end answered (forked, tag %s): hanging it up", self.label, tag
        )
        fork = Dialog.from_2xx(self.invite, msg)
        task = asyncio.get_running_loop().create_task(self._end_fork(tag, fork))
        _LINGERING.add(task)  # outlives the call if need be: bounded by timer F
        task.add_done_callback(_LINGERING.discard)

    async def _end_fork(self, tag: str, fork: Dialog) -> None:
        try:
            addr = await self._next_hop(fork)
            ack = fork.ack(self.via, addr.transport).to_bytes()
            self._forks[tag] = (ack, addr)
            self.env.transport.send(ack, addr)
            bye = fork.request("BYE", self.via, transport=addr.transport)
            bye.add("User-Agent", self.env.user_agent)
            tx = NonInviteClientTransaction(self.env.transport, bye, addr, self.env.timers)
            if await tx.run() is None:
                log.warning("call %s: BYE to the forked answer not answered", self.label)
        except OSError as exc:
            log.warning("call %s: could not hang up the forked answer: %s", self.label, exc)

    async def hang_up(self) -> SipMessage | None:
        """BYE; the final response, or None if timer F fired. A challenge from the trunk (a
        proxy that authenticates in-dialog requests too) is answered once per realm."""
        assert self.dialog is not None
        hop = await self._next_hop()
        log.info("call %s: BYE", self.label)
        auth: list[tuple[str, str]] = []
        for _ in range(3):
            bye = self.dialog.request("BYE", self.via, transport=hop.transport)
            bye.add("User-Agent", self.env.user_agent)
            for header in auth:
                bye.add(*header)
            tx = NonInviteClientTransaction(self.env.transport, bye, hop, self.env.timers)
            reply = await tx.run()
            if reply is None:
                log.warning("call %s: BYE not answered (timer F)", self.label)
                return None
            if reply.status not in (401, 407):
                return reply
            problem = self.credentials.on_challenge(
                reply, to_trunk=self.target.to_trunk, where=str(hop)
            )
            if problem is not None:
                log.warning("call %s: BYE challenged: %s", self.label, problem)
                return reply
            auth = self.credentials.headers("BYE", bye.uri)
        return None

    def use_media(self, media: MediaDescription | None) -> None:
        if media is None:
            log.warning("call %s: no usable audio in the SDP; audio is not sent", self.label)
            self.stream.set_remote(None, self.stream.payload_type or PCMU)
        elif not self.target.to_trunk and not self.env.media_allowed(media.host, media.port):
            log.warning("call %s: media address %s refused by the network policy", self.label,
                        media.host)  # fmt: skip
            self.stream.set_remote(None, media.payload_type, media.ptime)
        elif not media.wants_audio or not is_ip(media.host):
            log.info(
                "call %s: far end takes no audio (%s %s:%d)",
                self.label,
                media.direction,
                media.host,
                media.port,
            )
            self.stream.set_remote(None, media.payload_type, media.ptime)
        else:
            self.stream.set_remote((media.host, media.port), media.payload_type, media.ptime)
