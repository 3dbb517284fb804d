"""The receive jitter buffer: order, loss, duplicates, late packets, wrap-around, pauses,
resyncs, packet sizes and bounds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from outdial.telephony.listen import JitterBuffer
from outdial.telephony.listen.g711 import decode, table
from outdial.telephony.sip import g711 as sip_g711
from outdial.telephony.sip.rtp import RtpPacket, RtpPacketizer


@dataclass(frozen=True)
class Packet:
    sequence: int
    timestamp: int
    payload: bytes
    payload_type: int = 0
    ssrc: int = 42


def audio(frames: int, seed: int = 0) -> list[bytes]:
    """Distinct μ-law frames (never silence), one per packet."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 0x7F, size=(frames, 160), dtype=np.uint8)  # negative half: no 0xFF
    return [bytes(row) for row in codes]


def stream(payloads: list[bytes], seq: int = 1000, ts: int = 5000, ssrc: int = 42) -> list[Packet]:
    out, offset = [], 0
    for i, payload in enumerate(payloads):
        out.append(Packet((seq + i) & 0xFFFF, (ts + offset) & 0xFFFFFFFF, payload, ssrc=ssrc))
        offset += len(payload)
    return out


def play(buffer: JitterBuffer, packets: list[Packet]) -> list[bytes]:
    out: list[bytes] = []
    for p in packets:
        buffer.push(p)
        while (frame := buffer.pop()) is not None:
            out.append(frame.tobytes())
    return out + [f.tobytes() for f in buffer.flush()]


def pcm(payload: bytes) -> bytes:
    return decode(payload, 0).tobytes()


SILENT = bytes(320)


def test_decode_tables_match_the_reference_g711() -> None:
    for pt in (0, 8):
        codes = bytes(range(256))
        assert decode(codes, pt).tobytes() == sip_g711.decode(codes, pt)
        assert not table(pt).flags.writeable
    with pytest.raises(ValueError):
        table(9)


def test_in_order_packets_come_out_as_they_went_in_after_the_delay() -> None:
    payloads = audio(10)
    buffer = JitterBuffer(delay_frames=3)
    out = []
    for i, p in enumerate(stream(payloads)):
        buffer.push(p)
        frame = buffer.pop()
        assert (frame is None) == (i < 3)
        if frame is not None:
            out.append(frame.tobytes())
    out += [f.tobytes() for f in buffer.flush()]
    assert out == [pcm(p) for p in payloads]
    assert buffer.stats.frames == 10 and buffer.stats.filled == 0


def test_reordered_packets_within_the_delay_are_put_back_in_order() -> None:
    payloads = audio(12)
    packets = stream(payloads)
    shuffled = [packets[i] for i in (0, 2, 1, 3, 6, 4, 5, 7, 8, 11, 9, 10)]
    assert play(JitterBuffer(delay_frames=3), shuffled) == [pcm(p) for p in payloads]


def test_a_lost_packet_is_a_frame_of_silence_in_its_place() -> None:
    payloads = audio(8)
    packets = stream(payloads)
    buffer = JitterBuffer()
    out = play(buffer, packets[:3] + packets[4:])
    assert out == [pcm(p) for p in payloads[:3]] + [SILENT] + [pcm(p) for p in payloads[4:]]
    assert buffer.stats.filled == 1


def test_duplicates_and_late_packets_are_dropped() -> None:
    payloads = audio(10)
    packets = stream(payloads)
    buffer = JitterBuffer(delay_frames=1)
    order = [*packets[:2], packets[1], *packets[3:7], packets[2], *packets[7:], packets[8]]
    out = play(buffer, order)
    # packet 2 came after frames past it were released: late, a silent frame in its place
    assert out == [pcm(p) for p in payloads[:2]] + [SILENT] + [pcm(p) for p in payloads[3:]]
    assert (buffer.stats.duplicate, buffer.stats.late) == (2, 1)


def test_sequence_and_timestamp_wrap_around() -> None:
    payloads = audio(12)
    packets = stream(payloads, seq=65530, ts=2**32 - 800)
    assert play(JitterBuffer(), [*packets[:6], packets[7], packets[6], *packets[8:]]) == [
        pcm(p) for p in payloads
    ]


def test_a_pause_in_sending_is_silence_of_its_length() -> None:
    payloads = audio(6)
    packets = stream(payloads)
    # after three packets the sender pauses 100 ms (five frames), numbering on in sequence
    later = [Packet(p.sequence, p.timestamp + 800, p.payload) for p in packets[3:]]
    out = play(JitterBuffer(), packets[:3] + later)
    assert out == [pcm(p) for p in payloads[:3]] + [SILENT] * 5 + [pcm(p) for p in payloads[3:]]


def test_a_jump_past_the_maximum_gap_or_a_new_ssrc_starts_a_new_timeline() -> None:
    payloads = audio(8)
    first = stream(payloads[:4])
    jumped = stream(payloads[4:], seq=1004, ts=5000 + 640 + 8000 * 60)  # 60 s ahead
    buffer = JitterBuffer()
    out = play(buffer, first + jumped)
    assert len(out) <= 10 and buffer.stats.resyncs == 1
    assert out[-4:] == [pcm(p) for p in payloads[4:]]

    buffer = JitterBuffer()
    out = play(buffer, stream(payloads[:4]) + stream(payloads[4:], seq=7, ts=9, ssrc=43))
    assert buffer.stats.resyncs == 1 and out[-4:] == [pcm(p) for p in payloads[4:]]


def test_30_ms_and_10_ms_packets_come_out_as_20_ms_frames() -> None:
    whole = b"".join(audio(6))
    for size in (240, 80):
        chunks = [whole[i : i + size] for i in range(0, len(whole), size)]
        out = play(JitterBuffer(), stream(chunks))
        assert b"".join(out) == pcm(whole)


def test_other_payload_types_are_not_audio() -> None:
    buffer = JitterBuffer()
    assert not buffer.push(Packet(1, 0, b"\x05\x0a\x00\xa0", payload_type=101))
    assert not buffer.push(Packet(2, 0, b"", payload_type=0))
    assert buffer.stats.ignored == 2 and buffer.pop(force=True) is None


def test_forced_pops_keep_time_when_the_far_end_is_quiet_and_late_packets_are_dropped() -> None:
    payloads = audio(6)
    packets = stream(payloads)
    buffer = JitterBuffer()
    buffer.push(packets[0])
    frames = [buffer.pop(force=True) for _ in range(4)]  # a 20 ms clock, nothing more came
    assert [f.tobytes() for f in frames if f is not None] == [pcm(payloads[0])] + [SILENT] * 3
    for p in packets[1:]:
        buffer.push(p)
    assert buffer.stats.late == 3
    assert [f.tobytes() for f in buffer.flush()] == [pcm(p) for p in payloads[4:]]


def test_the_store_is_bounded() -> None:
    payloads = audio(30)
    packets = stream(payloads)
    buffer = JitterBuffer(max_packets=5)
    for p in packets[1:]:  # the first never comes: nothing is due until the store fills
        buffer.push(p)
        assert buffer.depth <= 5
    assert buffer.stats.overflow > 0


def test_real_rtp_packets_are_read() -> None:
    packetizer = RtpPacketizer(8, ssrc=1, sequence=65535, timestamp=2**32 - 160)
    speech = np.round(3000 * np.sin(np.arange(800) * 0.3)).astype("<i2").tobytes()
    payload = sip_g711.encode(speech, 8)
    packets = [RtpPacket.parse(packetizer.packet(payload[i : i + 160])) for i in range(0, 800, 160)]
    out = play(JitterBuffer(), packets)
    assert b"".join(out) == sip_g711.decode(payload, 8)


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError):
        JitterBuffer(delay_frames=-1)
    with pytest.raises(ValueError):
        JitterBuffer(max_gap_frames=2, delay_frames=3)
