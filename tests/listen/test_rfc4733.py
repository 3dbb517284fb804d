"""RFC 4733 telephone-events: payloads, the sender's packets, the receiver's key presses."""

from __future__ import annotations

import random

import pytest

from outdial.telephony.listen import DigitEvent, TelephoneEventReceiver, digit_packets
from outdial.telephony.listen.rfc4733 import EventBlock, parse_payload
from outdial.telephony.listen.rfc4733_send import EventPacket, digits_packets


def test_payload_blocks_round_trip_and_bad_lengths_are_refused() -> None:
    block = EventBlock(event=11, end=True, volume=10, duration=800)
    assert block.pack() == bytes([11, 0x80 | 10, 0x03, 0x20])
    assert parse_payload(block.pack() * 2) == [block, block]
    for bad in (b"", b"\x01\x02\x03", b"\x00" * 5):
        with pytest.raises(ValueError):
            parse_payload(bad)


def test_a_100_ms_digit_is_four_updates_then_the_end_three_times() -> None:
    packets = digit_packets("5", timestamp=1000, duration_ms=100)
    assert [(p.offset_ms, p.marker, p.end) for p in packets] == [
        (0, True, False), (20, False, False), (40, False, False), (60, False, False),
        (80, False, True), (100, False, True), (120, False, True),
    ]  # fmt: skip
    assert {p.timestamp for p in packets} == {1000}  # every packet carries the start
    blocks = [parse_payload(p.payload)[0] for p in packets]
    assert [b.duration for b in blocks] == [160, 320, 480, 640, 800, 800, 800]
    assert {(b.event, b.volume) for b in blocks} == {(5, 10)}


def test_sender_options_and_bad_arguments() -> None:
    packets = digit_packets("#", timestamp=0, duration_ms=250, volume=20, interval_ms=50)
    blocks = [parse_payload(p.payload)[0] for p in packets]
    assert [b.duration for b in blocks] == [400, 800, 1200, 1600, 2000, 2000, 2000]
    assert [p.offset_ms for p in packets] == [0, 50, 100, 150, 200, 250, 300]
    assert {(b.event, b.volume) for b in blocks} == {(11, 20)}
    short = digit_packets("1", timestamp=0, duration_ms=20)  # only the end packets
    assert [(p.marker, p.end) for p in short] == [(True, True), (False, True), (False, True)]
    for bad in ({"digit": "x"}, {"volume": 64}, {"duration_ms": 10}):
        with pytest.raises(ValueError):
            digit_packets(**{"digit": "1", "timestamp": 0, **bad})  # type: ignore[arg-type]


def test_a_string_of_digits_is_spaced_and_timestamps_follow_the_clock_and_wrap() -> None:
    start = 0xFFFFFFFF - 799  # the second digit's start wraps past 2**32
    packets = digits_packets("12", timestamp=start, duration_ms=100, gap_ms=100)
    assert [p.offset_ms for p in packets] == sorted(p.offset_ms for p in packets)
    firsts = [p for p in packets if p.marker]
    assert [(p.offset_ms, p.timestamp) for p in firsts] == [(0, start), (200, 800)]


def received(packets: list[EventPacket], receiver: TelephoneEventReceiver) -> list[DigitEvent]:
    out: list[DigitEvent] = []
    for p in packets:
        out += receiver.feed(p.timestamp, p.payload)
    return out


def test_the_receiver_reports_each_press_once_with_its_duration_and_start() -> None:
    packets = digits_packets("9*1", timestamp=50_000, duration_ms=120, gap_ms=80)
    receiver = TelephoneEventReceiver(origin=50_000 - 8000)  # audio began 1 s earlier
    events = received(packets, receiver)
    assert [(e.digit, e.duration_ms, e.start_ms, e.source) for e in events] == [
        ("9", 120, 1000, "rfc4733"), ("*", 120, 1200, "rfc4733"), ("1", 120, 1400, "rfc4733"),
    ]  # fmt: skip
    assert {e.level_dbm0 for e in events} == {-10.0}
    assert receiver.duplicates == 6  # two extra end packets per press


def test_reordered_duplicated_and_late_packets_change_nothing() -> None:
    packets = digits_packets("4567", timestamp=123, duration_ms=100, gap_ms=60)
    rng = random.Random(4)
    noisy = packets + rng.sample(packets, 8)
    noisy.sort(key=lambda p: p.offset_ms + rng.uniform(-15, 15))
    events = received(noisy, TelephoneEventReceiver())
    assert [e.digit for e in events] == list("4567")
    assert {e.duration_ms for e in events} == {100}


def test_lost_end_packets_end_the_press_at_the_next_one_or_by_the_clock() -> None:
    first = [p for p in digit_packets("3", timestamp=0) if not p.end]
    second = digit_packets("8", timestamp=8000)
    receiver = TelephoneEventReceiver()
    events = received(first, receiver) + received(second, receiver)
    assert [(e.digit, e.duration_ms) for e in events] == [("3", 80), ("8", 100)]

    receiver = TelephoneEventReceiver()
    assert received(first, receiver) == []
    assert receiver.expire(640 + 1000) == []  # 125 ms after the last update: still on
    [event] = receiver.expire(640 + 2001)  # more than 250 ms
    assert (event.digit, event.duration_ms) == ("3", 80)
    assert receiver.flush() == []


def test_only_an_end_packet_arriving_is_still_a_press() -> None:
    last = digit_packets("0", timestamp=77)[-1]
    [event] = TelephoneEventReceiver().feed(last.timestamp, last.payload)
    assert (event.digit, event.duration_ms) == ("0", 100)


def test_a_press_longer_than_8_seconds_comes_in_segments_and_is_one_press() -> None:
    packets = digit_packets("2", timestamp=4_000_000_000, duration_ms=10_000, interval_ms=50)
    stamps = sorted({p.timestamp for p in packets})
    assert stamps == [4_000_000_000, (4_000_000_000 + 0xFFFF) & 0xFFFFFFFF]
    assert max(parse_payload(p.payload)[0].duration for p in packets) == 0xFFFF
    [event] = received(packets, TelephoneEventReceiver())
    assert (event.digit, event.duration_ms) == ("2", 10_000)


def test_flash_and_other_events_are_not_keys() -> None:
    receiver = TelephoneEventReceiver()
    flash = EventBlock(16, True, 10, 800).pack()
    assert receiver.feed(0, flash) == [] and receiver.other_events == 1


def test_timestamps_wrap_around() -> None:
    packets = digits_packets("123", timestamp=0xFFFFFFFF - 1000, duration_ms=100, gap_ms=100)
    receiver = TelephoneEventReceiver()
    events = received(packets, receiver)
    assert [(e.digit, e.start_ms) for e in events] == [("1", 0), ("2", 200), ("3", 400)]
