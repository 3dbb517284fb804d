"""Dialing rules as pure functions (SPEC 3): destination choice, exhaustion, cooling down."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from outdial.domain.outcome import CallResult
from outdial.domain.states import TargetStatus


def next_destination(
    destinations: Sequence[object | None],
    try_counts: Sequence[int],
    max_try_counts: Sequence[int],
) -> int | None:
    """The lowest slot that is set (not None) and has tries left, or None when every slot is
    used up. Slots may be Address values or their stored form."""
    for n, dest in enumerate(destinations):
        if dest is not None and try_counts[n] < max_try_counts[n]:
            return n
    return None


def status_after_attempt(
    result: CallResult,
    destinations: Sequence[object | None],
    try_counts: Sequence[int],
    max_try_counts: Sequence[int],
) -> TargetStatus:
    """Where a target goes when its attempt ends (`try_counts` already count that attempt)."""
    if result is CallResult.SUCCESS:
        return TargetStatus.DONE
    if next_destination(destinations, try_counts, max_try_counts) is None:
        return TargetStatus.DONE
    return TargetStatus.IDLE


# `dial_timeout: 0` means "none given: use the system default" (VoIPBIN's meaning), on every
# backend: the engine, the simulated telephony and SIP all ring this long for it.
DEFAULT_DIAL_TIMEOUT_MS = 60_000


def ring_limit_ms(dial_timeout_ms: int) -> int:
    """How long an attempt rings: the outplan's `dial_timeout`, or the system default for 0."""
    return dial_timeout_ms if dial_timeout_ms > 0 else DEFAULT_DIAL_TIMEOUT_MS


def cooling_until(last_attempt_end: datetime | None, try_interval_ms: int) -> datetime | None:
    """When a target that has been tried becomes dialable again (None: never tried)."""
    if last_attempt_end is None:
        return None
    return last_attempt_end + timedelta(milliseconds=try_interval_ms)


def is_cooling(last_attempt_end: datetime | None, try_interval_ms: int, now: datetime) -> bool:
    until = cooling_until(last_attempt_end, try_interval_ms)
    return until is not None and until > now
