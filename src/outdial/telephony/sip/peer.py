"""A small answering UAS that follows the test number plan (SPEC 5), for the demo and tests.

By the request-URI user: 486/480/603/503 numbers get 100 Trying then that final response;
408 numbers ring (180) until CANCEL (200 to the CANCEL, 487 to the INVITE); anything else rings
for `ring_ms`, answers 200 OK with SDP and counts the RTP it receives until the caller's BYE.
Final responses are retransmitted (timer G) until the ACK arrives. Usable as the trunk and as a
`sip` host at once.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass, field

from outdial.domain.numberplan import FarEnd, behaviour_for
from outdial.telephony.sip.dialog import new_branch, new_tag
from outdial.telephony.sip.hop import Hop
from outdial.telephony.sip.media import MediaClock, RtpStream
from outdial.telephony.sip.message import SipMessage, response_to
from outdial.telephony.sip.sdp import PCMA, PCMU
from outdial.telephony.sip.transaction import NonInviteClientTransaction, Timers
from outdial.telephony.sip.transport import Addr, SipTransport
from outdial.telephony.sip.uri import NameAddr, SipUri, format_host

log = logging.getLogger("outdial.telephony.sip.peer")
_REASONS = {180: "Ringing", 200: "OK", 480: "Temporarily Unavailable", 486: "Busy Here",
            487: "Request Terminated", 503: "Service Unavailable", 603: "Decline"}  # fmt: skip


@dataclass(slots=True)
class PeerCall:
    """What the peer saw of one call (exposed for tests)."""

    call_id: str
    user: str
    to_tag: str = field(default_factory=new_tag)
    final_code: int | None = None
    acked: bool = False
    cancelled: bool = False
    bye_received: bool = False
    invites: int = 0  # INVITEs received, retransmissions included
    rtp_packets: int = 0
    invite: SipMessage | None = None
    source: Addr = field(default_factory=lambda: Hop("", 0))
    last_response: SipMessage | None = None
    stream: RtpStream | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class SipAnsweringPeer:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, ring_ms: int = 200,
        t1_ms: int = 500, hangup_after_ms: int | None = None, tls: ssl.SSLContext | None = None,
    ) -> None:  # fmt: skip
        self.host = host
        self.bind_port = port
        self.ring_ms = ring_ms
        self.hangup_after_ms = hangup_after_ms
        self.timers = Timers(t1=t1_ms / 1000)
        self.transport = SipTransport()
        self.clock = MediaClock()
        self.calls: dict[str, PeerCall] = {}
        self.tls = tls
        self.tls_port = 0  # with `tls`: where it accepts TLS
        self._handles: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[object]] = set()

    @property
    def port(self) -> int:
        return self.transport.local[1]

    @property
    def address(self) -> str:
        return f"{format_host(self.host)}:{self.port}"

    def rtp_packets(self) -> dict[str, int]:
        return {cid: c.stream.received_packets if c.stream else c.rtp_packets
                for cid, c in self.calls.items()}  # fmt: skip

    async def start(self) -> None:
        await self.transport.open(self.host, self.bind_port)
        if self.tls is not None:
            self.tls_port = await self.transport.pool.listen_tls(self.host, 0, self.tls)
        self.transport.request_handler = self._on_request
        log.info("answering peer on %s", self.address)

    async def stop(self) -> None:
        for handle in self._handles:
            handle.cancel()
        for task in list(self._tasks):
            task.cancel()
        for call in self.calls.values():
            self._close_media(call)
        await self.transport.aclose()
        await self.clock.close()

    def _later(self, delay: float, fn: object, *args: object) -> None:
        loop = asyncio.get_running_loop()
        if len(self._handles) > 1000:  # forget the ones that already ran
            self._handles = {h for h in self._handles if h.when() > loop.time()}
        handle = loop.call_later(delay, fn, *args)  # type: ignore[arg-type]
        self._handles.add(handle)

    def _close_media(self, call: PeerCall) -> None:
        if call.stream is not None:
            call.rtp_packets = call.stream.received_packets
            call.stream.close()
            call.stream = None

    def _respond(self, call: PeerCall, code: int, body: bytes = b"") -> None:
        assert call.invite is not None
        resp = response_to(
            call.invite,
            code,
            _REASONS.get(code, "Response"),
            to_tag=call.to_tag if code > 100 else "",
            body=body,
        )
        if code >= 180:
            resp.add("Contact", self._contact(call.source))
        if body:
            resp.add("Content-Type", "application/sdp")
        call.last_response = resp
        self.transport.send(resp, call.source)
        if code >= 200:
            call.final_code = code
            self._later(self.timers.t1, self._retransmit, call, resp, self.timers.t1, 0.0)

    def _contact(self, source: Hop) -> str:
        if source.transport == "TLS":
            return f"<sip:peer@{format_host(self.host)}:{self.tls_port};transport=tls>"
        if source.transport == "TCP":
            return f"<sip:peer@{self.address};transport=tcp>"
        return f"<sip:peer@{self.address}>"

    def _retransmit(self, call: PeerCall, resp: SipMessage, interval: float, spent: float) -> None:
        """Timer G: repeat the final response until ACK, giving up after 64*T1 (timer H)."""
        spent += interval
        if call.source.reliable:
            return  # no retransmission over TCP or TLS
        if call.acked or spent >= self.timers.b or not self.transport.is_open:
            return
        self.transport.send(resp, call.source)
        nxt = min(2 * interval, self.timers.t2)
        self._later(nxt, self._retransmit, call, resp, nxt, spent)

    def _on_request(self, msg: SipMessage, addr: Addr) -> None:
        call = self.calls.get(msg.call_id)
        if msg.method == "INVITE" and (call is None or call.invite is None):
            self._new_call(msg, addr)
        elif call is None:
            if msg.method != "ACK":
                self.transport.send(response_to(msg, 481, "Call/Transaction Does Not Exist"), addr)
        elif msg.method == "INVITE":
            call.invites += 1
            if call.invite and msg.cseq == call.invite.cseq and call.last_response is not None:
                self.transport.send(call.last_response, addr)  # a retransmitted INVITE
            else:  # a re-INVITE: keep the media as it is
                self.transport.send(response_to(msg, 200, "OK", body=self._sdp(call, msg)), addr)
        elif msg.method == "ACK":
            call.acked = True
            if call.final_code == 200 and self.hangup_after_ms is not None:
                self._later(self.hangup_after_ms / 1000, self._hang_up, call)
            if call.final_code != 200:
                call.done.set()
        elif msg.method == "CANCEL":
            self.transport.send(response_to(msg, 200, "OK"), addr)
            if call.final_code is None:
                call.cancelled = True
                self._respond(call, 487)
        elif msg.method == "BYE":
            call.bye_received = True
            self._close_media(call)
            self.transport.send(response_to(msg, 200, "OK"), addr)
            call.done.set()
        else:
            self.transport.send(response_to(msg, 200, "OK"), addr)

    def _new_call(self, msg: SipMessage, addr: Addr) -> None:
        try:
            user = SipUri.parse(msg.uri).user
        except ValueError:
            user = ""
        call = PeerCall(msg.call_id, user, invite=msg, source=addr, invites=1)
        self.calls[msg.call_id] = call
        behaviour = behaviour_for(user)
        log.debug("peer: INVITE %s from %s: %s", msg.uri, addr, behaviour.far_end.value)
        self._respond(call, 100)
        if behaviour.sip_code is not None:
            self._respond(call, behaviour.sip_code)
        elif behaviour.far_end is FarEnd.NEVER_ANSWER:
            self._respond(call, 180)
        else:
            self._respond(call, 180)
            self._later(self.ring_ms / 1000, self._answer, call)

    def _answer(self, call: PeerCall) -> None:
        if call.final_code is not None or not self.transport.is_open or call.invite is None:
            return
        call.stream = RtpStream(self.clock, self.host, label=f"peer {call.call_id}")
        self._respond(call, 200, self._sdp(call, call.invite))

    def _sdp(self, call: PeerCall, offer: SipMessage) -> bytes:
        text = offer.body.decode(errors="replace")
        codec = PCMA if "RTP/AVP 8" in text and "RTP/AVP 0" not in text else PCMU
        port = call.stream.port if call.stream else 0
        family = "IP6" if ":" in self.host else "IP4"
        name = "PCMA" if codec == PCMA else "PCMU"
        return (f"v=0\r\no=peer 1 1 IN {family} {self.host}\r\ns=peer\r\n"
                f"c=IN {family} {self.host}\r\nt=0 0\r\nm=audio {port} RTP/AVP {codec}\r\n"
                f"a=rtpmap:{codec} {name}/8000\r\na=sendrecv\r\n").encode()  # fmt: skip

    def _hang_up(self, call: PeerCall) -> None:
        """Send BYE as the far end (used to test a far-end hang-up)."""
        if call.bye_received or call.invite is None or not self.transport.is_open:
            return
        inv = call.invite
        contact = NameAddr.parse((inv.get_all("Contact") or [inv.get("From") or ""])[0]).uri
        bye = SipMessage(method="BYE", uri=contact)
        bye.add("Via", f"SIP/2.0/{call.source.transport} {self.address};branch={new_branch()}")
        for route in inv.get_all("Record-Route"):
            bye.add("Route", route)
        bye.add("Max-Forwards", "70")
        bye.add("From", (call.last_response and call.last_response.get("To")) or "")
        bye.add("To", inv.get("From") or "")
        bye.add("Call-ID", call.call_id)
        bye.add("CSeq", "1 BYE")
        self._close_media(call)
        tx = NonInviteClientTransaction(self.transport, bye, call.source, self.timers)
        task = asyncio.get_running_loop().create_task(tx.run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        call.done.set()
