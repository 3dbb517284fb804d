"""RTP (RFC 3550) packets for G.711 audio: 20 ms frames of 160 samples at 8 kHz."""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass

SAMPLES_PER_PACKET = 160  # 20 ms at 8000 Hz; one byte per sample in G.711
PACKET_SECONDS = 0.02
_HEADER = struct.Struct("!BBHII")


@dataclass(frozen=True, slots=True)
class RtpPacket:
    version: int
    marker: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        if len(data) < _HEADER.size:
            raise ValueError("RTP packet shorter than its header")
        first, second, seq, ts, ssrc = _HEADER.unpack_from(data)
        offset = _HEADER.size + 4 * (first & 0x0F)  # CSRC list
        if first & 0x10 and len(data) >= offset + 4:  # header extension
            offset += 4 + 4 * struct.unpack_from("!H", data, offset + 2)[0]
        end = len(data)
        if first & 0x20 and data:  # padding
            end -= data[-1]
        return cls(first >> 6, bool(second & 0x80), second & 0x7F, seq, ts, ssrc, data[offset:end])


class RtpPacketizer:
    """Numbers the packets of one stream: random SSRC, sequence and timestamp start (RFC 3550
    5.1), +1 sequence and +samples timestamp per packet, marker on the first packet."""

    def __init__(
        self,
        payload_type: int,
        *,
        ssrc: int | None = None,
        sequence: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        self.payload_type = payload_type
        self.ssrc = ssrc if ssrc is not None else secrets.randbits(32)
        self.sequence = sequence if sequence is not None else secrets.randbits(16)
        self.timestamp = timestamp if timestamp is not None else secrets.randbits(32)
        self._marker = True
        self.packets = 0

    def skip(self, samples: int) -> None:
        """Advance the clock over a pause in sending; the next packet starts a talkspurt."""
        self.timestamp = (self.timestamp + samples) & 0xFFFFFFFF
        self._marker = True

    def mark(self) -> None:
        """The next packet starts a talkspurt (marker bit, RFC 3551 4.1)."""
        self._marker = True

    def pack_into(self, buffer: bytearray, timestamp: int) -> None:
        """Write the next packet's header into `buffer`, whose bytes after it are the payload
        (a reused send buffer: no joins). The media clock inlines the same steps."""
        self.timestamp = timestamp = timestamp & 0xFFFFFFFF
        second = self.payload_type | (0x80 if self._marker else 0)
        _HEADER.pack_into(buffer, 0, 0x80, second, self.sequence, timestamp, self.ssrc)
        self._marker = False
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.timestamp = (timestamp + len(buffer) - _HEADER.size) & 0xFFFFFFFF
        self.packets += 1

    def packet(self, payload: bytes, timestamp: int | None = None) -> bytes:
        """The next packet; `timestamp` (samples from the start value) when the sender paces
        by the sampling clock, else the previous one plus the previous payload."""
        if timestamp is not None:
            self.timestamp = timestamp & 0xFFFFFFFF
        second = self.payload_type | (0x80 if self._marker else 0)
        header = _HEADER.pack(0x80, second, self.sequence, self.timestamp, self.ssrc)
        self._marker = False
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.timestamp = (self.timestamp + len(payload)) & 0xFFFFFFFF
        self.packets += 1
        return header + payload
