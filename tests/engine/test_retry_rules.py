"""Retry rules per outcome, order and priority, and rescheduling (issue 17, SPEC 3.9-3.10), on
the simulated telephony and the FakeClock, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.domain.errors import FailedPrecondition, InvalidArgument
from outdial.services.container import Services
from outdial.storage.tables import events
from tests.engine.harness import Harness

BUSY = "+4865550001"  # 486 Busy Here: busy, fail
NOANSWER = "+4805550001"  # 480: noanswer, fail
FAILED_503 = "+5035550001"  # 503: failed, fail, sip_code 503
OK = "+15550002"  # answers: success
SLOW = 3_600_000  # a try_interval no test waits for: the rule's interval is what counts


def _plan(rules: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return {"try_interval": SLOW, "retry_rules": rules, **kw}


async def _settle(h: Harness, rounds: int = 8) -> None:
    await h.tick(0.1, rounds=rounds)


async def _wait(h: Harness, seconds: float) -> None:
    """Let `seconds` pass on the FakeClock with the engine stepping (1 s ticks)."""
    for _ in range(int(seconds)):
        await h.tick(1.0)


async def test_busy_is_retried_after_the_rules_interval_up_to_max_tries(
    services: Services, clock: FakeClock
) -> None:
    rule = {"when": {"hangup_reason": "busy"}, "interval_ms": 300_000, "max_tries": 2}
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(
            [BUSY], outplan=_plan([rule], max_try_count_0=5), end_handle="continue"
        )
        await h.run(campaign.id)
        await _settle(h)
        assert len(await h.calls(campaign.id)) == 1
        (target,) = await h.targets(outdial.id)
        why = await services.eligibility.target(h.customer_id, outdial.id, target.id, None)
        (reason,) = [r for r in why.reasons if r.blocking]
        assert reason.reason.value == "retry_rule"
        assert reason.detail.startswith("busy: next try at ") and reason.detail.endswith(
            " by rule 1"
        )
        assert reason.clears_at == target.last_attempt_end + timedelta(minutes=5)
        await _wait(h, 295)
        assert len(await h.calls(campaign.id)) == 1  # not before 5 minutes
        await _wait(h, 10)
        await _settle(h)
        assert len(await h.calls(campaign.id)) == 2
        # max_tries 2 reached: destination_0 is used up (try count at its limit), none left
        (target,) = await h.targets(outdial.id)
        assert target.status == "done" and target.try_counts[0] == 5
        await _wait(h, 400)
        assert len(await h.calls(campaign.id)) == 2


async def test_next_destination_moves_on_after_the_interval(
    services: Services, clock: FakeClock
) -> None:
    rule = {
        "when": {"hangup_reason": "noanswer"},
        "interval_ms": 60_000,
        "then": "next_destination",
    }
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(
            [[NOANSWER, OK]],
            outplan=_plan([rule], max_try_count_0=3, max_try_count_1=1),
            end_handle="continue",
        )
        await h.run(campaign.id)
        await _settle(h)
        (target,) = await h.targets(outdial.id)
        assert target.status == "idle" and target.try_counts[:2] == (3, 0)
        await _wait(h, 55)
        assert len(await h.calls(campaign.id)) == 1
        await _wait(h, 10)
        await _settle(h)
        calls = sorted(await h.calls(campaign.id), key=lambda c: c.tm_create)
        assert [c.destination_index for c in calls] == [0, 1]
        (target,) = await h.targets(outdial.id)
        assert target.status == "done"


async def test_finish_by_sip_code_makes_the_target_done(
    services: Services, clock: FakeClock
) -> None:
    rules = [
        {"when": {"hangup_reason": "busy"}, "interval_ms": 1000},
        {"when": {"sip_code": 503}, "then": "finish"},
    ]
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(
            [FAILED_503], outplan=_plan(rules, try_interval=0, max_try_count_0=5)
        )
        await h.run(campaign.id)
        await _settle(h)
        await _wait(h, 5)
        (target,) = await h.targets(outdial.id)
        assert target.status == "done" and target.try_counts[0] == 1
        assert len(await h.calls(campaign.id)) == 1


async def test_no_matching_rule_keeps_try_interval(services: Services, clock: FakeClock) -> None:
    rule = {"when": {"hangup_reason": "busy"}, "interval_ms": 1000, "then": "finish"}
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(
            [NOANSWER], outplan=_plan([rule], try_interval=60_000, max_try_count_0=2)
        )
        await h.run(campaign.id)
        await _settle(h)
        (target,) = await h.targets(outdial.id)
        assert target.status == "idle" and target.retry_at is None
        why = await services.eligibility.target(h.customer_id, outdial.id, target.id, None)
        assert [r.reason.value for r in why.reasons if r.blocking] == ["cooling_down"]
        await _wait(h, 55)
        assert len(await h.calls(campaign.id)) == 1
        await _wait(h, 8)
        await _settle(h)
        assert len(await h.calls(campaign.id)) == 2


async def _add(h: Harness, outdial_id: uuid.UUID, number: str, priority: int = 0) -> Any:
    body = {"destination_0": {"type": "tel", "target": number}, "priority": priority}
    return await h.services.targets.create(h.customer_id, outdial_id, body)


async def _dial_order(h: Harness, campaign_id: uuid.UUID, count: int) -> list[str]:
    await h.run(campaign_id)
    for _ in range(count * 10):
        await h.tick(0.1)
    calls = sorted(await h.calls(campaign_id), key=lambda c: (c.tm_create, c.id))
    assert len(calls) == count
    return [c.destination.target for c in calls]


async def test_priority_order_dials_higher_priority_first(
    services: Services, clock: FakeClock
) -> None:
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(
            [], outplan={"order": "priority"}, max_concurrent_calls=1
        )
        numbers = {f"+1555100000{p}": p for p in (0, 5, 9, 3, 7)}
        for number, priority in numbers.items():
            await _add(h, outdial.id, number, priority)
            await clock.advance(1)
        order = await _dial_order(h, campaign.id, len(numbers))
        assert [numbers[n] for n in order] == [9, 7, 5, 3, 0]


@pytest.mark.parametrize(
    ("order", "expected"), [("fifo", ["a", "b", "c"]), ("oldest_attempt_first", ["b", "c", "a"])]
)
async def test_fifo_is_creation_order_and_the_default_is_least_recently_updated(
    services: Services, clock: FakeClock, order: str, expected: list[str]
) -> None:
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup([], outplan={"order": order}, max_concurrent_calls=1)
        made = {}
        for name, number in (("a", "+15551000001"), ("b", "+15551000002"), ("c", "+15551000003")):
            made[name] = await _add(h, outdial.id, number, priority=9 if name == "c" else 0)
            await clock.advance(1)
        # `a` changes last (rescheduled to a time already past): updated after b and c
        past = "2000-01-01T00:00:00Z"
        await services.targets.schedule(
            h.customer_id, outdial.id, made["a"].id, {"not_before": past}
        )
        by_number = {t.destinations[0].target: name for name, t in made.items()}
        got = await _dial_order(h, campaign.id, 3)
        assert [by_number[n] for n in got] == expected


async def test_schedule_waits_and_starts_with_the_destination(
    services: Services, clock: FakeClock
) -> None:
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(
            [[OK, "+15550003"]], outplan={"try_interval": 0}, end_handle="continue"
        )
        (target,) = await h.targets(outdial.id)
        when = datetime.fromtimestamp(int(clock.now().timestamp()) + 600, tz=UTC)
        scheduled = await services.targets.schedule(
            h.customer_id,
            outdial.id,
            target.id,
            {"not_before": when.isoformat(), "destination": 1},
        )
        assert scheduled.retry_at == when
        assert scheduled.start_destination == 1
        why = await services.eligibility.target(h.customer_id, outdial.id, target.id, campaign.id)
        (reason,) = [
            r for r in why.reasons if r.blocking and r.reason.value != "campaign_not_running"
        ]
        assert reason.reason.value == "scheduled" and "destination_1" in reason.detail
        await h.run(campaign.id)
        await _wait(h, 595)
        assert await h.calls(campaign.id) == []
        await _wait(h, 10)
        await _settle(h)
        (call,) = await h.calls(campaign.id)
        assert call.destination_index == 1
        (target,) = await h.targets(outdial.id)
        assert target.status == "done" and target.start_destination is None
        async with services.ctx.db.read() as conn:
            types = (await conn.execute(sa.select(events.c.type))).scalars().all()
        assert "outdialtarget_scheduled" in types
        # a done target cannot be scheduled (another engineer's `reset` gives it tries back)
        with pytest.raises(FailedPrecondition, match="idle"):
            await services.targets.schedule(
                h.customer_id, outdial.id, target.id, {"not_before": when.isoformat()}
            )


async def test_schedule_validates(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        _, outdial, _ = await h.setup([OK])
        (target,) = await h.targets(outdial.id)
        me, oid = h.customer_id, outdial.id
        with pytest.raises(InvalidArgument, match="not_before"):
            await services.targets.schedule(me, oid, target.id, {})
        with pytest.raises(InvalidArgument, match="not_before"):
            await services.targets.schedule(me, oid, target.id, {"not_before": "tomorrow"})
        with pytest.raises(InvalidArgument, match="destination"):
            await services.targets.schedule(
                me, oid, target.id, {"not_before": "2030-01-01T00:00:00Z", "destination": 5}
            )
        with pytest.raises(FailedPrecondition, match="destination_2"):
            await services.targets.schedule(
                me, oid, target.id, {"not_before": "2030-01-01T00:00:00Z", "destination": 2}
            )


async def test_a_target_made_done_by_the_claim_waits_for_nothing(
    services: Services, clock: FakeClock
) -> None:
    """A target waiting a rule's interval whose destinations are then all disabled is made
    done by the next claim (it is met whether due or not) and keeps no `retry_at`: a later
    reset or recycle starts it afresh."""
    rule = {"when": {"hangup_reason": "busy"}, "interval_ms": 3_600_000}
    async with Harness(services, clock) as h:
        plan, outdial, campaign = await h.setup(
            [BUSY], outplan=_plan([rule], max_try_count_0=5), end_handle="continue"
        )
        await h.run(campaign.id)
        await _settle(h)
        (target,) = await h.targets(outdial.id)
        assert target.status == "idle" and target.retry_at is not None
        await services.outplans.update(
            h.customer_id, plan.id, {"max_try_count_0": 0, "max_try_count_1": 0}, dial=True
        )
        await _settle(h)
        (target,) = await h.targets(outdial.id)
        assert target.status == "done"
        assert (target.retry_at, target.retry_note, target.start_destination) == (None, None, None)
