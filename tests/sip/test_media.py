"""G.711, RTP packets, SDP, WAV conversion and the paced RTP stream."""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import math
import socket
import wave
from array import array

import pytest

from outdial.telephony.sip import g711
from outdial.telephony.sip.audio import AudioError, pcm8k_to_wav, wav_to_pcm8k
from outdial.telephony.sip.media import MediaClock, RtpStream
from outdial.telephony.sip.rtp import RtpPacket, RtpPacketizer
from outdial.telephony.sip.sdp import PCMA, PCMU, build_offer, parse_answer
from tests import virtualtime

ALL_SAMPLES = array("h", range(-32768, 32768)).tobytes()


def test_g711_encoders_match_the_reference_tables() -> None:
    # digests of the ITU-T G.711 reference encoding of every 16-bit sample (as audioop gives)
    assert hashlib.sha256(g711.encode(ALL_SAMPLES, PCMU)).hexdigest() == (
        "81d633c9e6972a18c74a58720b96cb8ca0bdd096d4060b646dd708c3b846019a"
    )
    assert hashlib.sha256(g711.encode(ALL_SAMPLES, PCMA)).hexdigest() == (
        "38488f6fd710f4686360edc4d38639f96c491595ef93f8eb8d62d5e07ca6ce7b"
    )


@pytest.mark.parametrize(
    ("sample", "ulaw", "alaw"),
    [
        (0, 0xFF, 0xD5),
        (-1, 0x7E, 0x55),
        (32767, 0x80, 0xAA),
        (-32768, 0x00, 0x2A),
        (1000, 0xCE, 0xFA),
    ],
)
def test_g711_known_values(sample: int, ulaw: int, alaw: int) -> None:
    assert g711.ulaw_encode_sample(sample) == ulaw
    assert g711.alaw_encode_sample(sample) == alaw


def test_g711_round_trip_error_is_small() -> None:
    for payload_type in (PCMU, PCMA):
        decoded = array("h", g711.decode(g711.encode(ALL_SAMPLES, payload_type), payload_type))
        for original, back in zip(range(-32768, 32768, 97), decoded[::97], strict=True):
            assert abs(original - back) <= max(16, abs(original) // 16)
    assert g711.silence(PCMU, 3) == b"\xff\xff\xff" and g711.silence(PCMA, 1) == b"\xd5"


def test_rtp_packetizer_numbers_packets() -> None:
    pk = RtpPacketizer(PCMA, ssrc=0x11223344, sequence=0xFFFF, timestamp=0xFFFFFF00)
    first = RtpPacket.parse(pk.packet(b"\xd5" * 160))
    second = RtpPacket.parse(pk.packet(b"\xd5" * 160))
    assert (first.version, first.marker, first.payload_type) == (2, True, PCMA)
    assert (first.sequence, first.timestamp, first.ssrc) == (0xFFFF, 0xFFFFFF00, 0x11223344)
    assert (second.marker, second.sequence, second.timestamp) == (False, 0, 0xFFFFFFA0 & 0xFFFFFFFF)
    assert len(second.payload) == 160
    pk.skip(800)
    third = RtpPacket.parse(pk.packet(b"\xd5" * 160))
    assert third.marker and third.timestamp == (0xFFFFFF00 + 320 + 800) & 0xFFFFFFFF


def test_rtp_random_start_values_differ() -> None:
    a, b = RtpPacketizer(PCMU), RtpPacketizer(PCMU)
    assert (a.ssrc, a.sequence, a.timestamp) != (b.ssrc, b.sequence, b.timestamp)


def test_sdp_offer_and_answer() -> None:
    offer = build_offer("127.0.0.1", 40000, session_id=5).decode()
    assert "m=audio 40000 RTP/AVP 0 8 101\r\n" in offer
    assert "c=IN IP4 127.0.0.1\r\n" in offer and "a=rtpmap:8 PCMA/8000" in offer
    assert "101" not in build_offer("::1", 1, telephone_event=False).decode().split("m=")[1]
    answer = (
        b"v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
        b"m=video 5000 RTP/AVP 96\r\nc=IN IP4 10.0.0.7\r\n"
        b"m=audio 30000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n"
    )
    media = parse_answer(answer)
    assert media is not None
    assert (media.host, media.port, media.payload_type, media.wants_audio) == (
        "10.0.0.9",
        30000,
        PCMA,
        True,
    )
    held = parse_answer(b"v=0\nc=IN IP4 0.0.0.0\nm=audio 30000 RTP/AVP 0\n")
    assert held is not None and not held.wants_audio
    inactive = parse_answer(b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 3 RTP/AVP 0\r\na=inactive\r\n")
    assert inactive is not None and not inactive.wants_audio
    assert parse_answer(b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 3 RTP/AVP 9 18\r\n") is None
    assert parse_answer(b"garbage") is None


def _wav(rate: int, channels: int, width: int, frames: bytes) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return buf.getvalue()


def test_wav_conversion_to_8k_mono() -> None:
    tone = array("h", (int(8000 * math.sin(i / 10)) for i in range(16000)))  # 1 s at 16 kHz
    stereo = array("h", (s for v in tone for s in (v, v)))
    out = wav_to_pcm8k(_wav(16000, 2, 2, stereo.tobytes()))
    assert len(out) == 2 * 8000
    assert array("h", out)[100] == tone[200]
    eight_bit = wav_to_pcm8k(_wav(8000, 1, 1, bytes([128, 255, 0])))
    assert array("h", eight_bit).tolist() == [0, 127 << 8, -128 << 8]
    assert wav_to_pcm8k(pcm8k_to_wav(b"\x01\x00\x02\x00")) == b"\x01\x00\x02\x00"
    with pytest.raises(AudioError):
        wav_to_pcm8k(b"RIFF0000WAVEjunk")


def test_stream_paces_packets_in_real_time() -> None:
    """On virtual time (tests/virtualtime.py): one packet every 20 ms, exactly."""

    async def scenario() -> tuple[list[tuple[float, RtpPacket]], float, RtpStream]:
        loop = asyncio.get_running_loop()
        arrivals: list[tuple[float, RtpPacket]] = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
            receiver.bind(("127.0.0.1", 0))
            receiver.setblocking(False)
            loop.add_reader(
                receiver.fileno(),
                lambda: arrivals.append((loop.time(), RtpPacket.parse(receiver.recv(2048)))),
            )
            clock = MediaClock()
            stream = RtpStream(clock, "127.0.0.1", label="t")
            try:
                stream.set_remote(receiver.getsockname(), PCMU)
                started = loop.time()
                await stream.play(b"\x01" * 1600 + b"\x02" * 100)  # 10 full packets, a short one
                elapsed = loop.time() - started
                receiver.sendto(b"\x80" * 20, ("127.0.0.1", stream.port))
                await asyncio.sleep(0.05)
            finally:
                loop.remove_reader(receiver.fileno())
                stream.close()
                await clock.close()
        return [(round(t - started, 6), p) for t, p in arrivals], elapsed, stream

    arrivals, elapsed, stream = virtualtime.run(scenario())
    assert [t for t, _ in arrivals] == [round(0.02 * i, 6) for i in range(11)]
    assert elapsed == pytest.approx(0.2)  # resolved as the last packet left
    packets = [p for _, p in arrivals]
    assert len(packets) == 11 and stream.sent_packets == 11
    assert [p.sequence - packets[0].sequence for p in packets] == list(range(11))
    assert [p.timestamp - packets[0].timestamp for p in packets] == [160 * i for i in range(11)]
    assert packets[0].marker and not any(p.marker for p in packets[1:])
    assert packets[-1].payload == b"\x02" * 100 + b"\xff" * 60  # padded with silence
    assert stream.received_packets == 1


def test_stream_without_remote_still_takes_the_audio_time() -> None:
    """800 bytes of G.711 are 100 ms of audio: five 20 ms packets, none sent."""

    async def scenario() -> tuple[float, RtpStream, bool]:
        loop = asyncio.get_running_loop()
        clock = MediaClock()
        stream = RtpStream(clock, "127.0.0.1")
        stream.set_remote(None, PCMA)
        started = loop.time()
        await stream.play(b"\xd5" * 800)
        elapsed = loop.time() - started
        pending = stream.play(b"\xd5" * 8000)
        stream.close()
        await clock.close()
        return elapsed, stream, pending.cancelled()

    elapsed, stream, cancelled = virtualtime.run(scenario())
    assert elapsed == pytest.approx(0.08)  # the first packet's time slot at 0, the fifth at 80 ms
    assert stream.sent_packets == 0
    assert cancelled


def _drain_rtp(sock: socket.socket) -> list[RtpPacket]:
    packets = []
    while True:
        try:
            packets.append(RtpPacket.parse(sock.recv(2048)))
        except BlockingIOError:
            return packets


async def test_rtp_timestamps_follow_the_sampling_clock_through_hold_and_pauses() -> None:
    """Issue 11, defect 9: after audio paced on hold (not sent) and after a pause in sending,
    the timestamp has moved on by the time that passed, and the marker bit is set."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.setblocking(False)
    clock = MediaClock()
    stream = RtpStream(clock, "127.0.0.1")
    try:
        remote = receiver.getsockname()
        stream.set_remote(remote, PCMU)
        await stream.play(b"\x01" * 480)  # slots 0-2
        stream.set_remote(None, PCMU)  # hold: slots 3-12 are paced, not sent
        await stream.play(b"\x01" * 1600)
        stream.set_remote(remote, PCMU)
        await stream.play(b"\x01" * 160)  # slot 13
        await asyncio.sleep(0.2)  # a pause in sending: at least 10 slots pass
        await stream.play(b"\x01" * 160)
        packets = _drain_rtp(receiver)
        assert len(packets) == 5
        steps = [b.timestamp - a.timestamp for a, b in itertools.pairwise(packets)]
        assert steps[:3] == [160, 160, 11 * 160]
        assert steps[3] % 160 == 0 and steps[3] >= 11 * 160
        assert [p.marker for p in packets] == [True, False, False, True, True]
        assert [b.sequence - a.sequence for a, b in itertools.pairwise(packets)] == [
            1, 1, 1, 1,
        ]  # fmt: skip
    finally:
        stream.close()
        receiver.close()
        await clock.close()


async def test_rtp_ports_are_even() -> None:
    clock = MediaClock()
    streams = [RtpStream(clock, "127.0.0.1") for _ in range(40)]
    try:
        assert all(s.port % 2 == 0 for s in streams)
    finally:
        for stream in streams:
            stream.close()
        await clock.close()
