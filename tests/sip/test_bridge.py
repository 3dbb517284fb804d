"""Bridging an answered call to an agent over SIP (issue 13): the `connect` action dials a
second leg, outdial relays RTP between the legs, and a hang-up on either side ends both.

The callee and the agent are two `SipAnsweringPeer`s on loopback: the callee 778 ("Hello?" then
silence, sent as RTP all along), the agent 778 too, so audio flows both ways and each side's
packet counts can be checked."""

from __future__ import annotations

import asyncio
import dataclasses
import wave
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from outdial.domain.outcome import HangupReason
from outdial.telephony import interpreter
from outdial.telephony.bridge import BridgeEnd, BridgeResult
from outdial.telephony.sip import SipAnsweringPeer, b2bua
from outdial.telephony.sip.g711 import transcode_table
from outdial.telephony.sip.peer import PeerCall
from outdial.telephony.sip.sdp import PCMA, PCMU, TELEPHONE_EVENT
from tests.sip.conftest import record_results

CALLEE = "7781000"


class Agent(SipAnsweringPeer):
    """An answering peer that answers in `codec` whatever the offer lists first."""

    def __init__(self, codec: int = PCMU, **kw: Any) -> None:
        super().__init__(ring_ms=50, **kw)
        self.answer_codec = codec

    def _sdp(self, call: PeerCall, offer: Any) -> bytes:
        body = super()._sdp(call, offer)
        if self.answer_codec == PCMA:
            call.codec = PCMA
            body = body.replace(b"RTP/AVP 0", b"RTP/AVP 8").replace(
                b"rtpmap:0 PCMU", b"rtpmap:8 PCMA"
            )
        return body


def watch(call: PeerCall) -> tuple[list[tuple[int, bytes]], list[bytes]]:
    """What one peer call receives (payload type, payload) and sends (payloads)."""
    heard: list[tuple[int, bytes]] = []
    sent: list[bytes] = []
    stream = call.stream
    assert stream is not None
    before = stream.on_packet

    def on_packet(data: bytes) -> None:
        heard.append((data[1] & 0x7F, data[12:]))
        if before is not None:
            before(data)

    stream.on_packet = on_packet
    stream.on_sent = lambda chunk, _pt: sent.append(chunk)
    return heard, sent


@pytest.fixture
def results(monkeypatch: pytest.MonkeyPatch) -> list[BridgeResult]:
    """Every BridgeResult the SIP bridge returns, in order."""
    return record_results(monkeypatch, b2bua, "bridge")


def connect(*targets: str) -> dict[str, Any]:
    return {"type": "connect", "option": {"destinations": [
        {"type": "sip", "target": t} for t in targets]}}  # fmt: skip


async def answered_call(peer: SipAnsweringPeer) -> PeerCall:
    for _ in range(200):
        for call in peer.calls.values():
            if call.final_code == 200 and call.stream is not None:
                return call
        await asyncio.sleep(0.01)
    raise AssertionError("the peer answered no call")


async def test_agent_hangs_up_audio_both_ways(
    telephony, peers, kit: SimpleNamespace, results: list[BridgeResult]
) -> None:
    callee = await peers()
    agent = await peers(Agent, hangup_after_ms=1500)
    tel = await telephony()
    request = kit.call_request(
        kit.sip(f"{CALLEE}@{callee.address}"),
        actions=[connect(f"7781@{agent.address}"), {"type": "talk", "option": {"text": "x"}}],
    )
    call = asyncio.create_task(tel.place_call(request, kit.no_op))
    far = await answered_call(agent)
    at_agent, _ = watch(far)
    near = next(iter(callee.calls.values()))
    at_callee, _ = watch(near)
    outcome = await asyncio.wait_for(call, 10)
    assert (outcome.reason, outcome.answered) == (HangupReason.NORMAL, True)
    assert len(results) == 1
    result = results[0]
    assert (result.end, result.sip_code, result.connected) == (BridgeEnd.AGENT, 200, True)
    assert 1300 <= result.talk_ms <= 6000 and result.answer_ms > 0
    # the agent hung up: the callee got our BYE; the talk action after connect never ran
    assert near.bye_received and not far.bye_received
    # about 1.5 s of 20 ms packets each way (75) went through outdial; 30 leaves room for a
    # loaded machine, where a stalled sender skips slots
    assert len(at_agent) >= 30, len(at_agent)
    assert len(at_callee) >= 30, len(at_callee)


async def test_callee_hangs_up_agent_gets_bye(
    telephony, peers, kit: SimpleNamespace, results: list[BridgeResult]
) -> None:
    callee = await peers(hangup_after_ms=1200)
    agent = await peers(Agent)
    tel = await telephony()
    request = kit.call_request(
        kit.sip(f"{CALLEE}@{callee.address}"), actions=[connect(f"7781@{agent.address}")]
    )
    outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 10)
    assert (outcome.reason, outcome.detail) == (HangupReason.NORMAL, "the far end hung up")
    assert [r.end for r in results] == [BridgeEnd.CALLEE]
    far = next(iter(agent.calls.values()))
    await asyncio.wait_for(far.done.wait(), 3)
    assert far.bye_received
    near = next(iter(callee.calls.values()))
    assert not near.bye_received  # it hung up itself: no BYE back


async def test_busy_then_next_destination_answers(
    telephony, peers, kit: SimpleNamespace, results: list[BridgeResult]
) -> None:
    callee = await peers()
    agent = await peers(Agent, hangup_after_ms=300)
    tel = await telephony()
    request = kit.call_request(
        kit.sip(f"{CALLEE}@{callee.address}"),
        actions=[connect(f"4861@{agent.address}", f"7782@{agent.address}")],
    )
    outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 10)
    assert outcome.answered
    assert [(r.end, r.sip_code) for r in results] == [
        (BridgeEnd.NOT_ANSWERED, 486), (BridgeEnd.AGENT, 200)
    ]  # fmt: skip
    assert not results[0].connected


async def test_ring_out_cancels_and_actions_go_on(
    telephony, peers, kit: SimpleNamespace, results: list[BridgeResult], monkeypatch
) -> None:
    monkeypatch.setattr(interpreter, "CONNECT_RING_MS", 400)
    callee = await peers()
    agent = await peers(Agent)
    tel = await telephony()
    request = kit.call_request(
        kit.sip(f"{CALLEE}@{callee.address}"),
        actions=[connect(f"4081@{agent.address}"), {"type": "sleep", "option": {"duration": 300}}],
    )
    outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 10)
    assert (outcome.reason, outcome.detail) == (HangupReason.NORMAL, "hung up after the actions")
    assert [(r.end, r.sip_code) for r in results] == [(BridgeEnd.NOT_ANSWERED, 487)]
    far = next(iter(agent.calls.values()))
    assert far.cancelled
    near = next(iter(callee.calls.values()))
    assert near.bye_received  # the callee leg stayed up for the sleep, then got BYE


async def test_codec_mismatch_is_transcoded(
    telephony, peers, kit: SimpleNamespace, results: list[BridgeResult]
) -> None:
    callee = await peers()
    agent = await peers(Agent, codec=PCMA, hangup_after_ms=1500)
    tel = await telephony()
    request = kit.call_request(
        kit.sip(f"{CALLEE}@{callee.address}"), actions=[connect(f"7781@{agent.address}")]
    )
    call = asyncio.create_task(tel.place_call(request, kit.no_op))
    far = await answered_call(agent)
    at_agent, agent_sent = watch(far)
    near = next(iter(callee.calls.values()))
    at_callee, callee_sent = watch(near)
    await asyncio.wait_for(call, 10)
    assert far.codec == PCMA and near.codec == PCMU
    assert [r.end for r in results] == [BridgeEnd.AGENT]
    audio_at_agent = [p for pt, p in at_agent if pt != TELEPHONE_EVENT]
    audio_at_callee = [p for pt, p in at_callee if pt != TELEPHONE_EVENT]
    assert {pt for pt, _ in at_agent} == {PCMA} and {pt for pt, _ in at_callee} == {PCMU}
    # each payload arrives as the other law's encoding of what was sent
    to_a = transcode_table(PCMU, PCMA)
    to_u = transcode_table(PCMA, PCMU)
    sent_as_a = {p.translate(to_a) for p in callee_sent}
    sent_as_u = {p.translate(to_u) for p in agent_sent}
    assert len(audio_at_agent) >= 30 and len(audio_at_callee) >= 30
    assert sum(p in sent_as_a for p in audio_at_agent) >= 0.9 * len(audio_at_agent)
    assert sum(p in sent_as_u for p in audio_at_callee) >= 0.9 * len(audio_at_callee)


async def test_opt_out_key_during_the_bridge(
    telephony, peers, kit: SimpleNamespace, results: list[BridgeResult]
) -> None:
    """776 presses its 4th digit (5) 2 s after the answer: the key reaches the agent as an RFC
    4733 event, and it is the campaign's opt-out key, so the bridge ends (BYE to the agent)
    and the call is hung up as opted out."""
    callee = await peers()
    agent = await peers(Agent)
    tel = await telephony()
    request = kit.call_request(
        kit.sip(f"7765000@{callee.address}"), actions=[connect(f"7781@{agent.address}")]
    )
    request = dataclasses.replace(request, opt_out_key="5")
    outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 10)
    assert outcome.opted_out and outcome.digits == "5"
    assert results == []  # the bridge was cancelled, not finished
    far = next(iter(agent.calls.values()))
    await asyncio.wait_for(far.done.wait(), 3)
    assert far.bye_received
    assert [k.digit for k in far.keys_heard] == ["5"]  # relayed to the agent
    assert next(iter(callee.calls.values())).bye_received


async def test_cancelling_the_call_hangs_up_both_legs(
    telephony, peers, kit: SimpleNamespace
) -> None:
    callee = await peers()
    agent = await peers(Agent)
    tel = await telephony()
    request = kit.call_request(
        kit.sip(f"{CALLEE}@{callee.address}"), actions=[connect(f"7781@{agent.address}")]
    )
    call = asyncio.create_task(tel.place_call(request, kit.no_op))
    far = await answered_call(agent)
    await asyncio.sleep(0.3)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await asyncio.wait_for(far.done.wait(), 3)
    assert far.bye_received
    near = next(iter(callee.calls.values()))
    await asyncio.wait_for(near.done.wait(), 3)
    assert near.bye_received


async def test_callee_hangs_up_while_the_agent_rings(
    telephony, peers, kit: SimpleNamespace, results: list[BridgeResult]
) -> None:
    callee = await peers(hangup_after_ms=500)
    agent = await peers(Agent)
    tel = await telephony()
    request = kit.call_request(
        kit.sip(f"{CALLEE}@{callee.address}"), actions=[connect(f"4081@{agent.address}")]
    )
    outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 10)
    assert outcome.detail == "the far end hung up"
    assert [(r.end, r.answer_ms, r.talk_ms) for r in results] == [(BridgeEnd.CALLEE, 0, 0)]
    far = next(iter(agent.calls.values()))
    assert far.cancelled


async def test_blocked_destination_is_not_dialed(
    telephony, peers, kit: SimpleNamespace, results: list[BridgeResult]
) -> None:
    """The agent leg follows the network policy like any call: 10.0.0.1 is not allowed."""
    callee = await peers()
    tel = await telephony()
    request = kit.call_request(
        kit.sip(f"{CALLEE}@{callee.address}"),
        actions=[connect("7781@10.0.0.1:5060"), {"type": "sleep", "option": {"duration": 100}}],
    )
    outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 10)
    assert outcome.detail == "hung up after the actions"
    assert [(r.end, r.sip_code) for r in results] == [(BridgeEnd.NOT_ANSWERED, 0)]


async def test_a_recording_keeps_both_sides_of_the_conversation(
    telephony, peers, kit: SimpleNamespace, results: list[BridgeResult], tmp_path
) -> None:
    """recording_start, then connect: the callee (left) and the agent (right, relayed to the
    callee by outdial) are both in the file. Only the agent talks here (the callee is silent),
    so the right channel carries its voice and the left stays quiet."""
    callee = await peers()
    agent = await peers(Agent, hangup_after_ms=2500)
    tel = await telephony()
    actions = [{"type": "recording_start", "option": {"format": "wav"}},
               connect(f"7781@{agent.address}")]  # fmt: skip
    request = dataclasses.replace(
        kit.call_request(kit.sip(f"5551000@{callee.address}"), actions=actions),
        recordings_dir=str(tmp_path),
    )
    outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 10)
    assert [r.end for r in results] == [BridgeEnd.AGENT]
    (file,) = outcome.recordings
    assert file.status == "done" and file.channels == 2
    with wave.open(file.path, "rb") as wav:
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    left, right = np.abs(frames[:, 0]).astype(int), np.abs(frames[:, 1]).astype(int)
    assert right.max() > 1000, right.max()  # the agent's greeting
    assert left.max() < 200, left.max()  # the silent callee


async def test_a_tel_agent_goes_through_the_trunk(
    telephony, peers, kit: SimpleNamespace, results: list[BridgeResult]
) -> None:
    """A `tel` destination is dialed through the trunk, like a call to a tel target."""
    callee = await peers()
    trunk = await peers(Agent, hangup_after_ms=400)
    tel = await telephony(("127.0.0.1", trunk.port))
    request = kit.call_request(
        kit.sip(f"{CALLEE}@{callee.address}"),
        actions=[{"type": "connect", "option": {"destinations": [
            {"type": "tel", "target": "+77812345678"}]}}],
    )  # fmt: skip
    outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 10)
    assert outcome.answered
    assert [(r.end, r.sip_code) for r in results] == [(BridgeEnd.AGENT, 200)]
    (leg,) = trunk.calls.values()
    assert leg.user == "+77812345678"


class Mute(Agent):
    """Answers 200 with no SDP at all: nothing could be relayed."""

    def _sdp(self, call: PeerCall, offer: Any) -> bytes:
        super()._sdp(call, offer)
        return b""


async def test_an_agent_answer_without_audio_is_not_a_connection(
    telephony, peers, kit: SimpleNamespace, results: list[BridgeResult]
) -> None:
    callee = await peers()
    agent = await peers(Mute)
    tel = await telephony()
    request = kit.call_request(
        kit.sip(f"{CALLEE}@{callee.address}"),
        actions=[connect(f"7781@{agent.address}"), {"type": "sleep", "option": {"duration": 100}}],
    )
    outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 10)
    assert outcome.detail == "hung up after the actions"  # the sleep ran: the callee stayed
    assert [(r.end, r.sip_code) for r in results] == [(BridgeEnd.NOT_ANSWERED, 200)]
    far = next(iter(agent.calls.values()))
    await asyncio.wait_for(far.done.wait(), 3)
    assert far.bye_received  # answered, so hung up with BYE


class RingAll:
    """A connector (as the engine's desk is) that rings two addresses at once (`ringall`)."""

    def __init__(self, first: str, second: str) -> None:
        self.targets = (first, second)
        self.answered: list[int] = []

    async def run(self, kind: str, option: dict[str, Any], media: Any) -> bool:
        from outdial.domain.address import Address, AddressType

        first, second = (Address(AddressType.SIP, t) for t in self.targets)

        async def on_answer(ms: int) -> None:
            self.answered.append(ms)

        result = await media.bridge(first, 5000, ring_also=[second], on_answer=on_answer)
        return result.connected


async def test_ringall_first_answer_wins_the_other_gets_cancel(
    telephony, peers, kit: SimpleNamespace, results: list[BridgeResult]
) -> None:
    """Two INVITEs at once: 4081 never answers, 7781 answers (and hangs up after 300 ms). The
    bridge connects 7781 (index 1), the ringing 4081 leg gets CANCEL, on_answer came once."""
    callee = await peers()
    phones = await peers(Agent, hangup_after_ms=300)
    tel = await telephony()
    ringall = RingAll(f"4081@{phones.address}", f"7781@{phones.address}")
    request = dataclasses.replace(
        kit.call_request(
            kit.sip(f"{CALLEE}@{callee.address}"),
            actions=[{"type": "queue_join", "option": {}}],
        ),
        connector=ringall,
    )
    outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 10)
    assert outcome.answered
    [result] = results
    assert (result.end, result.sip_code, result.index) == (BridgeEnd.AGENT, 200, 1)
    assert len(ringall.answered) == 1 and ringall.answered[0] == result.answer_ms
    legs = {call.user: call for call in phones.calls.values()}
    assert legs["4081"].cancelled and legs["7781"].final_code == 200
