"""Bridging an answered SIP call to a *local leg* (the agent's browser phone, issue 14 stretch):
`SipTelephony.local_legs` resolves `webrtc:<agent id>` targets, `b2bua.bridge_local` decodes
the callee's G.711 for the leg and encodes what the leg says to the callee's codec. A fake leg
stands in for telephony/webrtc.py's `BrowserPhone` (no aiortc needed here)."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import uuid
from array import array
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from outdial.domain.outcome import HangupReason
from outdial.telephony.bridge import BridgeEnd, BridgeResult, phone_address
from outdial.telephony.sip import SipAnsweringPeer
from outdial.telephony.sip.g711 import decode
from outdial.telephony.sip.peer import PeerCall

CALLEE = "7781000"  # says "Hello?", then silence, as RTP all along
GREETER = "7771000"  # an answering machine's greeting of 4-8 s
TONE = array("h", (int(8000 * math.sin(2 * math.pi * 440 * n / 8000)) for n in range(160)))


@dataclass
class FakeLeg:
    """A local leg that says a 440 Hz tone every 20 ms while attached."""

    label: str = "webrtc:test"
    ended: asyncio.Future[str] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    heard: list[bytes] = field(default_factory=list)
    attached: int = 0
    busy: bool = False
    _task: asyncio.Task[None] | None = None

    def attach(self, speak: Callable[[bytes], None]) -> bool:
        if self.busy or self.ended.done():
            return False
        self.attached += 1
        self._task = asyncio.get_running_loop().create_task(self._speak(speak))
        return True

    async def _speak(self, speak: Callable[[bytes], None]) -> None:
        while True:
            speak(TONE.tobytes())
            await asyncio.sleep(0.02)

    def hear(self, pcm: bytes) -> None:
        self.heard.append(pcm)

    def detach(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


class Connector:
    """`queue_join` as the desk does it for an agent whose browser phone is open."""

    def __init__(self, agent_id: uuid.UUID) -> None:
        self.agent_id = agent_id
        self.results: list[BridgeResult] = []

    async def run(self, kind: str, option: dict[str, Any], media: Any) -> bool:
        self.results.append(await media.bridge(phone_address(self.agent_id), 1000))
        return self.results[-1].connected


@pytest.fixture
async def callee() -> AsyncIterator[SipAnsweringPeer]:
    peer = SipAnsweringPeer(ring_ms=50)
    await peer.start()
    yield peer
    await peer.stop()


def loud(pcm: bytes) -> bool:
    samples = array("h")
    samples.frombytes(pcm)
    return bool(samples) and max(abs(s) for s in samples) > 2000


async def answered(peer: SipAnsweringPeer) -> PeerCall:
    for _ in range(300):
        for call in peer.calls.values():
            if call.final_code == 200 and call.stream is not None:
                return call
        await asyncio.sleep(0.01)
    raise AssertionError("the callee answered no call")


async def _place(
    telephony: Any,
    kit: SimpleNamespace,
    peer: SipAnsweringPeer,
    leg: FakeLeg | None,
    callee: str = CALLEE,
) -> tuple[Any, Connector, asyncio.Task[Any], uuid.UUID]:
    tel = await telephony()
    agent_id = uuid.uuid4()
    targets: list[str] = []

    def local_legs(target: str) -> FakeLeg | None:
        targets.append(target)
        return leg if target == f"webrtc:{agent_id}" else None

    tel.local_legs = local_legs
    connector = Connector(agent_id)
    request = kit.call_request(
        kit.sip(f"{callee}@{peer.address}"), actions=[{"type": "queue_join", "option": {}}]
    )
    request = dataclasses.replace(request, connector=connector)
    task = asyncio.create_task(tel.place_call(request, kit.no_op))
    return tel, connector, task, agent_id


async def test_audio_both_ways_and_the_phone_drop_ends_the_call(
    telephony: Any, kit: SimpleNamespace, callee: SipAnsweringPeer
) -> None:
    leg = FakeLeg()
    # a long greeting (SPEC 5: 777 speaks 4-8 s), so the leg hears the callee's voice even when
    # a loaded machine bridges late
    _, connector, task, _ = await _place(telephony, kit, callee, leg, callee=GREETER)
    far = await answered(callee)
    heard: list[bytes] = []
    stream = far.stream
    assert stream is not None
    before = stream.on_packet

    def on_packet(data: bytes) -> None:
        if data[1] & 0x7F in (0, 8):
            heard.append(decode(data[12:], data[1] & 0x7F))
        if before is not None:
            before(data)

    stream.on_packet = on_packet
    for _ in range(1000):
        if sum(loud(p) for p in heard) >= 10 and sum(loud(p) for p in leg.heard) >= 5:
            break
        await asyncio.sleep(0.01)
    leg.ended.set_result("failed")  # the page closed
    outcome = await asyncio.wait_for(task, 10)
    assert (outcome.reason, outcome.answered) == (HangupReason.NORMAL, True)
    [result] = connector.results
    assert (result.end, result.sip_code, result.connected) == (BridgeEnd.AGENT, 200, True)
    assert far.bye_received  # outdial hung the callee up when the phone dropped
    assert leg._task is None  # detached
    # the callee got the leg's tone, G.711 encoded; the leg got the callee's "Hello?" as PCM
    assert sum(loud(p) for p in heard) >= 10, len(heard)
    assert sum(loud(p) for p in leg.heard) >= 5, len(leg.heard)
    assert all(len(p) == 320 for p in leg.heard)


async def test_no_open_phone_or_a_busy_one_is_not_answered(
    telephony: Any, kit: SimpleNamespace, callee: SipAnsweringPeer
) -> None:
    for leg in (None, FakeLeg(busy=True)):
        _, connector, task, _ = await _place(telephony, kit, callee, leg)
        outcome = await asyncio.wait_for(task, 10)
        assert outcome.answered
        [result] = connector.results
        assert result.end is BridgeEnd.NOT_ANSWERED
        assert result.sip_code == (480 if leg is None else 486)


async def test_the_callee_hangs_up(
    telephony: Any, kit: SimpleNamespace, callee: SipAnsweringPeer
) -> None:
    callee.hangup_after_ms = 600
    leg = FakeLeg()
    _, connector, task, _ = await _place(telephony, kit, callee, leg)
    outcome = await asyncio.wait_for(task, 10)
    assert outcome.answered
    [result] = connector.results
    assert result.end is BridgeEnd.CALLEE and result.talk_ms > 0
    assert leg.attached == 1 and leg._task is None and not leg.ended.done()
