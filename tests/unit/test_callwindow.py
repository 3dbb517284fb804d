"""Calling windows in each destination's local time (issue 6, item 1; docs/callwindows.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outdial.domain.callwindow import (
    CallWindow,
    closes_at,
    is_open,
    next_open,
    parse_call_window,
)
from outdial.domain.errors import InvalidArgument
from outdial.domain.timezones import zones_for_destination

NY, LA, SYD = "America/New_York", "America/Los_Angeles", "Australia/Sydney"
WEEKDAYS = frozenset(range(1, 6))
EVERY_DAY = frozenset(range(1, 8))
US_HOURS = CallWindow(EVERY_DAY, time(9), time(20), default_timezone=NY)
TINY = timedelta(microseconds=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def window(start: str, end: str, days: frozenset[int] = EVERY_DAY, **kw: object) -> CallWindow:
    raw: dict[str, object] = {"days": sorted(days), "start": start, "end": end, **kw}
    parsed = parse_call_window(raw)
    assert parsed is not None
    return parsed


# --- parsing -----------------------------------------------------------------------------------


def test_parse_and_serialise_round_trip() -> None:
    raw: dict[str, object] = {
        "days": [5, 1, 2, 3, 4],
        "start": "09:00",
        "end": "20:00",
        "holidays": ["2026-12-25", "2026-01-01"],
        "timezone": NY,
    }
    parsed = parse_call_window(raw)
    assert parsed is not None
    assert parsed == CallWindow(
        WEEKDAYS, time(9), time(20), frozenset({date(2026, 12, 25), date(2026, 1, 1)}), NY
    )
    holidays = ["2026-01-01", "2026-12-25"]
    assert parsed.to_json() == {**raw, "days": [1, 2, 3, 4, 5], "holidays": holidays}
    assert parse_call_window(parsed.to_json()) == parsed


def test_parse_defaults_and_no_window() -> None:
    assert parse_call_window(None) is None
    assert parse_call_window({"start": "08:00", "end": "21:00"}) == CallWindow(
        EVERY_DAY, time(8), time(21), frozenset(), "UTC"
    )


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("09:00-20:00", "call_window must be an object"),
        ([], "call_window must be an object"),
        ({"start": "09:00", "end": "20:00", "tz": NY}, "call_window.tz is not a known"),
        ({"end": "20:00"}, "call_window.start is required"),
        ({"start": "09:00"}, "call_window.end is required"),
        ({"start": "9:00", "end": "20:00"}, "call_window.start"),
        ({"start": "09:00", "end": "24:00"}, "call_window.end"),
        ({"start": "09:60", "end": "20:00"}, "call_window.start"),
        ({"start": "09:00:00", "end": "20:00"}, "call_window.start"),
        ({"start": 900, "end": "20:00"}, "call_window.start"),
        ({"start": "09:00", "end": None}, "call_window.end"),
        ({"start": "09:00", "end": "20:00", "days": [0]}, r"call_window.days\[0\]"),
        ({"start": "09:00", "end": "20:00", "days": [1, 8]}, r"call_window.days\[1\]"),
        ({"start": "09:00", "end": "20:00", "days": ["1"]}, r"call_window.days\[0\]"),
        ({"start": "09:00", "end": "20:00", "days": [True]}, r"call_window.days\[0\]"),
        ({"start": "09:00", "end": "20:00", "days": 31}, "call_window.days"),
        (
            {"start": "09:00", "end": "20:00", "holidays": ["2026-02-30"]},
            r"call_window.holidays\[0\]",
        ),
        (
            {"start": "09:00", "end": "20:00", "holidays": ["20261225"]},
            r"call_window.holidays\[0\]",
        ),
        ({"start": "09:00", "end": "20:00", "holidays": [20261225]}, r"call_window.holidays\[0\]"),
        ({"start": "09:00", "end": "20:00", "holidays": "2026-12-25"}, "call_window.holidays"),
        ({"start": "09:00", "end": "20:00", "timezone": "EST+5"}, "call_window.timezone"),
        ({"start": "09:00", "end": "20:00", "timezone": None}, "call_window.timezone"),
        ({"start": "09:00", "end": "20:00", "timezone": "america/new_york"}, "call_window.tim"),
    ],
)
def test_parse_errors_name_the_field(raw: object, field: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{field}"):
        parse_call_window(raw)


def test_too_many_holidays() -> None:
    many = [(date(2026, 1, 1) + timedelta(i)).isoformat() for i in range(1001)]
    with pytest.raises(InvalidArgument, match=r"call_window\.holidays has more than"):
        parse_call_window({"start": "09:00", "end": "20:00", "holidays": many})


# --- examples ----------------------------------------------------------------------------------


def test_no_window_is_always_open() -> None:
    at = utc(2026, 3, 8, 7, 30)
    assert is_open(None, at, [NY])
    assert next_open(None, at, [NY]) == at
    assert closes_at(None, at, [NY]) is None


def test_empty_days_never_open() -> None:
    never = window("09:00", "20:00", frozenset())
    at = utc(2026, 6, 1, 15)
    assert not is_open(never, at, [NY])
    assert next_open(never, at, [NY]) is None
    assert closes_at(never, at, [NY]) is None


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        is_open(US_HOURS, datetime(2026, 3, 8, 12), [NY])


def test_empty_zones_mean_the_default_zone() -> None:
    assert next_open(US_HOURS, utc(2026, 7, 1, 0), []) == utc(2026, 7, 1, 13)


def test_new_york_on_spring_forward_day() -> None:
    assert next_open(US_HOURS, utc(2026, 3, 7, 2), [NY]) == utc(2026, 3, 7, 14)  # 09:00 EST
    assert next_open(US_HOURS, utc(2026, 3, 8, 1), [NY]) == utc(2026, 3, 8, 13)  # 09:00 EDT
    assert closes_at(US_HOURS, utc(2026, 3, 8, 13), [NY]) == utc(2026, 3, 9, 0)  # 20:00 EDT
    assert not is_open(US_HOURS, utc(2026, 3, 8, 13) - TINY, [NY])


def test_new_york_on_fall_back_day() -> None:
    assert next_open(US_HOURS, utc(2026, 10, 31, 1), [NY]) == utc(2026, 10, 31, 13)  # EDT
    assert next_open(US_HOURS, utc(2026, 11, 1, 1), [NY]) == utc(2026, 11, 1, 14)  # EST
    assert closes_at(US_HOURS, utc(2026, 11, 1, 14), [NY]) == utc(2026, 11, 2, 1)


def test_start_in_the_spring_gap_opens_when_the_clock_jumps() -> None:
    gap = window("02:30", "03:30")  # 02:00-03:00 does not exist in New York on 2026-03-08
    opened = next_open(gap, utc(2026, 3, 8, 5), [NY])
    assert opened == utc(2026, 3, 8, 7)  # 03:00 EDT, the instant of the jump
    assert closes_at(gap, opened, [NY]) == utc(2026, 3, 8, 7, 30)  # 03:30 EDT


def test_window_wholly_in_the_gap_skips_that_day() -> None:
    gap = window("02:05", "02:55")
    assert next_open(gap, utc(2026, 3, 8, 5), [NY]) == utc(2026, 3, 9, 6, 5)  # next day, EDT


def test_repeated_hour_follows_the_wall_clock() -> None:
    early = window("00:00", "01:30")  # 01:00-02:00 happens twice in New York on 2026-11-01
    assert next_open(early, utc(2026, 11, 1, 3), [NY]) == utc(2026, 11, 1, 4)  # 00:00 EDT
    assert closes_at(early, utc(2026, 11, 1, 4), [NY]) == utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    assert next_open(early, utc(2026, 11, 1, 5, 30), [NY]) == utc(2026, 11, 1, 6)  # 01:00 EST
    assert closes_at(early, utc(2026, 11, 1, 6), [NY]) == utc(2026, 11, 1, 6, 30)  # 01:30 EST
    late = window("01:30", "03:00")  # the clock falls back below 01:30 for half an hour
    assert next_open(late, utc(2026, 11, 1, 3), [NY]) == utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    assert closes_at(late, utc(2026, 11, 1, 5, 30), [NY]) == utc(2026, 11, 1, 6)  # 01:00 EST
    assert next_open(late, utc(2026, 11, 1, 6), [NY]) == utc(2026, 11, 1, 6, 30)  # 01:30 EST
    assert closes_at(late, utc(2026, 11, 1, 6, 30), [NY]) == utc(2026, 11, 1, 8)  # 03:00 EST


def test_lord_howe_half_hour_daylight_saving() -> None:
    lhi = "Australia/Lord_Howe"  # +10:30, +11:00 from 02:00 -> 02:30 on 2026-10-04
    assert next_open(US_HOURS, utc(2026, 10, 2, 12), [lhi]) == utc(2026, 10, 2, 22, 30)
    assert next_open(US_HOURS, utc(2026, 10, 3, 12), [lhi]) == utc(2026, 10, 3, 22)
    in_gap = window("02:10", "02:20")
    assert next_open(in_gap, utc(2026, 10, 3, 12), [lhi]) == utc(2026, 10, 4, 15, 10)
    # 2026-04-05: 02:00 +11 -> 01:30 +10:30; 01:30-02:00 happens twice
    repeated = window("01:00", "01:45")
    assert closes_at(repeated, utc(2026, 4, 4, 14), [lhi]) == utc(2026, 4, 4, 14, 45)
    assert next_open(repeated, utc(2026, 4, 4, 14, 45), [lhi]) == utc(2026, 4, 4, 15)
    assert closes_at(repeated, utc(2026, 4, 4, 15), [lhi]) == utc(2026, 4, 4, 15, 15)


def test_kathmandu_quarter_hour_offset() -> None:
    assert next_open(US_HOURS, utc(2026, 5, 1, 0), ["Asia/Kathmandu"]) == utc(2026, 5, 1, 3, 15)
    assert closes_at(US_HOURS, utc(2026, 5, 1, 4), ["Asia/Kathmandu"]) == utc(2026, 5, 1, 14, 15)


def test_apia_skipped_a_whole_day_in_2011() -> None:
    apia = "Pacific/Apia"  # 2011-12-29 23:59:59 -10:00 was followed by 2011-12-31 00:00 +14:00
    assert closes_at(US_HOURS, utc(2011, 12, 29, 20), [apia]) == utc(2011, 12, 30, 6)
    assert next_open(US_HOURS, utc(2011, 12, 30, 6), [apia]) == utc(2011, 12, 30, 19)
    fridays = window("09:00", "20:00", frozenset({5}))  # Friday 2011-12-30 never happened
    assert next_open(fridays, utc(2011, 12, 29, 12), [apia]) == utc(2012, 1, 5, 19)
    assert next_open(US_HOURS, utc(2026, 7, 1, 8), [apia]) == utc(2026, 7, 1, 20)  # +13, no DST


def test_sydney_southern_daylight_saving() -> None:
    assert next_open(US_HOURS, utc(2026, 1, 15, 12), [SYD]) == utc(2026, 1, 15, 22)  # AEDT
    assert next_open(US_HOURS, utc(2026, 4, 3, 12), [SYD]) == utc(2026, 4, 3, 22)
    assert next_open(US_HOURS, utc(2026, 4, 4, 12), [SYD]) == utc(2026, 4, 4, 23)  # AEST
    assert next_open(US_HOURS, utc(2026, 10, 4, 10), [SYD]) == utc(2026, 10, 4, 22)  # AEDT again


def test_holidays_skip_local_dates() -> None:
    xmas = window("09:00", "20:00", WEEKDAYS, holidays=["2026-12-25"], timezone=NY)
    assert next_open(xmas, utc(2026, 12, 25, 1), [NY]) == utc(2026, 12, 28, 14)  # Monday
    assert next_open(xmas, utc(2026, 12, 25, 1), ["Asia/Tokyo"]) == utc(2026, 12, 28, 0)


def test_holidays_apply_in_each_zones_own_date() -> None:
    all_day = window("00:00", "00:00", holidays=["2026-12-25"])
    zones = ["Asia/Tokyo", NY]
    assert closes_at(all_day, utc(2026, 12, 24, 12), zones) == utc(2026, 12, 24, 15)  # Tokyo
    assert next_open(all_day, utc(2026, 12, 24, 15), zones) == utc(2026, 12, 26, 5)  # NY


def test_window_spanning_midnight_belongs_to_its_start_day() -> None:
    nights = window("22:00", "06:00", frozenset({5}), timezone="UTC")  # Friday nights
    assert is_open(nights, utc(2026, 6, 5, 23), [])  # Friday 23:00
    assert is_open(nights, utc(2026, 6, 6, 5, 59), [])  # Saturday early
    assert not is_open(nights, utc(2026, 6, 6, 6), [])  # end is exclusive
    assert not is_open(nights, utc(2026, 6, 5, 5), [])  # Friday early belongs to Thursday
    assert not is_open(nights, utc(2026, 6, 6, 23), [])
    holiday = window("22:00", "06:00", frozenset({5}), holidays=["2026-06-06"])
    assert closes_at(holiday, utc(2026, 6, 5, 23), ["UTC"]) == utc(2026, 6, 6)


def test_equal_start_and_end_is_a_whole_day() -> None:
    mondays = window("09:00", "09:00", frozenset({1}), timezone="UTC")
    assert next_open(mondays, utc(2026, 6, 3), []) == utc(2026, 6, 8, 9)
    assert closes_at(mondays, utc(2026, 6, 8, 9), []) == utc(2026, 6, 9, 9)
    assert closes_at(window("00:00", "00:00"), utc(2026, 6, 8, 9), [NY]) is None


def test_several_zones_must_all_be_open() -> None:
    assert next_open(US_HOURS, utc(2026, 7, 1, 12), [NY, LA]) == utc(2026, 7, 1, 16)  # 09:00 LA
    assert closes_at(US_HOURS, utc(2026, 7, 1, 16), [NY, LA]) == utc(2026, 7, 2, 0)  # 20:00 NY
    apart = window("09:00", "10:00")
    assert next_open(apart, utc(2026, 7, 1), [NY, "Asia/Tokyo"]) is None


def test_a_number_with_many_zones_opens_only_where_all_are_in_hours() -> None:
    zones = zones_for_destination("tel", "+79161234567", None, "UTC")
    opened = next_open(US_HOURS, utc(2026, 3, 9, 12), zones)
    assert opened is not None
    closed = closes_at(US_HOURS, opened, zones)
    assert closed is not None and closed - opened < timedelta(hours=11)
    for zone in zones:
        assert time(9) <= opened.astimezone(ZoneInfo(zone)).time() < time(20)


# --- properties --------------------------------------------------------------------------------

ZONES = sorted(available_timezones() - {"localtime", "posixrules", "Factory"})
START, END = utc(2008, 1, 1), utc(2032, 12, 31)
MARKS = [time(h, m) for h, m in [(0, 0), (0, 30), (1, 0), (1, 30), (2, 0), (2, 30), (3, 0)]]
MARKS += [time(9), time(20), time(23, 30), time(23, 59)]


@lru_cache(maxsize=4096)
def transitions(zone: str, year: int) -> tuple[datetime, ...]:
    """Offset changes of `zone` in `year`, to the day (good enough to aim instants near them)."""
    tz, day = ZoneInfo(zone), utc(year, 1, 1)
    found = []
    while day.year == year:
        if day.astimezone(tz).utcoffset() != (day + timedelta(1)).astimezone(tz).utcoffset():
            found.append(day)
        day += timedelta(1)
    return tuple(found)


CLOCK = st.one_of(st.sampled_from(MARKS), st.builds(time, st.integers(0, 23), st.integers(0, 59)))
DAYS = st.one_of(st.just(EVERY_DAY), st.frozensets(st.integers(1, 7)))
SPAN = int((END - START).total_seconds())


@st.composite
def cases(draw: st.DrawFn) -> tuple[CallWindow, datetime, list[str]]:
    """A window, an instant in 2008-2032 (half of them within two days of a transition), zones."""
    zones = draw(st.lists(st.sampled_from(ZONES), min_size=1, max_size=3, unique=True))
    at = START + timedelta(seconds=draw(st.integers(0, SPAN)))
    near: tuple[datetime, ...] = transitions(zones[0], at.year)
    aim: bool = draw(st.booleans())
    if near and aim:
        at = draw(st.sampled_from(near)) + timedelta(minutes=draw(st.integers(-2880, 2880)))
    offsets = draw(st.frozensets(st.integers(-2, 9), max_size=3))
    holidays = frozenset(at.date() + timedelta(n) for n in offsets)
    return CallWindow(draw(DAYS), draw(CLOCK), draw(CLOCK), holidays, zones[0]), at, zones


@settings(max_examples=200, deadline=None)
@given(cases())
def test_next_open_is_open_and_earliest(case: tuple[CallWindow, datetime, list[str]]) -> None:
    win, at, zones = case
    found = next_open(win, at, zones)
    if is_open(win, at, zones):
        assert found == at
    if found is None:
        # Never open: no weekday at all, or zones whose open hours never meet. One zone with
        # some weekday always opens within a week and the few holidays drawn.
        assert not is_open(win, at, zones)
        assert not win.days or len(zones) > 1, (win, at, zones)
        every_5_min = (at + timedelta(minutes=5 * i) for i in range(8 * 24 * 12))
        assert not any(is_open(win, t, zones) for t in every_5_min)
        return
    assert found >= at and is_open(win, found, zones)
    if found > at:
        assert not is_open(win, found - TINY, zones)
        step = (found - at) / 16
        assert not any(is_open(win, at + step * i, zones) for i in range(16))


@settings(max_examples=200, deadline=None)
@given(cases())
def test_closes_at_is_the_first_closed_instant(
    case: tuple[CallWindow, datetime, list[str]],
) -> None:
    win, at, zones = case
    closed = closes_at(win, at, zones)
    if closed is None:
        # closed now, or open around the clock: every day, start == end, and every holiday
        # already past on each zone's own calendar
        if is_open(win, at, zones):
            assert win.days == EVERY_DAY and win.start == win.end, win
            today = [at.astimezone(ZoneInfo(zone)).date() for zone in zones]
            assert all(day < local for day in win.holidays for local in today), (win, at)
        return
    assert is_open(win, at, zones)
    assert closed > at and not is_open(win, closed, zones)
    assert is_open(win, closed - TINY, zones)
    step = (closed - at) / 16
    assert all(is_open(win, at + step * i, zones) for i in range(16))


@settings(max_examples=100, deadline=None)
@given(cases())
def test_next_open_matches_a_minute_by_minute_scan(
    case: tuple[CallWindow, datetime, list[str]],
) -> None:
    win, at, zones = case
    found = next_open(win, at, zones)
    if is_open(win, at, zones):
        assert found == at
        return
    minute = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(36 * 60):
        if is_open(win, minute, zones):
            assert found == minute
            return
        minute += timedelta(minutes=1)
    assert found is None or found >= minute
