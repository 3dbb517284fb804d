"""RTP relay between the two legs of a bridged call (outdial as a B2BUA, docs/telephony.md).

Each packet received on one leg's `RtpStream` is sent at once out of the other leg's stream
(no pacing, no jitter buffer: the sender paced it), re-numbered with that stream's SSRC and
sequence numbers and with its timestamp moved onto that stream's sampling clock, so each far
end sees one continuous stream from outdial before, during and after the bridge. G.711 audio
is transcoded when the legs negotiated different laws (PCMU <-> PCMA, a byte table lookup);
RFC 4733 telephone-events keep their payload and take the other leg's event payload type (they
are dropped toward a leg whose answer had no telephone-event). Other payload types (comfort
noise, ...) are not relayed. The packets received keep going to whatever listened before the
bridge (the callee's `CallEar`: opt-out key, recording), and audio sent to a leg is shown to its
stream's `on_sent` (the recording's other direction).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from outdial.telephony.sip.g711 import transcode_table
from outdial.telephony.sip.media import RtpStream
from outdial.telephony.sip.rtp import RtpPacket
from outdial.telephony.sip.sdp import PCMA, PCMU

_HEAD = struct.Struct("!BBHII")
_G711 = frozenset({PCMU, PCMA})
_MASK = 0xFFFFFFFF


@dataclass(slots=True)
class Direction:
    """One way of the relay: from `source`'s far end to `sink`'s far end."""

    sink: RtpStream
    in_event: int | None  # the telephone-event payload type the source leg sends
    out_event: int | None  # the one the sink leg takes (None: events are not relayed)
    ssrc: int = -1  # the sender's SSRC the timestamp offset was taken for
    offset: int = 0  # added to the sender's timestamps
    forwarded: int = 0
    dropped: int = 0
    transcoded: int = 0
    on_forward: Callable[[bytes], None] | None = None  # each datagram relayed (benchmarks)

    def relay(self, data: bytes) -> None:
        if len(data) < 12:
            self.dropped += 1
            return
        first, second, _, timestamp, ssrc = _HEAD.unpack_from(data)
        if first == 0x80:  # no padding, extension or CSRC: the usual packet
            payload = data[12:]
        elif first >> 6 == 2:
            try:
                payload = RtpPacket.parse(data).payload
            except ValueError:
                self.dropped += 1
                return
        else:
            self.dropped += 1
            return
        pt = second & 0x7F
        sink = self.sink
        if pt in _G711:
            out_pt = sink.payload_type
            if pt != out_pt:
                payload = payload.translate(transcode_table(pt, out_pt))
                self.transcoded += 1
        elif pt == self.in_event and self.out_event is not None:
            out_pt = self.out_event
        else:
            self.dropped += 1
            return
        marker = bool(second & 0x80)
        if ssrc != self.ssrc:  # the first packet, or the far end restarted its stream
            self.ssrc = ssrc
            self.offset = (sink.media_timestamp() - timestamp) & _MASK
            marker = True
        if sink.forward(payload, out_pt, (timestamp + self.offset) & _MASK, marker):
            self.forwarded += 1
            if self.on_forward is not None:
                self.on_forward(data)
        else:
            self.dropped += 1


class RtpRelay:
    """Relays both ways between `a` and `b` from `start()` to `stop()`; what listened to each
    stream before (`on_packet`) still gets every packet."""

    def __init__(
        self, a: RtpStream, a_event: int | None, b: RtpStream, b_event: int | None
    ) -> None:
        self.a, self.b = a, b
        self.a_to_b = Direction(b, a_event, b_event)
        self.b_to_a = Direction(a, b_event, a_event)
        self._saved: tuple[Callable[[bytes], None] | None, Callable[[bytes], None] | None] = (
            None,
            None,
        )
        self.running = False

    def start(self) -> None:
        if self.running:
            return
        self.running = True
        self._saved = (self.a.on_packet, self.b.on_packet)
        for stream in (self.a, self.b):
            stream.flush()  # whatever was playing on a leg stops
            stream.start_clock()
        self.a.on_packet = _chain(self._saved[0], self.a_to_b.relay)
        self.b.on_packet = _chain(self._saved[1], self.b_to_a.relay)

    def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        self.a.on_packet, self.b.on_packet = self._saved
        for stream in (self.a, self.b):
            if stream.packetizer is not None:
                stream.packetizer.mark()  # audio played after the bridge starts a talkspurt


def _chain(
    listener: Callable[[bytes], None] | None, relay: Callable[[bytes], None]
) -> Callable[[bytes], None]:
    """The relay first: the packet is on its way before the listener (jitter buffer, keys,
    recording) looks at it."""
    if listener is None:
        return relay

    def both(data: bytes) -> None:
        relay(data)
        listener(data)

    return both
