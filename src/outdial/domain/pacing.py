"""Pacing decisions (SPEC 3.6) as pure arithmetic on microseconds."""

from __future__ import annotations

import math


def start_interval_us(calls_per_second: float) -> int:
    """The least spacing between two attempt starts of one campaign."""
    return max(1, math.ceil(1_000_000 / calls_per_second))


def starts_allowed(
    *,
    in_flight: int,
    max_concurrent: int,
    calls_per_second: float,
    pace_next_us: int,
    now_us: int,
    window_s: float,
    max_batch: int,
) -> int:
    """How many attempts a campaign may start now.

    Concurrency allows `max_concurrent - in_flight`. The rate allows nothing before
    `pace_next`, then up to `calls_per_second * window_s` at once (at least one): each start
    pushes `pace_next` one interval further, so the long-run rate never exceeds the limit.
    """
    free = max_concurrent - in_flight
    if free <= 0 or pace_next_us > now_us:
        return 0
    burst = max(1, math.floor(calls_per_second * window_s))
    return max(0, min(free, burst, max_batch))


def next_pace_us(pace_next_us: int, now_us: int, started: int, calls_per_second: float) -> int:
    return max(pace_next_us, now_us) + started * start_interval_us(calls_per_second)
