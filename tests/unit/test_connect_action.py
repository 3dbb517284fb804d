"""The `connect` action in the interpreter: which destinations are tried, in which order, and
what the call does after each bridge result (the bridging itself: tests/sip/test_bridge.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from outdial.domain.address import Address, AddressType
from outdial.domain.outcome import HangupReason
from outdial.telephony.bridge import BridgeEnd, BridgeResult
from outdial.telephony.interpreter import CONNECT_RING_MS, CallScript


class FakeMedia:
    """Answers `bridge` from a script of results; records what was asked."""

    def __init__(self, results: dict[str, BridgeResult]) -> None:
        self.results = results
        self.asked: list[tuple[Address, int]] = []
        self.slept: list[int] = []

    def now(self) -> datetime:
        return datetime.now(UTC)

    def started(self) -> None:
        return None

    async def silence(self, ms: int) -> None:
        self.slept.append(ms)

    async def bridge(self, destination: Address, ring_timeout_ms: int) -> BridgeResult:
        self.asked.append((destination, ring_timeout_ms))
        await asyncio.sleep(0)
        return self.results.get(destination.target, BridgeResult(BridgeEnd.NOT_ANSWERED, 486))


def connect(*destinations: Any) -> dict[str, Any]:
    return {"type": "connect", "option": {"destinations": list(destinations)}}


def tel(number: str) -> dict[str, str]:
    return {"type": "tel", "target": number}


SLEEP = {"type": "sleep", "option": {"duration": 100}}


async def run(actions: list[dict[str, Any]], media: FakeMedia) -> Any:
    script = CallScript(actions, media, call_id=uuid.uuid4())  # type: ignore[arg-type]
    return await script.run()


async def test_the_first_that_answers_is_connected_and_ends_the_call() -> None:
    media = FakeMedia({"+15550002000": BridgeResult(BridgeEnd.AGENT, 200, 900, 5000)})
    actions = [connect(tel("+15550001000"), tel("+15550002000"), tel("+15550003000")), SLEEP]
    result = await run(actions, media)
    assert [(d.target, ms) for d, ms in media.asked] == [
        ("+15550001000", CONNECT_RING_MS), ("+15550002000", CONNECT_RING_MS),
    ]  # fmt: skip
    assert [r.end for r in result.bridges] == [BridgeEnd.NOT_ANSWERED, BridgeEnd.AGENT]
    assert result.played == ["connect"] and media.slept == []  # the sleep never ran
    assert result.reason is HangupReason.NORMAL


async def test_none_answering_lets_the_actions_go_on() -> None:
    media = FakeMedia({})
    result = await run([connect(tel("+15550001000")), SLEEP], media)
    assert [r.end for r in result.bridges] == [BridgeEnd.NOT_ANSWERED]
    assert result.played == ["connect", "sleep"] and media.slept == [100]


async def test_bad_and_undialable_destinations_are_skipped() -> None:
    media = FakeMedia({"agent@127.0.0.1": BridgeResult(BridgeEnd.CALLEE, 200, 10, 10)})
    actions = [connect(
        "not an address",
        {"type": "tel", "target": "12"},  # not E.164
        {"type": "agent", "target": str(uuid.uuid4())},  # not dialable here
        {"type": "sip", "target": "agent@127.0.0.1"},
    )]  # fmt: skip
    result = await run(actions, media)
    assert [(d.type, d.target) for d, _ in media.asked] == [(AddressType.SIP, "agent@127.0.0.1")]
    assert [r.end for r in result.bridges] == [BridgeEnd.CALLEE]


async def test_connect_without_destinations_does_nothing() -> None:
    media = FakeMedia({})
    for option in ({}, {"destinations": []}, {"destinations": "x"}):
        result = await run([{"type": "connect", "option": option}, SLEEP], media)
        assert media.asked == [] and result.played[-1] == "sleep" and result.bridges == []
