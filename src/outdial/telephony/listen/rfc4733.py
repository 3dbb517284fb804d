"""RFC 4733 telephone-events (DTMF in RTP): payload codec, a receiver and a sender's schedule.

Payload (section 2.3): event (8 bits) | E (1) | R (1) | volume (6, 0..63 meaning 0..-63
dBm0) | duration (16, in RTP clock units, 8 kHz for `telephone-event/8000`). A packet may
carry several 4-byte blocks (2.5.1.5). All packets of one event carry the RTP timestamp of its
start; the duration grows in each update; the first packet has the marker bit; the final
packet has E set and is sent three times (2.5.1.4). An event longer than 0xFFFF units (8.19 s)
is sent in segments, each starting where the previous one ended (2.5.1.3).

`TelephoneEventReceiver.feed` turns a stream of such packets into one `DigitEvent` per key
press, at its end: the redundant end packets are ignored, an event whose end packets were all
lost ends when the next event starts or when `expire` is told the stream's clock moved past
it, and segments of one long event are joined.

The sending side is `rfc4733_send.py`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from outdial.telephony.listen.events import DigitEvent, digit_for_code

_BLOCK = struct.Struct("!BBH")
MAX_DURATION = 0xFFFF
DEFAULT_PAYLOAD_TYPE = 101


@dataclass(frozen=True, slots=True)
class EventBlock:
    event: int
    end: bool
    volume: int  # 0..63: the level is -volume dBm0
    duration: int  # RTP clock units since the event (segment) began

    def pack(self) -> bytes:
        return _BLOCK.pack(
            self.event, (0x80 if self.end else 0) | (self.volume & 0x3F), self.duration
        )


def parse_payload(payload: bytes) -> list[EventBlock]:
    """Every 4-byte block of a telephone-event payload (ValueError if it is not one)."""
    if not payload or len(payload) % 4:
        raise ValueError("a telephone-event payload is a whole number of 4-byte blocks")
    return [
        EventBlock(event, bool(flags & 0x80), flags & 0x3F, duration)
        for event, flags, duration in _BLOCK.iter_unpack(payload)
    ]


@dataclass(slots=True)
class _Current:
    timestamp: int  # extended RTP timestamp of the (first segment's) start
    segment: int  # extended RTP timestamp of the current segment
    event: int
    volume: int
    before: int  # duration of the segments before the current one
    duration: int  # of the current segment


class TelephoneEventReceiver:
    """One SSRC's telephone-events; `start_ms` is counted from `origin` (an RTP timestamp:
    the first audio packet's, when the caller knows it; else the first event's)."""

    def __init__(self, *, rate: int = 8000, origin: int | None = None) -> None:
        self.rate = rate
        self._origin = origin
        self._ref: int | None = None  # last extended timestamp seen, for unwrapping
        self._current: _Current | None = None
        self._ended: dict[tuple[int, int], None] = {}  # (ext timestamp, event) already reported
        self.duplicates = 0
        self.other_events = 0  # ended events that are not keys (flash, tones of RFC 4734)

    def feed(self, timestamp: int, payload: bytes) -> list[DigitEvent]:
        """A telephone-event packet's RTP timestamp and payload; ValueError if malformed."""
        blocks = parse_payload(payload)
        ts = self._extend(timestamp)
        out: list[DigitEvent] = []
        for block in blocks:
            out.extend(self._block(ts, block))
        return out

    def expire(self, timestamp: int, *, after_ms: int = 250) -> list[DigitEvent]:
        """End an event whose last update is more than `after_ms` behind `timestamp` (the
        stream's clock, e.g. an audio packet's): all its end packets were lost."""
        cur = self._current
        if cur is None:
            return []
        now = self._extend(timestamp, move=False)
        if now - (cur.segment + cur.duration) > after_ms * self.rate // 1000:
            return _some(self._finish())
        return []

    def flush(self) -> list[DigitEvent]:
        """The event still open at the end of the call, if any."""
        return _some(self._finish()) if self._current is not None else []

    def _block(self, ts: int, block: EventBlock) -> list[DigitEvent]:
        out: list[DigitEvent] = []
        cur = self._current
        if (ts, block.event) in self._ended or (cur is not None and ts < cur.segment):
            self.duplicates += 1  # a repeated end packet, or a straggler of an older event
            return out
        if cur is not None and ts != cur.segment:
            if (
                block.event == cur.event
                and cur.duration >= MAX_DURATION
                and ts == cur.segment + MAX_DURATION
            ):  # the next segment of a long event
                cur.before += cur.duration
                cur.segment, cur.duration = ts, block.duration
            else:  # a new event: the open one lost all its end packets
                out += _some(self._finish())
                cur = None
        if cur is None:
            cur = self._current = _Current(ts, ts, block.event, block.volume, 0, block.duration)
        cur.duration = max(cur.duration, block.duration)
        cur.volume = block.volume
        if block.end:
            self._ended[(ts, block.event)] = None
            if len(self._ended) > 32:
                del self._ended[next(iter(self._ended))]
            out += _some(self._finish())
        return out

    def _finish(self) -> DigitEvent | None:
        cur = self._current
        assert cur is not None
        self._current = None
        digit = digit_for_code(cur.event)
        if digit is None:
            self.other_events += 1
            return None
        origin = self._origin if self._origin is not None else cur.timestamp
        event = DigitEvent(
            digit=digit,
            duration_ms=(cur.before + cur.duration) * 1000 // self.rate,
            source="rfc4733",
            start_ms=max(0, cur.timestamp - origin) * 1000 // self.rate,
            level_dbm0=-float(cur.volume),
        )
        return event

    def _extend(self, timestamp: int, *, move: bool = True) -> int:
        if self._ref is None:
            self._ref = timestamp
            if self._origin is None:
                self._origin = timestamp
            else:
                self._origin = self._unwrap(self._origin, timestamp)
            return timestamp
        ts = self._unwrap(timestamp, self._ref)
        if move and ts > self._ref:
            self._ref = ts
        return ts

    @staticmethod
    def _unwrap(value: int, reference: int) -> int:
        delta = (value - reference) % (1 << 32)
        if delta >= 1 << 31:
            delta -= 1 << 32
        return reference + delta


def _some(event: DigitEvent | None) -> list[DigitEvent]:
    return [event] if event is not None else []
