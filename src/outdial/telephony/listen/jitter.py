"""A small receive jitter buffer: RTP audio packets in, a gapless run of 20 ms frames out.

Packets are placed by their RTP timestamp (extended past the 32-bit wrap) and checked by their
sequence number (extended past the 16-bit wrap), so reordered packets land where they belong
and packets of any length (10, 20, 30 ms) come out as 160-sample frames.

The buffer has no clock of its own. A frame is *due* once audio `delay_frames` later has
arrived (60 ms by default: a packet may overtake up to two others and still be used), so
`pop()` is deterministic for a given order of pushes. Frames with no audio (a lost packet, a
pause in sending) come out as silence, so a detector fed from the buffer counts time by
samples and sees every gap. A packet whose time was already released is *late* and dropped;
a second copy of a packet is a *duplicate* and dropped. A caller driven by a 20 ms clock can
`pop(force=True)` when the far end has stopped sending, so silence keeps counting.

Bounds: at most `max_packets` stored; a timestamp more than `max_gap_frames` (10 s) away from
the play position, or a new SSRC, is a new timeline (*resync*) rather than 10 s of silence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from outdial.telephony.listen import g711
from outdial.telephony.listen.frames import FRAME_SAMPLES, Samples
from outdial.telephony.listen.g711 import silence

_REMEMBERED = 128  # sequence numbers kept to recognise duplicates


class RtpLike(Protocol):
    """What the buffer reads of a packet (`outdial.telephony.sip.rtp.RtpPacket` has it)."""

    @property
    def sequence(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def ssrc(self) -> int: ...
    @property
    def payload_type(self) -> int: ...
    @property
    def payload(self) -> bytes: ...


@dataclass(slots=True)
class JitterStats:
    received: int = 0  # audio packets stored
    late: int = 0  # arrived after their time was released
    duplicate: int = 0
    ignored: int = 0  # not G.711 audio (telephone-event, comfort noise, ...): not ours
    overflow: int = 0  # stored packets dropped to keep the bound
    resyncs: int = 0  # new SSRC or a timestamp jump past max_gap_frames
    frames: int = 0  # frames released
    filled: int = 0  # frames released with no audio at all (loss or a pause)


def _extend(value: int, reference: int, bits: int) -> int:
    """The value of a `bits`-bit counter nearest to `reference` (unwrapping)."""
    span = 1 << bits
    delta = (value - reference) % span
    if delta >= span // 2:
        delta -= span
    return reference + delta


class JitterBuffer:
    def __init__(
        self,
        *,
        delay_frames: int = 3,
        max_packets: int = 50,
        max_gap_frames: int = 500,
    ) -> None:
        if delay_frames < 0 or max_packets < 1 or max_gap_frames < delay_frames + 1:
            raise ValueError("invalid jitter buffer bounds")
        self.delay_frames = delay_frames
        self.max_packets = max_packets
        self.max_gap = max_gap_frames * FRAME_SAMPLES
        self.stats = JitterStats()
        self._chunks: dict[int, tuple[bytes, int]] = {}  # ext. timestamp -> (G.711, type)
        self._seqs: dict[int, None] = {}  # ext. sequences stored or recently released, in order
        self._ssrc: int | None = None
        self._payload_type = g711.PCMU
        self._play = 0  # extended timestamp of the next frame out
        self._end = 0  # end of the newest audio stored
        self._ts_ref = 0
        self._seq_ref = 0  # highest extended sequence seen

    @property
    def started(self) -> bool:
        return self._ssrc is not None

    @property
    def depth(self) -> int:
        """Packets stored."""
        return len(self._chunks)

    @property
    def position(self) -> int:
        """Extended RTP timestamp of the next frame out."""
        return self._play

    def push(self, packet: RtpLike) -> bool:
        """Store a G.711 packet; False when it is dropped (see `stats` for why)."""
        return self.push_fields(
            packet.sequence, packet.timestamp, packet.ssrc, packet.payload_type, packet.payload
        )

    def push_fields(
        self, sequence: int, timestamp: int, ssrc: int, payload_type: int, payload: bytes
    ) -> bool:
        """`push` of a packet given by its header fields and payload (for a caller that read
        the header itself: no packet object per datagram)."""
        if payload_type not in g711.AUDIO_PAYLOAD_TYPES or not payload:
            self.stats.ignored += 1
            return False
        if self._ssrc != ssrc:
            if self._ssrc is not None:
                self.stats.resyncs += 1
            self._restart(ssrc, sequence, timestamp)
        seq = _extend(sequence, self._seq_ref, 16)
        ts = _extend(timestamp, self._ts_ref, 32)
        if abs(ts - self._play) > self.max_gap:
            # a new timeline (the sender reset its clock): start over at this packet
            self.stats.resyncs += 1
            self._restart(ssrc, sequence, timestamp)
            seq, ts = self._seq_ref, self._ts_ref
        if seq in self._seqs or ts in self._chunks:
            self.stats.duplicate += 1
            return False
        if ts + len(payload) <= self._play:
            self.stats.late += 1
            return False
        if len(self._chunks) >= self.max_packets:
            del self._chunks[min(self._chunks)]
            self.stats.overflow += 1
        self._chunks[ts] = (payload, payload_type)
        self._payload_type = payload_type
        self._seqs[seq] = None
        if len(self._seqs) > _REMEMBERED:
            del self._seqs[next(iter(self._seqs))]
        if seq > self._seq_ref:
            self._seq_ref, self._ts_ref = seq, ts
        self._end = max(self._end, ts + len(payload))
        self.stats.received += 1
        return True

    def due(self) -> bool:
        """Is a frame ready without waiting any longer for reordered packets?"""
        return self.started and self._end - self._play >= (self.delay_frames + 1) * FRAME_SAMPLES

    def pop(self, *, force: bool = False) -> Samples | None:
        """The next 160-sample frame if it is due (any time with `force`), else None."""
        coded = self.pop_coded(force=force)
        return g711.decode(*coded) if coded is not None else None

    def pop_coded(self, *, force: bool = False) -> tuple[bytes, int] | None:
        """`pop` before decoding: the frame's 160 G.711 bytes and their payload type (for a
        caller that decodes many calls' frames at once, `g711.decode_frames`)."""
        start = self._play
        if self._ssrc is None:  # not started
            return None
        if not force and self._end - start < (self.delay_frames + 1) * FRAME_SAMPLES:
            return None  # not due (`due()`, inlined: this runs for every call every 20 ms)
        stop = start + FRAME_SAMPLES
        self._play = stop
        self.stats.frames += 1
        chunk = self._chunks.get(start)
        if chunk is not None and len(chunk[0]) == FRAME_SAMPLES:
            del self._chunks[start]
            return chunk
        law = chunk[1] if chunk is not None else self._payload_type
        out = bytearray(silence(law, FRAME_SAMPLES))
        heard = False
        for ts in sorted(t for t in self._chunks if t < stop):
            piece = self._chunks[ts][0]
            if ts + len(piece) > start:
                lo, hi = max(ts, start), min(ts + len(piece), stop)
                out[lo - start : hi - start] = piece[lo - ts : hi - ts]
                heard = True
            if ts + len(piece) <= stop:
                del self._chunks[ts]
        if not heard:
            self.stats.filled += 1
        return bytes(out), law

    def flush(self) -> list[Samples]:
        """Every frame up to the end of the audio received (at the end of a call)."""
        frames: list[Samples] = []
        while self.started and self._play < self._end:
            frame = self.pop(force=True)
            assert frame is not None
            frames.append(frame)
        return frames

    def _restart(self, ssrc: int, sequence: int, timestamp: int) -> None:
        self._chunks.clear()
        self._seqs.clear()
        self._ssrc = ssrc
        self._seq_ref = sequence
        self._ts_ref = timestamp
        self._play = timestamp
        self._end = timestamp
