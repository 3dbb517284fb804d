"""`RtpRelay` on loopback: two RtpStreams (the legs), raw UDP sockets as their far ends."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator

import pytest

from outdial.telephony.sip.g711 import transcode_table
from outdial.telephony.sip.media import MediaClock, RtpStream
from outdial.telephony.sip.relay import RtpRelay
from outdial.telephony.sip.rtp import RtpPacket
from outdial.telephony.sip.sdp import PCMA, PCMU


def packet(pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool = False) -> bytes:
    return struct.pack("!BBHII", 0x80, pt | (0x80 if marker else 0), seq, ts, ssrc) + payload


class Leg:
    """A far end: a UDP socket, and the outdial stream that talks to it."""

    def __init__(self, clock: MediaClock, codec: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.stream = RtpStream(clock, "127.0.0.1")
        self.stream.set_remote(self.sock.getsockname(), codec)

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, ("127.0.0.1", self.stream.port))

    async def receive(self, count: int) -> list[RtpPacket]:
        loop = asyncio.get_running_loop()
        got = []
        for _ in range(count):
            data = await asyncio.wait_for(loop.sock_recv(self.sock, 2048), 2)
            got.append(RtpPacket.parse(data))
        return got

    def close(self) -> None:
        self.stream.close()
        self.sock.close()


@pytest.fixture
async def legs() -> AsyncIterator[tuple[Leg, Leg]]:
    clock = MediaClock()
    a, b = Leg(clock, PCMU), Leg(clock, PCMA)
    yield a, b
    a.close()
    b.close()
    await clock.close()


async def test_audio_is_transcoded_and_renumbered(legs: tuple[Leg, Leg]) -> None:
    a, b = legs
    heard_at_a: list[bytes] = []
    a.stream.on_packet = heard_at_a.append  # the callee's ear keeps hearing
    relay = RtpRelay(a.stream, 101, b.stream, 101)
    relay.start()
    audio = bytes(range(160))
    for i in range(3):
        a.send(packet(PCMU, 1000 + i, 5000 + 160 * i, 0xAAAA, audio))
    got = await b.receive(3)
    table = transcode_table(PCMU, PCMA)
    assert [p.payload for p in got] == [audio.translate(table)] * 3
    assert {p.payload_type for p in got} == {PCMA}
    assert {p.ssrc for p in got} == {b.stream.packetizer.ssrc}  # the leg's own SSRC
    seqs = [p.sequence for p in got]
    assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(3)]
    assert [(p.timestamp - got[0].timestamp) & 0xFFFFFFFF for p in got] == [0, 160, 320]
    assert got[0].marker and not got[1].marker
    assert len(heard_at_a) == 3
    # the other way, and a restarted far-end stream (new SSRC) starts a talkspurt
    b.send(packet(PCMA, 7, 90, 0xBBBB, audio))
    b.send(packet(PCMA, 8, 250, 0xBBBB, audio))
    b.send(packet(PCMA, 1, 10, 0xCCCC, audio))
    back = await a.receive(3)
    assert [p.payload for p in back] == [audio.translate(transcode_table(PCMA, PCMU))] * 3
    assert [p.marker for p in back] == [True, False, True]
    relay.stop()
    a.send(packet(PCMU, 1003, 5480, 0xAAAA, audio))
    await asyncio.sleep(0.05)
    assert relay.a_to_b.forwarded == 3 and len(heard_at_a) == 4  # stopped: not relayed


async def test_events_take_the_other_legs_payload_type(legs: tuple[Leg, Leg]) -> None:
    a, b = legs
    relay = RtpRelay(a.stream, 101, b.stream, 96)
    relay.start()
    event = bytes([5, 0x0A, 0x00, 0xA0])  # key 5, volume 10, 160 samples
    a.send(packet(101, 1, 100, 0xAAAA, event, marker=True))
    a.send(packet(13, 2, 100, 0xAAAA, b"\x40"))  # comfort noise: not relayed
    got = await b.receive(1)
    assert (got[0].payload_type, got[0].payload, got[0].marker) == (96, event, True)
    await asyncio.sleep(0.05)
    assert relay.a_to_b.dropped == 1
    relay.stop()


async def test_events_dropped_toward_a_leg_without_telephone_event(
    legs: tuple[Leg, Leg],
) -> None:
    a, b = legs
    relay = RtpRelay(a.stream, 101, b.stream, None)
    relay.start()
    a.send(packet(101, 1, 100, 0xAAAA, bytes([1, 0x0A, 0, 160])))
    a.send(packet(PCMU, 2, 100, 0xAAAA, b"\xff" * 160))
    got = await b.receive(1)
    assert got[0].payload_type == PCMA
    assert (relay.a_to_b.forwarded, relay.a_to_b.dropped) == (1, 1)
    relay.stop()


async def test_queued_audio_stops_when_the_bridge_starts(legs: tuple[Leg, Leg]) -> None:
    a, b = legs
    playing = a.stream.play(b"\xff" * 8000, PCMU)  # one second of a message
    await asyncio.sleep(0.05)
    RtpRelay(a.stream, None, b.stream, None).start()
    await asyncio.wait_for(playing, 1)  # resolved at once, not after the second
    sent = a.stream.sent_packets
    await asyncio.sleep(0.1)
    assert a.stream.sent_packets == sent
