"""Compliance rules in the claim (issue 6), on the FakeClock (start: Monday 2026-01-05 12:00 UTC).

No attempt starts outside its calling window or to a number on a live do-not-call entry; a
target outside its window sleeps without blocking others and is dialed when the window opens;
per-number limits hold across the customer's campaigns.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.domain.callwindow import is_open, parse_call_window
from outdial.domain.timezones import zones_for_destination
from outdial.services.container import Services
from outdial.storage.tables import dial_skips
from tests.engine.harness import Harness

NEW_YORK = "+12125550101"  # America/New_York: 07:00 local at the start
LONDON = "+442079460101"  # Europe/London: 12:00 local at the start
WINDOW = {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00", "timezone": "UTC"}


async def _skips(services: Services, campaign_id: Any) -> list[Any]:
    async with services.ctx.db.read() as conn:
        stmt = sa.select(dial_skips).where(dial_skips.c.campaign_id == campaign_id)
        return list((await conn.execute(stmt.order_by(dial_skips.c.tm_create))).all())


def _assert_inside(calls: list[Any], window: dict[str, Any]) -> None:
    parsed = parse_call_window(window)
    assert parsed is not None
    for call in calls:
        zones = zones_for_destination("tel", call.destination.target, None, "UTC")
        assert is_open(parsed, call.tm_create, zones), (call.destination.target, call.tm_create)


async def test_window_sleeps_target_without_blocking_others(
    services: Services, clock: FakeClock
) -> None:
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(
            [NEW_YORK, LONDON],
            calls_per_second=100,
            outplan={"call_window": WINDOW, "max_try_count_0": 1},
        )
        await h.run(campaign.id)
        await h.tick(0.5, rounds=6)
        calls = await h.calls(campaign.id)
        assert [c.destination.target for c in calls] == [LONDON]
        ny = next(t for t in await h.targets(outdial.id) if t.destinations[0].target == NEW_YORK)
        opens = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)  # 09:00 EST
        assert ny.status == "idle" and ny.not_before == opens
        [skip] = await _skips(services, campaign.id)
        assert (skip.reason, skip.number, skip.destination_index) == ("window_closed", NEW_YORK, 0)
        assert "America/New_York Mon 07:00" in skip.detail
        # the sleeping target is not re-examined every round: still one skip after many rounds
        await h.tick(60.0, rounds=10)
        assert len(await _skips(services, campaign.id)) == 1
        # just before 09:00 in New York: nothing; just after: dialed
        await clock.advance((opens - clock.now()).total_seconds() - 1)
        await h.tick(0.5)
        assert len(await h.calls(campaign.id)) == 1
        await h.tick(0.5, rounds=4)
        calls = await h.calls(campaign.id)
        assert sorted(c.destination.target for c in calls) == sorted([NEW_YORK, LONDON])
        _assert_inside(calls, WINDOW)
        [ny_call] = [c for c in calls if c.destination.target == NEW_YORK]
        assert ny_call.tm_create >= opens


async def test_target_timezone_wins_over_number(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(
            [NEW_YORK], calls_per_second=100, outplan={"call_window": WINDOW}
        )
        [target] = await h.targets(outdial.id)
        await services.targets.delete(h.customer_id, outdial.id, target.id)
        await services.targets.create(
            h.customer_id,
            outdial.id,
            {"destination_0": {"type": "tel", "target": NEW_YORK}, "timezone": "Europe/Paris"},
        )
        await h.run(campaign.id)
        await h.tick(0.5, rounds=4)
        assert [c.destination.target for c in await h.calls(campaign.id)] == [NEW_YORK]


async def test_no_attempt_outside_window_over_a_week(services: Services, clock: FakeClock) -> None:
    """Busy numbers in several zones, retried for a week on 10-minute engine ticks: every
    attempt starts inside the window in every zone of its number, and none is missing: each
    number's attempts are exactly the ticks a retry is due in an open window (the first tick
    at which the window opens, then every retry gap, until it closes)."""
    window = {"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "21:00", "timezone": "UTC"}
    busy = ["+4865550101", "+48655501010", "+48612345678"]  # 486: busy; Polish or unknown zone
    answering = ["+12125550199", "+61255501234", "+81355501234", "+4420794601"]
    start, tick = clock.now(), 600.0
    async with Harness(services, clock) as h:
        _, _, campaign = await h.setup(
            [[n] for n in busy + answering],
            calls_per_second=100,
            end_handle="continue",
            outplan={"call_window": window, "try_interval": 600_000, "max_try_count_0": 1000},
        )
        await h.run(campaign.id)
        for _ in range(7 * 24 * 6):
            await h.tick(tick)
        calls = await h.calls(campaign.id)
    _assert_inside(calls, window)
    parsed = parse_call_window(window)
    ticks = [start + timedelta(seconds=tick * k) for k in range(7 * 24 * 6)]
    by_number: dict[str, list[datetime]] = {}
    for call in calls:
        by_number.setdefault(call.destination.target, []).append(call.tm_create)
    assert sorted(by_number) == sorted(busy + answering)
    gap = min(b - a for times in by_number.values() for a, b in pairwise(sorted(times)))
    assert gap >= timedelta(minutes=10)  # the try interval
    for number, times in by_number.items():
        zones = zones_for_destination("tel", number, None, "UTC")
        due: list[datetime] = []
        for at in ticks:
            if is_open(parsed, at, zones) and (not due or at - due[-1] >= gap):
                due.append(at)
                if number in answering:
                    break  # answered: done after one attempt
        assert sorted(times) == due, (number, zones)
    assert len(calls) > 3 * 5 * 13  # the busy numbers were retried all week


async def test_dnc_number_is_never_dialed(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        me = h.customer_id
        listed, other, expired = "+15557770001", "+15557770002", "+15557770003"
        dnc = await services.dnclists.create(me, {"name": "internal"})
        await services.dnclists.add(me, dnc.id, {"number": "+1 555 777 0001"})
        past = (clock.now() - timedelta(minutes=1)).isoformat()
        await services.dnclists.add(me, dnc.id, {"number": expired, "expire": past})
        _, outdial, campaign = await h.setup(
            [[listed, other], [listed], [expired]], calls_per_second=100
        )
        await h.run(campaign.id)
        await h.tick(0.5, rounds=10)
        calls = await h.calls(campaign.id)
        assert sorted(c.destination.target for c in calls) == [other, expired]
        assert all(c.destination.target != listed for c in calls)
        [moved] = [c for c in calls if c.destination.target == other]
        assert moved.destination_index == 1
        targets = await h.targets(outdial.id)
        assert all(t.status == "done" for t in targets)
        only_listed = next(
            t for t in targets if t.destinations[1] is None and t.destinations[0].target == listed
        )
        assert only_listed.try_counts[0] == 2  # used up as if tried (max_try_count_0 2)
        skips = await _skips(services, campaign.id)
        assert sorted(s.reason for s in skips) == ["dnc_listed", "dnc_listed"]
        assert {s.number for s in skips} == {listed}
        assert (await services.campaigns.get(me, campaign.id)).status == "stop"


async def test_number_limit_across_campaigns(services: Services, clock: FakeClock) -> None:
    shared = "+15558880001"
    limits = {"max_attempts_per_number_24h": 1}
    async with Harness(services, clock) as h:
        _, _, first = await h.setup([shared], calls_per_second=100, outplan=limits)
        _, out2, second = await h.setup([shared], calls_per_second=100, outplan=limits)
        await h.run(first.id)
        await h.run(second.id)
        await h.tick(0.5, rounds=6)
        calls = await h.calls(first.id) + await h.calls(second.id)
        assert len(calls) == 1
        started = calls[0].tm_create
        waiting = second if calls[0].campaign_id == first.id else first
        [skip] = await _skips(services, waiting.id)
        assert skip.reason == "number_limit"
        await clock.advance(86_400 - 10)
        await h.tick(1.0, rounds=3)
        assert len(await h.calls(first.id) + await h.calls(second.id)) == 1
        await h.tick(5.0, rounds=3)
        calls = await h.calls(first.id) + await h.calls(second.id)
        assert len(calls) == 2
        assert max(c.tm_create for c in calls) - started >= timedelta(hours=24)
        del out2


async def test_min_number_gap_across_campaigns(services: Services, clock: FakeClock) -> None:
    shared = "+15558880002"
    gap = {"min_number_gap": 60_000}
    async with Harness(services, clock) as h:
        _, _, first = await h.setup([shared], calls_per_second=100, outplan=gap)
        _, _, second = await h.setup([shared], calls_per_second=100, outplan=gap)
        await h.run(first.id)
        await h.run(second.id)
        await h.tick(1.0, rounds=30)
        assert len(await h.calls(first.id) + await h.calls(second.id)) == 1
        await h.tick(1.0, rounds=35)
        calls = sorted(
            await h.calls(first.id) + await h.calls(second.id), key=lambda c: c.tm_create
        )
        assert len(calls) == 2
        assert calls[1].tm_create - calls[0].tm_create >= timedelta(seconds=60)
        skips = await _skips(services, first.id) + await _skips(services, second.id)
        assert {s.reason for s in skips} == {"number_gap"}


def test_the_module_starts_on_a_monday_before_new_york_opens() -> None:
    """The constants above hold at the FakeClock's start: Monday 12:00 UTC is 07:00 in the zone
    of NEW_YORK's number (closed at 09:00-17:00) and 12:00 in LONDON's (open)."""
    start = FakeClock().now()
    assert start == datetime(2026, 1, 5, 12, 0, tzinfo=UTC) and start.isoweekday() == 1
    parsed = parse_call_window({**WINDOW, "timezone": "Asia/Tokyo"})  # the numbers' zones win
    assert zones_for_destination("tel", NEW_YORK, None, "UTC") == ("America/New_York",)
    assert not is_open(parsed, start, zones_for_destination("tel", NEW_YORK, None, "UTC"))
    assert is_open(parsed, start, zones_for_destination("tel", LONDON, None, "UTC"))


# --- across customers: each customer's lists and limits are its own ---------------------------


async def _second_customer(h: Harness) -> Any:
    """Switch the harness to a new customer; returns the first one's id."""
    first = h.customer_id
    h.customer_id = (await h.services.customers.create("other customer")).id
    return first


async def test_dnc_list_binds_only_its_customer(services: Services, clock: FakeClock) -> None:
    listed = "+15557770101"
    async with Harness(services, clock) as h:
        dnc = await services.dnclists.create(h.customer_id, {"name": "mine"})
        await services.dnclists.add(h.customer_id, dnc.id, {"number": listed})
        _, _, mine = await h.setup([listed], calls_per_second=100)
        first = await _second_customer(h)
        _, _, theirs = await h.setup([listed], calls_per_second=100)
        await h.run(theirs.id)
        h.customer_id, other = first, h.customer_id
        await h.run(mine.id)
        await h.tick(0.5, rounds=8)
        assert await h.calls(mine.id) == []  # listed by its own customer
        assert [s.reason for s in await _skips(services, mine.id)] == ["dnc_listed"]
        h.customer_id = other
        [call] = await h.calls(theirs.id)  # the other customer's list does not bind this one
        assert call.destination.target == listed and call.result == "success"
        assert await _skips(services, theirs.id) == []


@pytest.mark.parametrize(
    "limit", [{"max_attempts_per_number_24h": 1}, {"min_number_gap": 3_600_000}]
)
async def test_number_limits_count_only_the_customers_own_calls(
    services: Services, clock: FakeClock, limit: dict[str, int]
) -> None:
    """One number in two campaigns of customer A and one of customer B: A's second campaign
    waits for A's limit, B's campaign is dialed as if A did not exist."""
    shared = "+15558880101"
    async with Harness(services, clock) as h:
        _, _, a1 = await h.setup([shared], calls_per_second=100, outplan=limit)
        _, _, a2 = await h.setup([shared], calls_per_second=100, outplan=limit)
        await h.run(a1.id)
        await h.run(a2.id)
        first = await _second_customer(h)
        _, _, b1 = await h.setup([shared], calls_per_second=100, outplan=limit)
        await h.run(b1.id)
        await h.tick(0.5, rounds=8)
        b_calls = await h.calls(b1.id)
        assert [c.destination.target for c in b_calls] == [shared]
        assert await _skips(services, b1.id) == []
        h.customer_id = first
        a_calls = await h.calls(a1.id) + await h.calls(a2.id)
        assert len(a_calls) == 1  # A's own limit holds for A
        waiting = a2 if a_calls[0].campaign_id == a1.id else a1
        [skip] = await _skips(services, waiting.id)
        assert skip.reason in {"number_limit", "number_gap"}


async def test_window_closed_on_a_long_sip_address(services: Services, clock: FakeClock) -> None:
    """The skip names the address, cut to the log's 32 characters: the claim never fails on it
    (PostgreSQL enforces the width), and the target is dialed when the window opens."""
    address = "a-rather-long-user-name.for-this-test@pbx.example.com"
    window = {"days": [1, 2, 3, 4, 5], "start": "13:00", "end": "17:00", "timezone": "UTC"}
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup([], outplan={"call_window": window})
        await services.targets.create(
            h.customer_id, outdial.id, {"destination_0": {"type": "sip", "target": address}}
        )
        await h.run(campaign.id)
        await h.tick(0.5, rounds=3)
        [skip] = await _skips(services, campaign.id)
        assert (skip.reason, skip.number) == ("window_closed", address[:32])
        await clock.advance(3600)
        await h.tick(0.5, rounds=3)
        assert [c.destination.target for c in await h.calls(campaign.id)] == [address]
