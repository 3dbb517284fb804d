"""Issue 10, item 2 at dial time: a `play` URL whose host *name* resolves inside ends the
attempt `failed` (detail `destination_blocked`) before anything is dialed; names are resolved
only when used, never when the actions are written."""

from __future__ import annotations

import logging
import uuid

import pytest

from outdial.clock import FakeClock
from outdial.domain.netpolicy import NetworkPolicy
from outdial.domain.outcome import CallOutcome
from outdial.engine.outbound import PlayGuard, play_hosts
from outdial.services.container import Services
from outdial.storage.db import Database
from outdial.telephony.base import CallRequest, OnAnswer
from tests.engine.harness import Harness


def _record_calls(h: Harness) -> set[uuid.UUID]:
    """The call ids handed to the simulated telephony (the engine may also be dialing other
    tests' campaigns in the shared database)."""
    placed: set[uuid.UUID] = set()
    real = h.sim.place_call

    async def place_call(request: CallRequest, on_answer: OnAnswer) -> CallOutcome:
        placed.add(request.call_id)
        return await real(request, on_answer)

    h.sim.place_call = place_call  # type: ignore[method-assign]
    return placed


def play(url: str) -> list[dict[str, object]]:
    return [{"type": "play", "option": {"stream_urls": [url]}}]


async def test_a_play_host_resolving_inside_fails_the_attempt_undialed(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    services = Services.build(db, clock)  # the operator's default: nothing private open
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(
            ["+15550001"],
            outplan={"max_try_count_0": 1, "try_interval": 0},
            actions=play("http://localhost:8000/greeting.wav"),  # a name: taken when written
            calls_per_second=100,
        )
        placed = _record_calls(h)
        await h.run(campaign.id)
        with caplog.at_level(logging.WARNING, logger="outdial.engine"):
            await h.tick(0.1, rounds=5)
        calls = await h.calls(campaign.id)
        assert [(c.status, c.result, c.hangup_reason) for c in calls] == [
            ("done", "fail", "failed")
        ]
        assert calls[0].reference_id not in placed  # never handed to the telephony
        assert "play URL host localhost is loopback" in caplog.text
        assert [t.status for t in await h.targets(outdial.id)] == ["done"]


async def test_play_hosts_allowed_by_the_policy_dial_as_usual(
    services: Services, clock: FakeClock
) -> None:
    async with Harness(services, clock) as h:  # the suite's services open loopback
        _, _, campaign = await h.setup(
            ["+15550001"],
            outplan={"max_try_count_0": 1, "try_interval": 0},
            actions=play("http://localhost:8000/greeting.wav"),
            calls_per_second=100,
        )
        placed = _record_calls(h)
        await h.run(campaign.id)
        await h.tick(0.1, rounds=10)
        (call,) = await h.calls(campaign.id)
        assert call.reference_id in placed


async def test_the_guard_reads_only_play_urls_and_caches_verdicts() -> None:
    actions = [
        *play("https://localhost/a.wav"),
        *play("media:6f1c2d3e-0000-4000-8000-000000000001"),
        {"type": "talk", "option": {"text": "http://localhost/not-a-url-to-fetch"}},
        {"type": "play", "option": {"stream_urls": ["http://localhost:81/b.wav", 5]}},
    ]
    assert play_hosts(actions) == {("localhost", 443), ("localhost", 81)}
    guard = PlayGuard(NetworkPolicy())
    assert await guard.blocked(actions) == "play URL host localhost is loopback"
    assert await PlayGuard(NetworkPolicy.from_text("127.0.0.0/8,::1/128")).blocked(actions) is None
    assert guard._verdicts[("localhost", 81)][1] == "loopback"  # remembered for cache_s
