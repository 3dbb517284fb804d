"""Calling windows: when a destination may be called, in its own local time (docs/callwindows.md).

The window is a rule on the wall clock of each destination zone: a local time `t` on local date
`d` is open when `d` is not a holiday and either `start <= t < end` on a listed weekday (a window
with `start < end`), or, for a window that spans midnight (`end <= start`), `t >= start` on a
listed weekday or `t < end` on the day after a listed weekday. `start == end` is a 24-hour
window from `start`. An instant is open when it is open in every zone of the destination.

Openness changes only where some zone's wall clock reaches `start`, `end` or midnight, or where
its offset changes (a daylight-saving jump). The searches below visit exactly those instants, in
order, over a bounded horizon: never minute by minute.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from outdial.domain.errors import InvalidArgument
from outdial.domain.timezones import validate_timezone

SEARCH_DAYS = 400  # look-ahead of the searches, plus one day per holiday still to come
MAX_HOLIDAYS = 1000
ALL_DAYS = frozenset(range(1, 8))
_FIRST_CHUNK, _MAX_CHUNK = timedelta(days=1), timedelta(days=16)
_KEYS = frozenset({"days", "start", "end", "holidays", "timezone"})
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True, slots=True)
class CallWindow:
    days: frozenset[int]  # ISO weekdays, 1 = Monday .. 7 = Sunday
    start: time  # local wall-clock time, inclusive
    end: time  # local wall-clock time, exclusive; end <= start spans midnight
    holidays: frozenset[date] = field(default_factory=frozenset)  # local dates with no calls
    default_timezone: str = "UTC"  # IANA zone for destinations that have none of their own

    def __post_init__(self) -> None:
        if not self.days <= ALL_DAYS:
            raise ValueError(f"days must be ISO weekdays 1..7, got {sorted(self.days)}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("start and end are local wall-clock times without tzinfo")

    def to_json(self) -> dict[str, object]:
        return {
            "days": sorted(self.days),
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "holidays": [day.isoformat() for day in sorted(self.holidays)],
            "timezone": self.default_timezone,
        }


def _parse_time(raw: object, name: str) -> time:
    match = _HHMM.fullmatch(raw) if isinstance(raw, str) else None
    if match is None:
        raise InvalidArgument(
            f"call_window.{name} must be a time as HH:MM (00:00-23:59), got {raw!r}"
        )
    return time(int(match[1]), int(match[2]))


def _parse_days(raw: object) -> frozenset[int]:
    if not isinstance(raw, list):
        raise InvalidArgument("call_window.days must be a list of ISO weekdays (1=Mon .. 7=Sun)")
    for i, day in enumerate(raw):
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 7:
            raise InvalidArgument(f"call_window.days[{i}] must be 1 (Monday) to 7, got {day!r}")
    return frozenset(raw)


def _parse_holidays(raw: object) -> frozenset[date]:
    if not isinstance(raw, list):
        raise InvalidArgument("call_window.holidays must be a list of dates as YYYY-MM-DD")
    if len(raw) > MAX_HOLIDAYS:
        raise InvalidArgument(f"call_window.holidays has more than {MAX_HOLIDAYS} dates")
    days: set[date] = set()
    for i, item in enumerate(raw):
        try:
            if not isinstance(item, str) or not _ISO_DATE.fullmatch(item):
                raise ValueError
            days.add(date.fromisoformat(item))
        except ValueError:
            raise InvalidArgument(
                f"call_window.holidays[{i}] must be a date as YYYY-MM-DD, got {item!r}"
            ) from None
    return frozenset(days)


def parse_call_window(raw: object) -> CallWindow | None:
    """Read the JSON form; None (null or absent) means no window: any time may be called.

    `start` and `end` are required; `days` defaults to all seven, `holidays` to none and
    `timezone` to "UTC". Raises InvalidArgument naming the field (`call_window.start`, ...).
    """
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidArgument("call_window must be an object or null")
    for key in raw:
        if key not in _KEYS:
            raise InvalidArgument(f"call_window.{key} is not a known field")
    for key in ("start", "end"):
        if key not in raw:
            raise InvalidArgument(f"call_window.{key} is required")
    return CallWindow(
        days=_parse_days(raw.get("days", sorted(ALL_DAYS))),
        start=_parse_time(raw["start"], "start"),
        end=_parse_time(raw["end"], "end"),
        holidays=_parse_holidays(raw.get("holidays", [])),
        default_timezone=validate_timezone(raw.get("timezone", "UTC"), "call_window.timezone"),
    )


# --- evaluation ------------------------------------------------------------------------------


def _as_utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be an aware datetime")
    return at.astimezone(UTC)


def _zones(window: CallWindow, zones: Sequence[str]) -> tuple[ZoneInfo, ...]:
    return tuple(ZoneInfo(name) for name in (zones or (window.default_timezone,)))


def _open_in(window: CallWindow, at: datetime, zone: ZoneInfo) -> bool:
    local = at.astimezone(zone)
    day, now = local.date(), local.time()
    if day in window.holidays:
        return False
    weekday = day.isoweekday()
    if window.start < window.end:
        return weekday in window.days and window.start <= now < window.end
    yesterday = (weekday - 2) % 7 + 1
    return (now >= window.start and weekday in window.days) or (
        now < window.end and yesterday in window.days
    )


def _offset_at(zone: ZoneInfo, second: int) -> timedelta | None:
    return datetime.fromtimestamp(second, zone).utcoffset()


def _transition(zone: ZoneInfo, lo: datetime, hi: datetime) -> datetime:
    """The first whole second in (lo, hi] where the zone's offset differs from its offset at lo.

    Called for a wall time in a gap or an overlap, whose two folds lie on either side of one
    transition; tz database transitions fall on whole seconds, so bisection is exact.
    """
    a, b = math.floor(lo.timestamp()), math.ceil(hi.timestamp())
    before = _offset_at(zone, a)
    if _offset_at(zone, b) == before:
        return hi
    while b - a > 1:
        mid = (a + b) // 2
        a, b = (mid, b) if _offset_at(zone, mid) == before else (a, mid)
    return datetime.fromtimestamp(b, UTC)


def _edges(window: CallWindow, zone: ZoneInfo, lo: datetime, hi: datetime) -> list[datetime]:
    """Sorted instants in (lo, hi] where openness in `zone` may change."""
    marks = {window.start, window.end}
    if window.end <= window.start:  # a holiday can cut a window that spans midnight
        marks.add(time(0))
    found: set[datetime] = set()
    day, last = lo.astimezone(zone).date() - timedelta(1), hi.astimezone(zone).date()
    while day <= last + timedelta(1):
        for mark in marks:
            wall = datetime.combine(day, mark, tzinfo=zone)
            first, second = wall.astimezone(UTC), wall.replace(fold=1).astimezone(UTC)
            found.update((first, second))
            if first != second:  # gap or overlap: the jump itself may open or close
                found.add(_transition(zone, min(first, second), max(first, second)))
        day += timedelta(1)
    return sorted(edge for edge in found if lo < edge <= hi)


def _stream(
    window: CallWindow, zone: ZoneInfo, after: datetime, until: datetime
) -> Iterator[datetime]:
    """The change points of `zone` in (after, until], in order, a growing chunk at a time."""
    lo, chunk = after, _FIRST_CHUNK
    while lo < until:
        hi = min(lo + chunk, until)
        yield from _edges(window, zone, lo, hi)
        lo, chunk = hi, min(chunk * 2, _MAX_CHUNK)


def _horizon(window: CallWindow, at: datetime) -> datetime:
    pending = sum(1 for day in window.holidays if day >= at.date() - timedelta(1))
    return at + timedelta(days=SEARCH_DAYS + pending)


def is_open(window: CallWindow | None, at: datetime, zones: Sequence[str]) -> bool:
    """Whether a call may start at `at` (aware): the window holds in every one of `zones`.

    No window means any time. Empty `zones` means the window's default zone.
    """
    if window is None:
        return True
    instant = _as_utc(at)
    return all(_open_in(window, instant, zone) for zone in _zones(window, zones))


def next_open(window: CallWindow | None, at: datetime, zones: Sequence[str]) -> datetime | None:
    """The earliest UTC instant >= `at` when the window is open in all `zones`.

    None when it does not open within the horizon (SEARCH_DAYS plus a day per future holiday):
    no days, or zones whose windows never overlap. Leapfrogs: while some zone is closed, jump to
    that zone's next opening; no instant before it can be open in all zones.
    """
    candidate = _as_utc(at)
    if window is None:
        return candidate
    if not window.days:
        return None
    tzs, horizon = _zones(window, zones), _horizon(window, candidate)
    streams = {zone: _stream(window, zone, candidate, horizon) for zone in tzs}
    while True:
        closed = next((zone for zone in tzs if not _open_in(window, candidate, zone)), None)
        if closed is None:
            return candidate
        after = candidate
        opening = (e for e in streams[closed] if e > after and _open_in(window, e, closed))
        found = next(opening, None)
        if found is None:
            return None
        candidate = found


def closes_at(window: CallWindow | None, at: datetime, zones: Sequence[str]) -> datetime | None:
    """When the window open at `at` closes in some zone (UTC).

    None when it is closed at `at`, or does not close within the horizon (always open).
    """
    instant = _as_utc(at)
    if window is None or not is_open(window, instant, zones):
        return None
    if window.days == ALL_DAYS and window.start == window.end and not window.holidays:
        return None
    best: datetime | None = None
    limit = _horizon(window, instant)
    for zone in _zones(window, zones):
        edges = _stream(window, zone, instant, best or limit)
        found = next((e for e in edges if not _open_in(window, e, zone)), None)
        if found is not None:
            best = found
    return best
