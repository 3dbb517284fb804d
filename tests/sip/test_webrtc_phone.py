"""The agent's browser phone on the server side (telephony/webrtc.py `PhoneBook`), with aiortc
itself standing in for the browser: its offer is answered with PCMU, a SIP call bridged to
the phone carries audio both ways (the callee's "Hello?" reaches the "browser", the browser's
tone reaches the callee), closing the client's peer connection drops the phone (`on_drop`),
and `PhoneBook.close` ends it without `on_drop`. The browser itself is in
tests/acceptance/test_agent_webrtc.py. ICE runs over this host's own addresses (aioice
leaves out loopback), so nothing leaves the machine."""

from __future__ import annotations

import asyncio
import dataclasses
import fractions
import math
import os
import time
import uuid
from array import array
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from outdial.domain.errors import InvalidArgument
from outdial.telephony.bridge import BridgeEnd, BridgeResult, phone_address
from outdial.telephony.sip import SipAnsweringPeer
from outdial.telephony.sip.g711 import decode

try:
    import av
    from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
except ImportError:  # pragma: no cover - the `webrtc` extra is part of `test`
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("aiortc not installed (pip install 'outdial[webrtc]')", allow_module_level=True)

from outdial.telephony.webrtc import PhoneBook

CALLEE = "7781000"  # says "Hello?"


class Tone(MediaStreamTrack):  # type: ignore[misc]
    """The "browser's microphone": 440 Hz, 48 kHz like a browser's, paced at 20 ms."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.n = 0
        self.start = time.monotonic()

    async def recv(self) -> Any:
        samples = 960
        wait = self.start + self.n / 48000 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        pcm = array(
            "h",
            (
                int(8000 * math.sin(2 * math.pi * 440 * (self.n + i) / 48000))
                for i in range(samples)
            ),
        )
        frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
        frame.planes[0].update(pcm.tobytes())
        frame.pts, frame.sample_rate = self.n, 48000
        frame.time_base = fractions.Fraction(1, 48000)
        self.n += samples
        return frame


class Browser:
    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
        self.frames = 0
        self.loud = 0
        self.pc.addTrack(Tone())
        self.pc.on("track", self._track)
        self._tasks: list[asyncio.Task[None]] = []

    def _track(self, track: Any) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(self._read(track)))

    async def _read(self, track: Any) -> None:
        while True:
            try:
                frame = await track.recv()
            except Exception:
                return
            self.frames += 1
            pcm = array("h")
            pcm.frombytes(bytes(frame.planes[0])[: frame.samples * 2])
            if pcm and max(abs(s) for s in pcm) > 2000:
                self.loud += 1

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()


class Connector:
    def __init__(self, agent_id: uuid.UUID) -> None:
        self.agent_id = agent_id
        self.results: list[BridgeResult] = []

    async def run(self, kind: str, option: dict[str, Any], media: Any) -> bool:
        self.results.append(await media.bridge(phone_address(self.agent_id), 1000))
        return True


@pytest.fixture
async def callee() -> AsyncIterator[SipAnsweringPeer]:
    peer = SipAnsweringPeer(ring_ms=50)
    await peer.start()
    yield peer
    await peer.stop()


async def _until(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds  # a wait for progress, not a bound on speed
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


@pytest.mark.timeout(60)
async def test_a_call_bridged_to_the_phone_and_the_phone_dropping(
    telephony: Any, kit: SimpleNamespace, callee: SipAnsweringPeer
) -> None:
    dropped: list[tuple[uuid.UUID, uuid.UUID]] = []

    async def on_drop(customer_id: uuid.UUID, agent_id: uuid.UUID) -> None:
        dropped.append((customer_id, agent_id))

    phones = PhoneBook(on_drop, ("127.0.0.1",))  # ICE on loopback only
    customer, agent = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(InvalidArgument):
        await phones.open(customer, agent, "v=0\r\n")
    browser = Browser()
    try:
        answer = await phones.open(customer, agent, await browser.offer())
        assert "PCMU/8000" in answer and "opus" not in answer.lower()
        assert "a=candidate" in answer  # non-trickle: every candidate in the answer
        await browser.answer(answer)
        phone = phones.get(customer, agent)
        assert phone is not None and phones.get(uuid.uuid4(), agent) is None
        await _until(lambda: phone.state == "connected", 15, "the phone connected")
        assert phones.is_open(agent) and phones.leg(f"webrtc:{agent}") is phone
        assert phones.leg("webrtc:nonsense") is None

        tel = await telephony()
        tel.local_legs = phones.leg
        connector = Connector(agent)
        request = kit.call_request(
            kit.sip(f"{CALLEE}@{callee.address}"), actions=[{"type": "queue_join", "option": {}}]
        )
        request = dataclasses.replace(request, connector=connector)
        call = asyncio.create_task(tel.place_call(request, kit.no_op))
        heard: list[bytes] = []
        for _ in range(300):
            far = next(iter(callee.calls.values()), None)
            if far is not None and far.stream is not None:
                break
            await asyncio.sleep(0.01)
        assert far is not None and far.stream is not None
        before = far.stream.on_packet

        def on_packet(data: bytes) -> None:
            if data[1] & 0x7F in (0, 8):
                heard.append(decode(data[12:], data[1] & 0x7F))
            if before is not None:
                before(data)

        far.stream.on_packet = on_packet

        def loud_at_callee() -> int:
            count = 0
            for pcm in heard:
                samples = array("h")
                samples.frombytes(pcm)
                count += bool(samples) and max(abs(s) for s in samples) > 2000
            return count

        await _until(lambda: loud_at_callee() >= 10, 15, "the callee heard the browser's tone")
        await _until(lambda: browser.loud >= 10, 15, "the browser heard the callee")
        assert phone.spoken_frames >= 10

        await browser.close()  # the page closed
        outcome = await asyncio.wait_for(call, 40)
        assert outcome.answered
        [result] = connector.results
        assert result.end is BridgeEnd.AGENT and result.talk_ms > 0
        assert far.bye_received
        await _until(lambda: bool(dropped), 10, "on_drop called")
        assert dropped == [(customer, agent)] and not phones.is_open(agent)
    finally:
        await browser.close()
        await phones.close_all()


@pytest.mark.timeout(60)
async def test_close_and_a_second_offer_replace_the_session() -> None:
    dropped: list[uuid.UUID] = []

    async def on_drop(customer_id: uuid.UUID, agent_id: uuid.UUID) -> None:
        dropped.append(agent_id)

    phones = PhoneBook(on_drop, ("127.0.0.1",))  # ICE on loopback only
    customer, agent = uuid.uuid4(), uuid.uuid4()
    first, second = Browser(), Browser()
    try:
        offer = await first.offer()
        answer = await phones.open(customer, agent, offer)
        for sdp in (offer, answer):  # host candidates on loopback only (the test net's rule)
            hosts = [line.split()[4] for line in sdp.splitlines() if line.startswith("a=candidate")]
            assert hosts and set(hosts) == {"127.0.0.1"}, sdp
        await first.answer(answer)
        old = phones.get(customer, agent)
        await second.answer(await phones.open(customer, agent, await second.offer()))
        new = phones.get(customer, agent)
        assert old is not None and new is not None and old is not new
        assert old.ended.done() and not new.ended.done()
        assert not await phones.close(uuid.uuid4(), agent)  # another customer's agent
        assert await phones.close(customer, agent)
        assert new.ended.done() and not phones.is_open(agent)
        assert not await phones.close(customer, agent)
        await asyncio.sleep(0.2)
        assert dropped == []  # hung up on purpose: the agent's status is left alone
    finally:
        await first.close()
        await second.close()
        await phones.close_all()


def test_host_addresses_setting() -> None:
    from outdial.telephony.webrtc import parse_host_addresses

    assert parse_host_addresses("") == ()
    assert parse_host_addresses(" 127.0.0.1, ::1 ,") == ("127.0.0.1", "::1")
    with pytest.raises(ValueError, match="not an IP address"):
        parse_host_addresses("localhost")
