"""A small answering UAS that follows the test number plan (SPEC 5), for the demo and tests.

By the request-URI user: 486/480/603/503 numbers get 100 Trying then that final response;
408 numbers ring (180) until CANCEL (200 to the CANCEL, 487 to the INVITE); anything else rings
for `ring_ms`, answers 200 OK with SDP and counts the RTP it receives until the caller's BYE.
Answered, the listening numbers talk back with real audio (`farend.FarEndVoice`): 777 an
answering machine (greeting 4-8 s, 1 kHz beep 0.5 s, silence), 778 a person ("Hello?"), 779
silence, 776 a person who presses the number's 4th digit as RFC 4733 events 2 s after the
answer. The keys the caller sends (RFC 4733) are collected per call.
Final responses are retransmitted (timer G) until the ACK arrives. Usable as the trunk and as a
`sip` host at once.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Coroutine
from dataclasses import dataclass, field

from outdial.domain.numberplan import FarEnd, behaviour_for, listening_for
from outdial.telephony.listen import DigitEvent, RtpReceiver
from outdial.telephony.listen.rfc4733_send import digits_packets
from outdial.telephony.sip.dialog import new_branch, new_tag
from outdial.telephony.sip.farend import FarEndVoice
from outdial.telephony.sip.hop import Hop
from outdial.telephony.sip.media import MediaClock, RtpStream
from outdial.telephony.sip.message import SipMessage, response_to
from outdial.telephony.sip.rtp import RtpPacket
from outdial.telephony.sip.sdp import PCMA, PCMU, TELEPHONE_EVENT, SdpError, parse_sdp
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
    codec: int = PCMU
    keys_heard: list[DigitEvent] = field(default_factory=list)  # the caller's RFC 4733 keys
    event_packets: list[RtpPacket] = field(default_factory=list)  # as received
    receiver: RtpReceiver | None = None
    talking: bool = False  # the far end's audio was started
    cseq: int = 0  # of the requests the peer sends in the dialog
    acked_at: float | None = None  # loop time of the ACK to the 200
    first_rtp_at: float | None = None  # loop time of the caller's first audio packet


class SipAnsweringPeer:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, ring_ms: int = 200,
        t1_ms: int = 500, hangup_after_ms: int | None = None, tls: ssl.SSLContext | None = None,
        voice: FarEndVoice | None = None,
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
        self.voice = voice or FarEndVoice()

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
        await self.voice.prepare()
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
            if call.final_code == 200 and call.acked_at is None:
                call.acked_at = asyncio.get_running_loop().time()
            if call.final_code == 200 and not call.talking:
                call.talking = True
                self._spawn(self._talk(call))
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
        stream = RtpStream(self.clock, self.host, label=f"peer {call.call_id}")
        call.stream = stream
        call.receiver = RtpReceiver()
        stream.on_packet = lambda data: self._heard(call, data)
        sdp = self._sdp(call, call.invite)
        try:
            offer = parse_sdp(call.invite.body)
            audio = next(line for line in offer.lines if line.media == "audio")
            if audio.port and audio.host:
                stream.set_remote((audio.host, audio.port), call.codec)
        except (SdpError, StopIteration, ValueError):
            log.debug("peer: no usable audio in the offer of %s", call.call_id)
        self._respond(call, 200, sdp)

    def _heard(self, call: PeerCall, data: bytes) -> None:
        if len(data) < 12 or (data[1] & 0x7F) != TELEPHONE_EVENT:  # audio: only its time
            if call.first_rtp_at is None:
                call.first_rtp_at = asyncio.get_running_loop().time()
            return
        try:
            packet = RtpPacket.parse(data)
        except ValueError:
            return
        call.event_packets.append(packet)
        if call.receiver is not None:
            call.keys_heard.extend(call.receiver.push(packet))

    def _spawn(self, coro: Coroutine[object, object, object]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _talk(self, call: PeerCall) -> None:
        """The far end's side of a listening number: its audio, and 776's key press."""
        stream = call.stream
        if stream is None:
            return
        plan = listening_for(call.user)
        if plan.key:
            self._spawn(self._press(call, plan.key, plan.key_after_ms))
        audio = await self.voice.encoded(call.user, call.codec)
        if audio is not None and call.stream is stream:
            await stream.play(audio, call.codec)

    async def _press(self, call: PeerCall, key: str, after_ms: int) -> None:
        await asyncio.sleep(after_ms / 1000)
        stream = call.stream
        if stream is None:
            return
        packets = digits_packets(key, timestamp=stream.media_timestamp(), duration_ms=120)
        await stream.send_events(packets, TELEPHONE_EVENT)

    def send_info(self, call_id: str, content_type: str, body: bytes) -> None:
        """An INFO to the caller in the call's dialog (a key press by SIP INFO)."""
        call = self.calls[call_id]
        self._in_dialog(call, "INFO", content_type, body)

    def _sdp(self, call: PeerCall, offer: SipMessage) -> bytes:
        text = offer.body.decode(errors="replace")
        codec = PCMA if "RTP/AVP 8" in text and "RTP/AVP 0" not in text else PCMU
        port = call.stream.port if call.stream else 0
        family = "IP6" if ":" in self.host else "IP4"
        name = "PCMA" if codec == PCMA else "PCMU"
        call.codec = codec
        event = f"a=rtpmap:{TELEPHONE_EVENT} telephone-event/8000" in text
        formats = f"{codec} {TELEPHONE_EVENT}" if event else f"{codec}"
        extra = (f"a=rtpmap:{TELEPHONE_EVENT} telephone-event/8000\r\n"
                 f"a=fmtp:{TELEPHONE_EVENT} 0-15\r\n") if event else ""  # fmt: skip
        return (f"v=0\r\no=peer 1 1 IN {family} {self.host}\r\ns=peer\r\n"
                f"c=IN {family} {self.host}\r\nt=0 0\r\nm=audio {port} RTP/AVP {formats}\r\n"
                f"a=rtpmap:{codec} {name}/8000\r\n{extra}a=sendrecv\r\n").encode()  # fmt: skip

    def _hang_up(self, call: PeerCall) -> None:
        """Send BYE as the far end (used to test a far-end hang-up)."""
        if call.bye_received or call.invite is None or not self.transport.is_open:
            return
        self._close_media(call)
        self._in_dialog(call, "BYE")
        call.done.set()

    def _in_dialog(
        self, call: PeerCall, method: str, content_type: str = "", body: bytes = b""
    ) -> None:
        inv = call.invite
        if inv is None or not self.transport.is_open:
            return
        contact = NameAddr.parse((inv.get_all("Contact") or [inv.get("From") or ""])[0]).uri
        msg = SipMessage(method=method, uri=contact)
        msg.add("Via", f"SIP/2.0/{call.source.transport} {self.address};branch={new_branch()}")
        for route in inv.get_all("Record-Route"):
            msg.add("Route", route)
        msg.add("Max-Forwards", "70")
        msg.add("From", (call.last_response and call.last_response.get("To")) or "")
        msg.add("To", inv.get("From") or "")
        msg.add("Call-ID", call.call_id)
        call.cseq += 1
        msg.add("CSeq", f"{call.cseq} {method}")
        if content_type:
            msg.add("Content-Type", content_type)
            msg.body = body
        tx = NonInviteClientTransaction(self.transport, msg, call.source, self.timers)
        self._spawn(tx.run())
