"""RFC 4733 telephone-events out: the packets a sender emits for a key press.

`digit_packets` / `digits_packets` return them with the offset (ms after the first digit
starts) at which to send each, so the media clock can schedule them; the caller adds the
sequence numbers and SSRC of its RTP stream and sends no audio during the press. Per press:
an update every `interval_ms` (20, the audio's packet time) with the duration so far, the
first with the marker bit; then the final packet (E bit, full duration) three times,
`interval_ms` apart (RFC 4733 2.5.1.4). All carry the press's start timestamp; a press longer
than 0xFFFF units (8.19 s at 8 kHz) is cut into segments (2.5.1.3).
"""

from __future__ import annotations

from dataclasses import dataclass

from outdial.telephony.listen.events import code_for_digit
from outdial.telephony.listen.rfc4733 import MAX_DURATION, EventBlock


@dataclass(frozen=True, slots=True)
class EventPacket:
    offset_ms: int  # when to send it, after the first digit's start
    timestamp: int  # RTP timestamp (mod 2**32)
    marker: bool
    end: bool
    payload: bytes


def digit_packets(
    digit: str,
    *,
    timestamp: int,
    duration_ms: int = 100,
    volume: int = 10,
    interval_ms: int = 20,
    rate: int = 8000,
    offset_ms: int = 0,
) -> list[EventPacket]:
    """The packets for one key press starting at RTP `timestamp`: an update every
    `interval_ms` (the first with the marker bit), then the final packet three times,
    `interval_ms` apart (RFC 4733 2.5.1.4), all with the full duration."""
    code = code_for_digit(digit)
    if not 0 <= volume <= 63:
        raise ValueError("volume is 0..63 (-dBm0)")
    if duration_ms < interval_ms or interval_ms <= 0:
        raise ValueError("duration_ms must be at least one interval_ms")
    total = duration_ms * rate // 1000
    step = interval_ms * rate // 1000
    packets: list[EventPacket] = []
    segment = 0  # where the current segment began (units after the start)
    elapsed = step
    marker = True
    while elapsed < total:
        sent_at = offset_ms + (elapsed - step) * 1000 // rate
        if elapsed - segment > MAX_DURATION:  # close this segment, open the next one
            packets.append(
                _packet(code, timestamp + segment, MAX_DURATION, False, volume, sent_at, marker)
            )
            segment += MAX_DURATION
            marker = False
            continue
        packets.append(
            _packet(code, timestamp + segment, elapsed - segment, False, volume, sent_at, marker)
        )
        marker = False
        elapsed += step
    last = offset_ms + (elapsed - step) * 1000 // rate
    for repeat in range(3):
        packets.append(_packet(code, timestamp + segment, total - segment, True, volume,
                               last + repeat * interval_ms, marker and repeat == 0))  # fmt: skip
    return packets


def digits_packets(
    digits: str,
    *,
    timestamp: int,
    duration_ms: int = 100,
    gap_ms: int = 100,
    volume: int = 10,
    interval_ms: int = 20,
    rate: int = 8000,
) -> list[EventPacket]:
    """Packets for a string of digits, one every `duration_ms + gap_ms`, in sending order."""
    packets: list[EventPacket] = []
    for i, digit in enumerate(digits):
        start = i * (duration_ms + gap_ms)
        packets.extend(
            digit_packets(
                digit,
                timestamp=timestamp + start * rate // 1000,
                duration_ms=duration_ms,
                volume=volume,
                interval_ms=interval_ms,
                rate=rate,
                offset_ms=start,
            )
        )
    return sorted(packets, key=lambda p: p.offset_ms)


def _packet(
    code: int, timestamp: int, duration: int, end: bool, volume: int, offset: int, marker: bool
) -> EventPacket:
    block = EventBlock(code, end, volume, duration)
    return EventPacket(offset, timestamp & 0xFFFFFFFF, marker, end, block.pack())
