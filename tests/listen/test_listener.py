"""One call's listening end to end: RTP in (audio and telephone-events), frames out, and the
detectors together on the frames."""

from __future__ import annotations

import numpy as np

from outdial.telephony.listen import (
    AmdSettings,
    AmdStatus,
    CallListener,
    RtpReceiver,
    digit_packets,
)
from outdial.telephony.listen.g711 import decode_frames
from outdial.telephony.listen.listener import Heard, listen
from outdial.telephony.sip import g711 as sip_g711
from outdial.telephony.sip.rtp import RtpPacket, RtpPacketizer
from tests.listen.signals import dtmf, frames, greeting, mix, noise, speech, tone


def rtp_stream(x: np.ndarray, payload_type: int = 0) -> list[bytes]:
    pcm = np.concatenate(frames(x)).astype("<i2").tobytes()
    payload = sip_g711.encode(pcm, payload_type)
    packetizer = RtpPacketizer(payload_type, ssrc=7, sequence=65000, timestamp=2**32 - 4000)
    return [packetizer.packet(payload[i : i + 160]) for i in range(0, len(payload), 160)]


def test_receiver_sorts_audio_and_events_and_times_key_presses_from_the_first_packet() -> None:
    audio = rtp_stream(mix((0.0, noise(2.0, -50)), seconds=2.0))
    packetizer = RtpPacketizer(101, ssrc=7)
    receiver = RtpReceiver()
    first = RtpPacket.parse(audio[0])
    # a key pressed 1 s into the call: its packets interleave with the audio packets
    events = digit_packets("6", timestamp=(first.timestamp + 8000) & 0xFFFFFFFF)
    by_time = [(i * 20, RtpPacket.parse(data)) for i, data in enumerate(audio)]
    for e in events:
        packetizer.timestamp = e.timestamp
        data = packetizer.packet(e.payload)
        by_time.append((1000 + e.offset_ms, RtpPacket.parse(data)))
    by_time.sort(key=lambda item: item[0])
    digits, frames_out = [], []
    for _, packet in by_time:
        digits += receiver.push(packet)
        while (frame := receiver.pop()) is not None:
            frames_out.append(frame)
    frames_out += receiver.jitter.flush()
    assert [(d.digit, d.start_ms, d.duration_ms) for d in digits] == [("6", 1000, 100)]
    assert len(frames_out) == len(audio)
    assert receiver.finish() == []


def test_receiver_ends_a_press_whose_end_packets_were_lost_by_the_audio_clock() -> None:
    receiver = RtpReceiver()
    audio = [RtpPacket.parse(p) for p in rtp_stream(np.zeros(8000))]
    updates = [e for e in digit_packets("2", timestamp=audio[5].timestamp) if not e.end]
    found = receiver.push(audio[0])
    for e in updates:
        found += receiver.push(RtpPacket(2, False, 101, 1, e.timestamp, 7, e.payload))
    for packet in audio[1:]:
        found += receiver.push(packet)
    assert [(d.digit, d.duration_ms) for d in found] == [("2", 80)]
    assert receiver.push(RtpPacket(2, False, 101, 1, 0, 7, b"\x01")) == []
    assert receiver.malformed == 1
    receiver.push(RtpPacket(2, False, 13, 1, 0, 7, b"\x40"))  # comfort noise
    assert receiver.other == 1


def test_a_machine_then_its_beep_then_the_drop_cue() -> None:
    listener = CallListener(amd=AmdSettings())
    x = mix((0.4, greeting(6)), (6.9, tone(1000, 0.5, -12)), (0.0, noise(9, -48)), seconds=9)
    amd, drop = None, None
    for frame in frames(x):
        heard = listener.feed(frame)
        if heard.amd is not None:
            amd = heard.amd
            listener.wait_for_beep()  # as `wait_for_beep: true` would
        drop = drop or heard.drop
        assert heard.digits == []
    assert amd is not None and amd.status is AmdStatus.MACHINE
    assert drop is not None and drop.reason == "beep" and drop.beep is not None
    assert abs(drop.beep.end_ms - 7400) <= 5  # counted from the first frame fed


def test_a_human_who_presses_a_key_in_band() -> None:
    listener = CallListener(amd=AmdSettings())
    x = mix((0.5, speech([0.25, 0.35])), (3.2, dtmf("9", 0.12, -10)), seconds=4)
    heard = [listener.feed(frame) for frame in frames(x)]
    [amd] = [h.amd for h in heard if h.amd is not None]
    assert amd.status is AmdStatus.HUMAN
    assert [d.digit for h in heard for d in h.digits] == ["9"]
    assert listener.finish() == []


def test_without_amd_only_keys_are_listened_for() -> None:
    listener = CallListener(detect_digits=True)
    heard = [listener.feed(f) for f in frames(mix((0.2, dtmf("#", 0.1)), seconds=1))]
    assert all(h.amd is None and h.drop is None for h in heard)
    assert [d.digit for h in heard for d in h.digits] == ["#"]
    assert listener.frames == len(heard)


def test_many_calls_per_tick_hear_exactly_what_each_call_hears_alone() -> None:
    audios = [
        mix((0.4, greeting(5, seed=1)), (5.8, tone(1000, 0.5, -12)), seconds=7),
        mix((0.5, speech([0.25, 0.35])), (2.5, dtmf("5", 0.1)), seconds=7),
        mix((0.0, noise(7, -40)), (1.0, dtmf("#", 0.2)), (3.0, tone(850, 0.3)), seconds=7),
        mix((0.2, greeting(3, seed=4)), (3.6, tone(1400, 0.25)), seconds=7),
    ]
    blocks = [np.stack(frames(a)) for a in audios]

    def make() -> list[CallListener]:
        amd = AmdSettings()
        ears = [CallListener(amd=amd), CallListener(amd=amd), CallListener(),
                CallListener(detect_digits=False)]  # fmt: skip
        ears[3].wait_for_beep()
        return ears

    def summary(h: Heard) -> tuple[object, ...]:
        return (h.amd, [(d.digit, d.start_ms, d.duration_ms) for d in h.digits], h.drop)

    alone = make()
    pairs = zip(alone, blocks, strict=True)
    expected = [[summary(ear.feed(f)) for f in block] for ear, block in pairs]
    together = make()
    got: list[list[tuple[object, ...]]] = [[] for _ in together]
    for t in range(len(blocks[0])):
        # the second call joins late and the third leaves early, as calls do
        present = [i for i in range(4) if not (i == 1 and t < 50) and not (i == 2 and t > 300)]
        if t == 50:
            got[1] = [summary(together[1].feed(f)) for f in blocks[1][:50]]
        heard = listen([together[i] for i in present], np.stack([blocks[i][t] for i in present]))
        for i, h in zip(present, heard, strict=True):
            got[i].append(summary(h))
    for t in range(301, len(blocks[2])):
        got[2].append(summary(together[2].feed(blocks[2][t])))
    assert got == expected
    # and there was something to hear: AMD decisions, keys, a beep's drop cue
    assert [s[0].status for s in expected[0] + expected[1] if s[0] is not None] == [
        AmdStatus.MACHINE,
        AmdStatus.HUMAN,
    ]
    assert [d[0] for s in expected[1] + expected[2] for d in s[1]] == ["5", "#"]
    assert [s[2].reason for s in expected[3] if s[2] is not None] == ["beep"]


def test_frames_of_both_laws_decode_in_one_call() -> None:
    pcm = (np.arange(320) * 97 % 20000 - 10000).astype("<i2")
    ulaw, alaw = sip_g711.encode(pcm[:160].tobytes(), 0), sip_g711.encode(pcm[160:].tobytes(), 8)
    both = decode_frames([(ulaw, 0), (alaw, 8)])
    assert both.shape == (2, 160)
    assert both[0].tobytes() == sip_g711.decode(ulaw, 0)
    assert both[1].tobytes() == sip_g711.decode(alaw, 8)
    assert decode_frames([(ulaw, 0), (ulaw, 0)]).tobytes() == sip_g711.decode(ulaw * 2, 0)
