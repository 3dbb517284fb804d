"""One call's inbound RTP, sorted: G.711 audio into the jitter buffer, telephone-events into
the RFC 4733 receiver (payload type as negotiated, 101 by default), anything else (comfort
noise, a codec we did not offer) counted and dropped."""

from __future__ import annotations

from outdial.telephony.listen.events import DigitEvent
from outdial.telephony.listen.frames import Samples
from outdial.telephony.listen.g711 import AUDIO_PAYLOAD_TYPES
from outdial.telephony.listen.jitter import JitterBuffer, RtpLike
from outdial.telephony.listen.rfc4733 import DEFAULT_PAYLOAD_TYPE, TelephoneEventReceiver


class RtpReceiver:
    def __init__(
        self, *, event_payload_type: int = DEFAULT_PAYLOAD_TYPE, jitter: JitterBuffer | None = None
    ) -> None:
        self.event_payload_type = event_payload_type
        self.jitter = jitter or JitterBuffer()
        self.events: TelephoneEventReceiver | None = None
        self.malformed = 0
        self.other = 0

    def push(self, packet: RtpLike) -> list[DigitEvent]:
        """Take one packet; returns the key presses it completed."""
        return self.push_fields(
            packet.sequence, packet.timestamp, packet.ssrc, packet.payload_type, packet.payload
        )

    def push_fields(
        self, sequence: int, timestamp: int, ssrc: int, payload_type: int, payload: bytes
    ) -> list[DigitEvent]:
        """`push` of a packet given by its header fields and payload."""
        events = self.events
        if events is None:  # key press times count from the first packet of the call
            events = self.events = TelephoneEventReceiver(origin=timestamp)
        if payload_type == self.event_payload_type:
            try:
                return events.feed(timestamp, payload)
            except ValueError:
                self.malformed += 1
                return []
        if payload_type in AUDIO_PAYLOAD_TYPES:
            self.jitter.push_fields(sequence, timestamp, ssrc, payload_type, payload)
            return events.expire(timestamp)
        self.other += 1
        return []

    def pop(self, *, force: bool = False) -> Samples | None:
        """The next 20 ms of audio (see `JitterBuffer.pop`)."""
        return self.jitter.pop(force=force)

    def pop_coded(self, *, force: bool = False) -> tuple[bytes, int] | None:
        """The next 20 ms still in G.711 (see `JitterBuffer.pop_coded`)."""
        return self.jitter.pop_coded(force=force)

    def finish(self) -> list[DigitEvent]:
        """At hang-up: a key press whose end packets never came."""
        return self.events.flush() if self.events is not None else []
