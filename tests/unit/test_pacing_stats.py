"""The pacing stats accumulator, its windows, measured distributions and the control rule."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from outdial.domain.dialmode import (
    AbandonControl,
    AbandonWindows,
    Counts,
    Distribution,
    PacingStats,
    Priors,
    Sampler,
    allowed_abandon,
    steering_rate,
)
from outdial.domain.dialmode.distribution import exponential_prior, fixed_prior
from outdial.domain.dialmode.forecast import bucket, expected_excess

S = 1_000_000
MIN = 60 * S
DAY = 24 * 60 * MIN


def at(text: str) -> int:
    """Microseconds of an ISO time (UTC unless it says otherwise)."""
    t = datetime.fromisoformat(text)
    return round((t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp() * S)


def answered(stats: PacingStats, now: int, *, wait_s: float | None = 0.0) -> None:
    """A placed call answered at `now`, then connected after `wait_s` (None: abandoned)."""
    stats.placed(now - 8 * S)
    stats.ring_ended(now, 8 * S, answered=True)
    if wait_s is None:
        stats.abandoned(now + 2 * S)
    else:
        stats.connected(now, round(wait_s * S))


# --- counts and windows -----------------------------------------------------------------------
def test_counts_and_the_us_abandon_definition() -> None:
    stats = PacingStats()
    t = at("2026-01-05 10:00:00")
    answered(stats, t)
    answered(stats, t, wait_s=2.0)  # within 2 s: connected in time
    answered(stats, t, wait_s=2.5)  # connected, but after 2 s: abandoned as well
    answered(stats, t, wait_s=None)  # never connected
    stats.placed(t)
    stats.ring_ended(t, 30 * S, answered=False)
    c = stats.window(t - MIN, t + MIN)
    assert c == Counts(placed=5, answered=4, unanswered=1, connected=3, abandoned=2)
    assert c.abandon_rate == 0.5
    assert c.answer_rate == 0.8
    assert Counts().abandon_rate == 0.0 and Counts().answer_rate == 0.0


def test_recent_window_is_the_last_30_minutes() -> None:
    stats = PacingStats()
    t = at("2026-01-05 10:00:30")
    answered(stats, t, wait_s=None)
    for minutes, inside in ((0, True), (29, True), (30, False), (31, False)):
        w = stats.windows(t + minutes * MIN)
        assert (w.recent.answered, w.recent.abandoned) == ((1, 1) if inside else (0, 0)), minutes
        assert w.month.answered == 1


def test_month_window_keeps_30_days() -> None:
    stats = PacingStats()
    t = at("2026-01-01 12:00:00")
    answered(stats, t, wait_s=None)
    answered(stats, t + 20 * DAY)
    assert stats.windows(t + 30 * DAY - 2 * MIN).month == Counts(
        placed=2, answered=2, connected=1, abandoned=1
    )
    later = stats.windows(t + 30 * DAY + MIN).month
    assert (later.answered, later.abandoned) == (1, 0)  # the first day has left the window
    # an event older than the month kept is not counted anywhere
    answered(stats, t - DAY, wait_s=None)
    assert stats.windows(t + 30 * DAY + MIN).month.abandoned == 0


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Europe/London", "Asia/Kolkata"])
def test_today_resets_at_local_midnight(zone: str) -> None:
    tz = ZoneInfo(zone)
    stats = PacingStats(tz=tz)
    before = at(datetime(2026, 1, 5, 23, 50, tzinfo=tz).isoformat())
    answered(stats, before, wait_s=None)
    assert stats.windows(before + 5 * MIN).today.abandoned == 1
    after = before + 20 * MIN  # 00:10 the next day, local time
    assert stats.windows(after).today == Counts()
    answered(stats, after)
    w = stats.windows(after)
    assert (w.today.answered, w.today.abandoned) == (1, 0)
    assert (w.month.answered, w.month.abandoned) == (2, 1)
    assert (w.recent.answered, w.recent.abandoned) == (2, 1)


def test_window_of_any_span_and_events_out_of_order() -> None:
    stats = PacingStats()
    t = at("2026-01-05 09:00:00")
    for m in (0, 10, 20):
        answered(stats, t + m * MIN)
    answered(stats, t + 5 * MIN, wait_s=None)  # reported late
    assert stats.window(t, t + 9 * MIN).abandoned == 1
    assert stats.window(t, t + 9 * MIN).answered == 2
    assert stats.window(t + 10 * MIN, t + 30 * MIN).answered == 2
    assert stats.window(t - DAY, t - 2 * MIN) == Counts()  # the first call was placed at 8:59


def test_average_handle_and_wrapup_times_per_window() -> None:
    stats = PacingStats()
    t = at("2026-01-05 09:00:00")
    stats.call_ended(t, 200 * S)
    stats.wrapup_ended(t, 20 * S)
    later = t + 45 * MIN
    stats.call_ended(later, 100 * S)
    stats.call_ended(later, 60 * S)
    stats.wrapup_ended(later, 10 * S)
    w = stats.windows(later)
    assert (w.recent.handled, w.recent.average_handle_s) == (2, 80.0)
    assert (w.today.handled, w.today.average_handle_s) == (3, 120.0)
    assert w.recent.average_wrapup_s == 10.0
    assert w.month.average_wrapup_s == 15.0
    assert Counts().average_handle_s == 0.0 and Counts().average_wrapup_s == 0.0
    assert (w.month - w.recent).handle_us == 200 * S


# --- measured figures -------------------------------------------------------------------------
def test_answer_rate_starts_at_the_prior_and_follows_the_calls() -> None:
    stats = PacingStats(priors=Priors(answer_rate=0.5, weight=20), keep=100)
    assert stats.answer_rate() == 0.5
    t = at("2026-01-05 09:00:00")
    for i in range(80):
        stats.ring_ended(t, 5 * S, answered=i % 4 == 0)  # 20 of 80 answered
    assert stats.answer_rate() == pytest.approx((20 + 10) / (80 + 20))
    for _ in range(100):
        stats.ring_ended(t, 30 * S, answered=False)  # only the last 100 count
    assert stats.answer_rate() == pytest.approx(10 / 120)
    assert stats.answered_seen == 20


def test_measures_carry_the_measured_times() -> None:
    stats = PacingStats(priors=Priors(weight=1))
    t = at("2026-01-05 09:00:00")
    for _ in range(200):
        answered(stats, t)
        stats.call_ended(t, 100 * S)
        stats.wrapup_ended(t, 12 * S)
    m = stats.measures(t)
    assert m.handle.quantile(0.5) == 100 * S
    assert m.wrapup.quantile(0.5) == 12 * S
    assert m.ring_answered.quantile(0.5) == 8 * S
    assert m.answered_seen == 200
    assert m.windows.recent.answered == 200


def test_distribution_and_its_conditional_finish() -> None:
    d = Distribution.of([10, 20, 30, 40])
    assert d.sf(0) == 1.0 and d.sf(20) == 0.5 and d.sf(40) == 0.0
    assert d.quantile(0.5) == 20 and d.quantile(1.0) == 40 and d.mean() == 25
    assert d.finish_within(20, 10) == 0.5  # of {30, 40}, 30 ends by 30
    assert d.finish_within(50, 1) == 1.0  # outlasted every sample
    assert d.finish_within(0, 0) == 0.0
    offsets = (-5.0, 5.0, 15.0, 100.0)
    assert d.finish_curve(15, offsets) == tuple(d.finish_within(15, o) for o in offsets)
    assert d.finish_curve(15, offsets) == pytest.approx((0.0, 1 / 3, 2 / 3, 1.0))
    with pytest.raises(ValueError):
        Distribution.of([])


def test_priors_and_the_sampler_window() -> None:
    expo = exponential_prior(120 * S, 20)
    assert len(expo) == 20 and sum(expo) / 20 == pytest.approx(120 * S, rel=0.1)
    assert fixed_prior(7, 3) == (7, 7, 7)
    sampler = Sampler(fixed_prior(1000, 2), keep=3)
    for v in (1, 2, 3, 4, 5):
        sampler.add(v)
    assert sampler.distribution().samples == (3, 4, 5, 1000, 1000)
    assert sampler.measured == 5
    with pytest.raises(ValueError):
        Sampler(())


def test_sampler_rebuilds_its_distribution_as_samples_arrive() -> None:
    sampler = Sampler(fixed_prior(0, 1), keep=1000)
    for v in range(200):
        sampler.add(v)
    first = sampler.distribution()
    assert first is sampler.distribution()  # nothing new: the same object (its memo too)
    for v in range(3):
        sampler.add(v)
    assert sampler.distribution() is first  # 3 of 200 new: not yet
    sampler.add(0)
    assert sampler.distribution() is not first  # 4 = 200 / 50


def test_normal_excess_and_age_buckets() -> None:
    assert expected_excess(0.0, 1.0) == pytest.approx(1 / math.sqrt(2 * math.pi))
    assert expected_excess(5.0, 0.0) == 5.0 and expected_excess(-1.0, 0.0) == 0.0
    assert expected_excess(-10.0, 1.0) < 1e-20
    assert bucket(0) == 500_000 and bucket(29_999_999) == 29_500_000
    assert bucket(30_000_000) == 32_500_000 and bucket(301 * S) == 315 * S


# --- the control rule -------------------------------------------------------------------------
def windows(answered: int, abandoned: int) -> AbandonWindows:
    c = Counts(answered=answered, abandoned=abandoned)
    return AbandonWindows(month=c, today=c, recent=c)


def test_steering_rate_is_the_worst_window_after_one_more_abandon() -> None:
    w = AbandonWindows(
        month=Counts(answered=10_000, abandoned=100),
        today=Counts(answered=1_000, abandoned=19),
        recent=Counts(answered=10, abandoned=0),
    )
    assert steering_rate(w, min_answered=100) == pytest.approx(20 / 1000)
    assert steering_rate(AbandonWindows(), min_answered=100) == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("abandoned", "expected"),
    [
        (0, 0.029),  # 0.1 % (with the one more abandon): well under the aim
        (9, 0.02),  # 1.0 %: aim + (aim - m)
        (14, 0.015),  # 1.5 %: the aim itself
        (19, 0.015 * (0.024 - 0.02) / (0.024 - 0.015)),  # 2.0 %: falling to 0 at 2.4 %
        (23, 0.0),  # 2.4 %: throttle_at reached: progressive
        (40, 0.0),
    ],
)
def test_allowed_abandon_piecewise(abandoned: int, expected: float) -> None:
    allowed = allowed_abandon(0.03, windows(1000, abandoned), AbandonControl())
    assert allowed == pytest.approx(expected)


def test_allowed_abandon_zero_ceiling_and_settings() -> None:
    assert allowed_abandon(0.0, windows(1000, 0), AbandonControl()) == 0.0
    gentle = AbandonControl(gain=0.0)
    assert allowed_abandon(0.03, windows(1000, 0), gentle) == pytest.approx(0.015)
    eager = AbandonControl(gain=5.0)
    assert allowed_abandon(0.03, windows(1000, 0), eager) == pytest.approx(0.03)  # the ceiling
    # an empty window reads as one abandon in `min_answered` answers
    assert allowed_abandon(0.03, AbandonWindows(), AbandonControl()) == pytest.approx(0.02)
    for bad in (
        {"aim": 0.9, "throttle_at": 0.8},
        {"aim": 0.0},
        {"throttle_at": 1.5},
        {"gain": -1.0},
        {"min_answered": 0},
    ):
        with pytest.raises(ValueError):
            AbandonControl(**bad)  # type: ignore[arg-type]
