"""Nailed-up agent legs over SIP (issue 13; telephony/sip/nailed.py): `SipTelephony.open_leg`
INVITEs the agent once and keeps the leg; callees bridged to `nailed:<agent id>` are relayed to
it without a new INVITE; the callee's hang-up leaves the leg up; the agent's BYE ends it.

The callees and the agent are answering peers' 778 ("Hello?" 400-1100 ms after the answer,
then silence, all sent as RTP). Between callees outdial sends the agent G.711 silence, so a
packet with sound in it at the agent can only be a callee's, relayed."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from outdial.domain.agents import DEFAULT_RING_TIMEOUT_MS
from outdial.domain.outcome import HangupReason
from outdial.telephony.base import CallRequest
from outdial.telephony.bridge import (
    NAILED_PREFIX,
    BridgeEnd,
    BridgeResult,
    nailed_address,
    phone_address,
)
from outdial.telephony.sip import nailed
from outdial.telephony.sip.g711 import ULAW_SILENCE
from outdial.telephony.sip.peer import PeerCall
from tests.sip.conftest import record_results

AGENT_USER = "7780001"  # talks ("Hello?", then silence sent for 20 s): heard by the callee
CALLEE = "7781000"


@pytest.fixture
def results(monkeypatch: pytest.MonkeyPatch) -> list[BridgeResult]:
    """Every BridgeResult of a bridge to a nailed-up leg, in order."""
    return record_results(monkeypatch, nailed, "bridge_nailed")


def heard_by(call: PeerCall) -> list[bytes]:
    """The payloads the peer's call receives from now on."""
    heard: list[bytes] = []
    stream = call.stream
    assert stream is not None
    before = stream.on_packet

    def on_packet(data: bytes) -> None:
        heard.append(data[12:])
        if before is not None:
            before(data)

    stream.on_packet = on_packet
    return heard


def voiced(payloads: list[bytes]) -> int:
    """Packets with sound in them (μ-law codes other than the two zeros)."""
    return sum(1 for p in payloads if p.strip(bytes([ULAW_SILENCE, 0x7F])))


class Desk:
    """The engine desk's part (engine/desk.py `CallConnector`): `queue_join` bridges the call
    to the agent's nailed-up leg. (A campaign's own `connect` cannot name `nailed:` targets.)"""

    def __init__(self, agent_id: uuid.UUID) -> None:
        self.agent_id = agent_id

    async def run(self, kind: str, option: dict[str, Any], media: Any) -> bool:
        result = await media.bridge(nailed_address(self.agent_id), DEFAULT_RING_TIMEOUT_MS)
        return bool(result.connected)


JOIN = {"type": "queue_join", "option": {}}


def to_leg(request: CallRequest, agent_id: uuid.UUID) -> CallRequest:
    return dataclasses.replace(request, connector=Desk(agent_id))


async def test_one_invite_serves_two_callees(
    telephony, peers, kit: SimpleNamespace, results: list[BridgeResult]
) -> None:
    agent = await peers()
    callees = await peers(hangup_after_ms=1500)
    tel = await telephony()
    agent_id = uuid.uuid4()
    leg = await tel.open_leg(agent_id, kit.sip(f"{AGENT_USER}@{agent.address}"))
    assert leg is not None and tel.legs_opened == 1
    assert tel.local_leg(f"{NAILED_PREFIX}{agent_id}") is leg
    (far,) = agent.calls.values()
    at_agent = heard_by(far)
    await asyncio.sleep(0.5)
    idle = list(at_agent)
    # silence keeps the leg's RTP flowing between callees (NAT, firewalls): ~25 packets
    assert len(idle) >= 10 and voiced(idle) == 0, len(idle)
    for n in (1, 2):
        before = len(at_agent)
        request = to_leg(
            kit.call_request(kit.sip(f"{CALLEE}@{callees.address}"), actions=[JOIN]), agent_id
        )
        outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 10)
        assert (outcome.reason, outcome.detail) == (HangupReason.NORMAL, "the far end hung up")
        assert [r.end for r in results] == [BridgeEnd.CALLEE] * n
        assert results[-1].answer_ms < 300  # no ring: connected as the actions start
        # the callee's "Hello?" (700 ms, 35 packets) reached the agent on the same leg
        assert voiced(at_agent[before:]) >= 20, voiced(at_agent[before:])
        callee = callees.calls[str(request.call_id)]
        assert callee.rtp_packets >= 30  # the agent's side reached the callee
        assert not callee.bye_received  # it hung up itself
    # one INVITE for both callees; the leg is still up, the agent got no BYE
    assert (len(agent.calls), far.invites, far.bye_received) == (1, 1, False)
    assert leg.conversations == 2 and not leg.ended.done()
    after = len(at_agent)
    await asyncio.sleep(0.4)
    assert len(at_agent) - after >= 8  # the silence again after the last callee (~20)
    assert voiced(at_agent[after:]) == 0
    leg.hang_up()
    assert await asyncio.wait_for(asyncio.shield(leg.ended), 5) == nailed.HUNG_UP
    await asyncio.wait_for(far.done.wait(), 3)
    assert far.bye_received and tel.nailed == {}


async def test_agent_hangs_up_during_a_conversation(
    telephony, peers, kit: SimpleNamespace, results: list[BridgeResult]
) -> None:
    agent = await peers(hangup_after_ms=1500)
    callees = await peers()
    tel = await telephony()
    agent_id = uuid.uuid4()
    leg = await tel.open_leg(agent_id, kit.sip(f"{AGENT_USER}@{agent.address}"))
    assert leg is not None
    request = to_leg(
        kit.call_request(kit.sip(f"{CALLEE}@{callees.address}"), actions=[JOIN]), agent_id
    )
    outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 10)
    assert (outcome.reason, outcome.answered) == (HangupReason.NORMAL, True)
    assert [r.end for r in results] == [BridgeEnd.AGENT]
    assert leg.ended.result() == nailed.AGENT_BYE  # the desk makes the agent offline
    assert tel.nailed == {} and tel.local_leg(f"{NAILED_PREFIX}{agent_id}") is None
    callee = callees.calls[str(request.call_id)]
    await asyncio.wait_for(callee.done.wait(), 3)
    assert callee.bye_received  # outdial hung the callee up after the agent's BYE
    # a later callee finds no leg: not answered (the desk rings the agent instead)
    again = to_leg(
        kit.call_request(
            kit.sip(f"{CALLEE}@{callees.address}"),
            actions=[JOIN, {"type": "sleep", "option": {"duration": 100}}],
        ),
        agent_id,
    )
    outcome = await asyncio.wait_for(tel.place_call(again, kit.no_op), 10)
    assert outcome.detail == "hung up after the actions"
    assert [(r.end, r.sip_code) for r in results[1:]] == [(BridgeEnd.NOT_ANSWERED, 480)]


async def test_a_leg_takes_one_callee_at_a_time(
    telephony, peers, kit: SimpleNamespace, results: list[BridgeResult]
) -> None:
    agent = await peers()
    callees = await peers(hangup_after_ms=1200)
    tel = await telephony()
    agent_id = uuid.uuid4()
    leg = await tel.open_leg(agent_id, kit.sip(f"{AGENT_USER}@{agent.address}"))
    assert leg is not None
    first = to_leg(
        kit.call_request(kit.sip(f"{CALLEE}@{callees.address}"), actions=[JOIN]), agent_id
    )
    later = [{"type": "sleep", "option": {"duration": 300}}, JOIN,
             {"type": "sleep", "option": {"duration": 100}}]  # fmt: skip
    second = to_leg(kit.call_request(kit.sip(f"{CALLEE}@{callees.address}"), actions=later),
                    agent_id)  # fmt: skip
    one, two = await asyncio.wait_for(
        asyncio.gather(tel.place_call(first, kit.no_op), tel.place_call(second, kit.no_op)), 10
    )
    assert one.detail == "the far end hung up"
    assert two.detail == "hung up after the actions"  # the leg was busy: the actions went on
    assert [(r.end, r.sip_code) for r in results] == [
        (BridgeEnd.NOT_ANSWERED, 480), (BridgeEnd.CALLEE, 200)
    ]  # fmt: skip
    assert leg.conversations == 1 and not leg.ended.done()
    leg.hang_up()
    await asyncio.wait_for(asyncio.shield(leg.ended), 5)


async def test_not_answered_and_not_dialable(telephony, peers, kit: SimpleNamespace) -> None:
    agent = await peers()
    tel = await telephony()
    busy = await tel.open_leg(uuid.uuid4(), kit.sip(f"4860001@{agent.address}"))
    assert busy is None and tel.nailed == {}
    (call,) = agent.calls.values()
    assert call.final_code == 486
    blocked = await tel.open_leg(uuid.uuid4(), kit.sip("7790001@10.1.2.3:5060"))
    assert blocked is None  # the network policy refuses it (only loopback here): not sent
    assert len(agent.calls) == 1


async def test_stop_sends_bye_to_open_legs(telephony, peers, kit: SimpleNamespace) -> None:
    agent = await peers()
    tel = await telephony()
    leg = await tel.open_leg(uuid.uuid4(), kit.sip(f"{AGENT_USER}@{agent.address}"))
    assert leg is not None
    (far,) = agent.calls.values()
    await tel.close_legs()  # what `stop` does first (the engine's shutdown)
    assert leg.ended.result() == nailed.HUNG_UP
    await asyncio.wait_for(far.done.wait(), 3)
    assert far.bye_received and tel.nailed == {}


class PhoneDesk:
    """Bridges to `webrtc:<agent id>`, a target `SipTelephony.local_legs` resolves: the leg's
    `LocalLeg` side (PCM in and out, `b2bua.bridge_local`) instead of the RTP relay."""

    def __init__(self, agent_id: uuid.UUID) -> None:
        self.agent_id = agent_id

    async def run(self, kind: str, option: dict[str, Any], media: Any) -> bool:
        result = await media.bridge(phone_address(self.agent_id), DEFAULT_RING_TIMEOUT_MS)
        return bool(result.connected)


async def test_the_leg_as_a_local_leg_carries_pcm(telephony, peers, kit: SimpleNamespace) -> None:
    agent = await peers()
    callees = await peers(hangup_after_ms=1500)
    tel = await telephony()
    agent_id = uuid.uuid4()
    leg = await tel.open_leg(agent_id, kit.sip(f"{AGENT_USER}@{agent.address}"))
    assert leg is not None
    tel.local_legs = lambda target: leg
    (far,) = agent.calls.values()
    at_agent = heard_by(far)
    request = dataclasses.replace(
        kit.call_request(kit.sip(f"{CALLEE}@{callees.address}"), actions=[JOIN]),
        connector=PhoneDesk(agent_id),
    )
    outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 10)
    assert outcome.detail == "the far end hung up"
    assert voiced(at_agent) >= 20  # the callee's "Hello?", as PCM encoded again
    callee = callees.calls[str(request.call_id)]
    assert callee.rtp_packets >= 30  # the agent's RTP, decoded to PCM and encoded again
    assert leg.conversations == 1 and not leg.busy and not leg.ended.done()
    assert far.stream is not None and not far.bye_received
    leg.hang_up()
    await asyncio.wait_for(asyncio.shield(leg.ended), 5)
