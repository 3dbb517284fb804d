"""The media clock's timing wheel (issue 11): streams spread over 1 ms ticks, each wake-up
visits only the streams due then, and every packet leaves at its slot. On virtual time
(tests/virtualtime.py), so the figures are exact however loaded the machine is."""

from __future__ import annotations

import asyncio
import collections
import itertools
import socket

import pytest

from outdial.telephony.sip import media
from outdial.telephony.sip.media import MediaClock, RtpStream
from outdial.telephony.sip.rtp import RtpPacket, RtpPacketizer
from outdial.telephony.sip.sdp import PCMA, PCMU
from tests import virtualtime


def test_streams_started_together_spread_over_the_next_ticks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    visits = collections.Counter[int]()
    original = RtpStream.tick

    def counting(self: RtpStream, now: float) -> bool:
        visits[id(self)] += 1
        return original(self, now)

    monkeypatch.setattr(RtpStream, "tick", counting)

    async def scenario() -> tuple[list[float], MediaClock, list[RtpStream]]:
        loop = asyncio.get_running_loop()
        clock = MediaClock()
        streams = [RtpStream(clock, "127.0.0.1") for _ in range(50)]
        starts = []
        t0 = loop.time()
        for stream in streams:
            stream.set_remote(None, PCMU)  # paced and counted, not sent
            done = stream.play(b"\xff" * 1600)  # ten packets
            starts.append(round(stream.due - t0, 6))
        await done
        await asyncio.sleep(0.03)
        for stream in streams:
            stream.close()
        await clock.close()
        return starts, clock, streams

    starts, clock, streams = virtualtime.run(scenario())
    # five ticks of 1 ms, ten streams on each: the least busy tick first, earliest of equals
    assert sorted(collections.Counter(starts).items()) == [
        (0.0, 10), (0.001, 10), (0.002, 10), (0.003, 10), (0.004, 10),
    ]  # fmt: skip
    assert starts[:5] == [0.0, 0.001, 0.002, 0.003, 0.004]
    # every packet at its slot, and a stream was visited only when a packet of it was due
    assert clock.packets_on_time == 500 and clock.packets_late == 0
    assert clock.packets_within_1ms == 500
    assert all(visits[id(s)] == 10 for s in streams)
    assert clock.late_ticks == 0


def test_a_stream_started_while_the_clock_sleeps_sends_at_once() -> None:
    """The clock sleeps until its next due stream (60 ms away here); a stream that starts
    meanwhile wakes it: its first packet leaves now, not after the sleep."""

    async def scenario() -> list[float]:
        loop = asyncio.get_running_loop()
        arrivals: list[float] = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
            receiver.bind(("127.0.0.1", 0))
            receiver.setblocking(False)

            def read() -> None:
                receiver.recv(2048)
                arrivals.append(loop.time())

            loop.add_reader(receiver.fileno(), read)
            clock = MediaClock()
            slow = RtpStream(clock, "127.0.0.1", ptime_ms=60)
            slow.set_remote(None, PCMU)
            fast = RtpStream(clock, "127.0.0.1")
            fast.set_remote(receiver.getsockname(), PCMU)
            try:
                start = loop.time()
                slow_done = slow.play(b"\xff" * 480 * 3)
                await asyncio.sleep(0.0105)  # between the slow stream's slots
                begun = loop.time()
                await fast.play(b"\x01" * 480)  # three packets
                await slow_done
                await asyncio.sleep(0.03)
            finally:
                loop.remove_reader(receiver.fileno())
                slow.close()
                fast.close()
                await clock.close()
        assert begun - start == pytest.approx(0.0105)
        return [round(t - start, 6) for t in arrivals]

    arrivals = virtualtime.run(scenario())
    assert arrivals == [0.011, 0.031, 0.051]  # the next 1 ms tick, then every 20 ms


def test_flush_then_play_does_not_send_twice() -> None:
    """A stream taken off the clock (a bridge starts) and started again is filed once."""

    async def scenario() -> tuple[list[RtpPacket], list[float]]:
        loop = asyncio.get_running_loop()
        received: list[tuple[float, RtpPacket]] = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
            receiver.bind(("127.0.0.1", 0))
            receiver.setblocking(False)
            loop.add_reader(
                receiver.fileno(),
                lambda: received.append((loop.time(), RtpPacket.parse(receiver.recv(2048)))),
            )
            clock = MediaClock()
            stream = RtpStream(clock, "127.0.0.1")
            stream.set_remote(receiver.getsockname(), PCMA)
            try:
                stream.play(b"\xd5" * 8000)
                await asyncio.sleep(0.05)  # slots 0, 1, 2 sent (0, 20, 40 ms)
                stream.flush()
                await stream.play(b"\x01" * 800)  # five packets
                await asyncio.sleep(0.03)
            finally:
                loop.remove_reader(receiver.fileno())
                stream.close()
                await clock.close()
        return [p for _, p in received], [round(t, 6) for t, _ in received]

    packets, times = virtualtime.run(scenario())
    # the new audio goes on at the stream's next slot (60 ms), each packet once
    assert times == [0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14]
    assert [p.payload[:1] for p in packets] == [b"\xd5"] * 3 + [b"\x01"] * 5
    assert [b.timestamp - a.timestamp for a, b in itertools.pairwise(packets)] == [160] * 7
    assert len({p.sequence for p in packets}) == 8


def test_a_stalled_loop_catches_up_in_bursts_then_resyncs() -> None:
    """A loop blocked for 30 ms: the packets due meanwhile go in bursts of at most
    `_MAX_BURST`, counted late; one blocked for a second resyncs instead of bursting."""

    async def scenario() -> MediaClock:
        clock = MediaClock()
        stream = RtpStream(clock, "127.0.0.1")
        stream.set_remote(None, PCMU)
        done = stream.play(b"\xff" * 160 * 20)
        await asyncio.sleep(0.005)
        loop = asyncio.get_running_loop()
        loop.now += 0.03  # type: ignore[attr-defined]  # virtual time jumps: a stalled loop
        await done
        stream.close()
        await clock.close()
        return clock

    clock = virtualtime.run(scenario())
    assert clock.packets_on_time + clock.packets_late == 20
    assert clock.packets_late >= 1
    assert clock.late_ticks >= 1


def test_pack_into_writes_the_same_packet_as_packet() -> None:
    one = RtpPacketizer(PCMU, ssrc=7, sequence=65535, timestamp=0xFFFFFF00)
    two = RtpPacketizer(PCMU, ssrc=7, sequence=65535, timestamp=0xFFFFFF00)
    for n in range(3):
        payload = bytes([n]) * 160
        buffer = bytearray(12) + payload
        two.pack_into(buffer, 0xFFFFFF00 + 160 * n)
        assert bytes(buffer) == one.packet(payload, 0xFFFFFF00 + 160 * n)
    buffer = bytearray(12 + 4)
    two.pack_into(buffer, 5)
    parsed = RtpPacket.parse(bytes(buffer))
    assert parsed.payload_type == PCMU and parsed.timestamp == 5 and not parsed.marker
    assert (two.sequence, two.timestamp, two.packets) == (3, 9, 4)


def test_the_grid_is_a_whole_number_of_ticks_in_a_packet_time() -> None:
    for ptime_ms in (10, 20, 30, 40, 60):
        assert round(ptime_ms / 1000 / media.TICK, 9) == ptime_ms // round(media.TICK * 1000)
