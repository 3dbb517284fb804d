"""Calling windows across daylight-saving changes, at engine level (FakeClock, simulated
telephony, SQLite and PostgreSQL): on the day the clocks change, the engine opens the window at
09:00 and closes it at 17:00 on the *new* wall clock of the destination's zone, in US and EU
zones in March and October and in a half-hour zone (Adelaide, +9:30 / +10:30).

Each case starts the clock at local midnight of the change day (window closed), runs a busy
number that is retried every 10 minutes, and checks the first attempt, the last attempt of the
day and the next morning's first attempt against instants written out by hand in UTC.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from outdial.clock import FakeClock
from outdial.services.container import Services
from tests.engine.harness import Harness

WINDOW = {"days": [1, 2, 3, 4, 5, 6, 7], "start": "09:00", "end": "17:00"}
BUSY = "+4865550190"  # 486: busy, so it is retried all day (its zone comes from the target)
RETRY_S = 600


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# zone, clock start (local midnight of the change day), 09:00, 17:00 that day, 09:00 next day
CASES = {
    "new_york_march": (  # 2026-03-08 02:00 EST -> 03:00 EDT
        "America/New_York", utc(2026, 3, 8, 5), utc(2026, 3, 8, 13), utc(2026, 3, 8, 21),
        utc(2026, 3, 9, 13),
    ),
    "new_york_october": (  # 2026-11-01 02:00 EDT -> 01:00 EST
        "America/New_York", utc(2026, 11, 1, 4), utc(2026, 11, 1, 14), utc(2026, 11, 1, 22),
        utc(2026, 11, 2, 14),
    ),
    "paris_march": (  # 2026-03-29 02:00 CET -> 03:00 CEST
        "Europe/Paris", utc(2026, 3, 28, 23), utc(2026, 3, 29, 7), utc(2026, 3, 29, 15),
        utc(2026, 3, 30, 7),
    ),
    "paris_october": (  # 2026-10-25 03:00 CEST -> 02:00 CET
        "Europe/Paris", utc(2026, 10, 24, 22), utc(2026, 10, 25, 8), utc(2026, 10, 25, 16),
        utc(2026, 10, 26, 8),
    ),
    "adelaide_april": (  # 2026-04-05 03:00 ACDT (+10:30) -> 02:00 ACST (+9:30)
        "Australia/Adelaide", utc(2026, 4, 4, 13, 30), utc(2026, 4, 4, 23, 30),
        utc(2026, 4, 5, 7, 30), utc(2026, 4, 5, 23, 30),
    ),
    "adelaide_october": (  # 2026-10-04 02:00 ACST (+9:30) -> 03:00 ACDT (+10:30)
        "Australia/Adelaide", utc(2026, 10, 3, 14, 30), utc(2026, 10, 3, 22, 30),
        utc(2026, 10, 4, 6, 30), utc(2026, 10, 4, 22, 30),
    ),
}  # fmt: skip


async def _busy_target_in(h: Harness, zone: str) -> tuple[Any, Any]:
    me = h.customer_id
    outplan_body = {
        "source": {"type": "tel", "target": "+15550000000"},
        "dial_timeout": 5000,
        "try_interval": RETRY_S * 1000,
        "max_try_count_0": 1000,
        "call_window": WINDOW,
    }
    outplan = await h.services.outplans.create(me, outplan_body)
    outdial = await h.services.outdials.create(me, {"name": "dst"})
    target = {"destination_0": {"type": "tel", "target": BUSY}, "timezone": zone}
    await h.services.targets.create(me, outdial.id, target)
    campaign = await h.services.campaigns.create(
        me,
        {
            "name": "dst",
            "outplan_id": str(outplan.id),
            "outdial_id": str(outdial.id),
            "end_handle": "continue",
            "calls_per_second": 100,
            "actions": [{"type": "talk", "option": {"text": "hello"}}],
        },
    )
    return outdial, campaign


async def _run_until(h: Harness, clock: FakeClock, until: datetime, step: float) -> None:
    while clock.now() < until:
        await h.tick(min(step, (until - clock.now()).total_seconds()))


@pytest.mark.parametrize("case", list(CASES))
async def test_window_follows_the_new_wall_clock_on_a_change_day(
    services: Services, case: str
) -> None:
    zone, start, opens, closes, reopens = CASES[case]
    clock = FakeClock(start)
    services = Services.build(services.ctx.db, clock)
    async with Harness(services, clock) as h:
        outdial, campaign = await _busy_target_in(h, zone)
        await h.run(campaign.id)
        await h.tick(1.0, rounds=3)
        assert await h.calls(campaign.id) == []  # local night: closed
        [target] = await h.targets(outdial.id)
        assert target.not_before == opens  # 09:00 on the day's own (new) offset
        await _run_until(h, clock, opens - timedelta(seconds=2), 3600.0)
        assert await h.calls(campaign.id) == []
        await _run_until(h, clock, opens + timedelta(seconds=3), 1.0)
        [first] = await h.calls(campaign.id)
        assert opens <= first.tm_create < opens + timedelta(seconds=3)
        # retried every 10 minutes until 17:00 on the same wall clock, then not before 09:00
        await _run_until(h, clock, closes - timedelta(minutes=50), 1800.0)
        await _run_until(h, clock, closes + timedelta(minutes=15), 60.0)
        calls = sorted(await h.calls(campaign.id), key=lambda c: c.tm_create)
        since = closes - timedelta(minutes=35)  # attempts that follow attempts at minute steps
        starts = [c.tm_create for c in calls if c.tm_create >= since]
        gaps = {(b - a).total_seconds() for a, b in itertools.pairwise(starts)}
        slack = 3 * 60  # the try interval counts from the end; the engine ticks every minute
        assert gaps and min(gaps) >= RETRY_S and max(gaps) <= RETRY_S + slack, gaps
        assert starts[-1] < closes <= starts[-1] + timedelta(seconds=RETRY_S + slack)
        [target] = await h.targets(outdial.id)
        assert target.not_before == reopens
        await _run_until(h, clock, reopens - timedelta(seconds=2), 3600.0)
        assert len(await h.calls(campaign.id)) == len(calls)
        await _run_until(h, clock, reopens + timedelta(seconds=3), 1.0)
        after = sorted(await h.calls(campaign.id), key=lambda c: c.tm_create)
        assert len(after) == len(calls) + 1
        assert reopens <= after[-1].tm_create < reopens + timedelta(seconds=3)
