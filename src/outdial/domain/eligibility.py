"""The pieces of the dial decision (issue 6): reasons, the per-number limits, the calling
window's verdict, the calling codes. Pure functions of values and the current time.

They are composed in one place, `outdial.domain.decision.decide`, which both the claim and the
eligibility endpoint call (issue 15), so the answer of the endpoint is the decision of the
claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from outdial.domain.address import Address, AddressType
from outdial.domain.callingcodes import number_allowed
from outdial.domain.callwindow import CallWindow, is_open, next_open
from outdial.domain.rules import next_destination
from outdial.domain.timezones import zones_for_destination

DAY_US = 86_400_000_000
DAY = timedelta(days=1)


class Reason(str, Enum):
    WINDOW_CLOSED = "window_closed"
    COOLING_DOWN = "cooling_down"
    DESTINATION_EXHAUSTED = "destination_exhausted"
    DNC_LISTED = "dnc_listed"
    DESTINATION_NOT_ALLOWED = "destination_not_allowed"  # outside the allowed calling codes
    NUMBER_LIMIT = "number_limit"
    NUMBER_GAP = "number_gap"
    CAMPAIGN_NOT_RUNNING = "campaign_not_running"
    PACING_FULL = "pacing_full"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DELETED = "deleted"
    NO_DIALABLE_DESTINATION = "no_dialable_destination"
    SLEEPING = "sleeping"  # asleep (`not_before`) under rules that no longer block it
    RETRY_RULE = "retry_rule"  # waiting the interval of the retry rule that matched (issue 17)
    SCHEDULED = "scheduled"  # not before the time an operator scheduled (issue 17)
    ABANDON_HOLD = "abandon_hold"  # issue 13: abandoned less than 72 h ago (safe harbour)


# Reasons after which the target is never dialed again (by this campaign, as things stand).
NEVER = frozenset(
    {
        Reason.DONE,
        Reason.DELETED,
        Reason.NO_DIALABLE_DESTINATION,
        Reason.DESTINATION_EXHAUSTED,
        Reason.DESTINATION_NOT_ALLOWED,
    }
)
# Reasons that use a destination up and move on to the next one (reported, not blocking,
# while a later destination is left).
SKIPS_DESTINATION = frozenset({Reason.DNC_LISTED, Reason.DESTINATION_NOT_ALLOWED})


@dataclass(frozen=True, slots=True)
class Blocker:
    reason: Reason
    destination_index: int | None
    detail: str
    clears_at: datetime | None = None
    blocking: bool = True  # False: said for information (an earlier destination skipped)


def dial_number(address: Address) -> str | None:
    """The E.164 number a destination dials (DNC lists and per-number limits apply to it);
    None for destinations that are not telephone numbers."""
    return address.target if address.type is AddressType.TEL else None


def exhausted_detail(n: int, limit: int) -> str:
    """Why destination `n` (set) is not dialed: disabled by the outplan, or its tries used."""
    if limit == 0:
        return f"destination {n} is disabled by the outplan (max_try_count_{n} 0)"
    return f"destination {n} has used its {limit} tries"


def no_dialable_destination(
    destinations: Sequence[object | None],
    try_counts: Sequence[int],
    max_try_counts: Sequence[int],
) -> Blocker | None:
    """The answer for a target that no destination can dial under the outplan (every set one
    is disabled, `max_try_count_N` 0, or has used its tries), None when one can. Such a target
    is never eligible again (SPEC 3.1, 3.5): the claim that meets it while it is idle marks it
    `done` and logs this reason, and the eligibility endpoint and the preview give it."""
    if next_destination(destinations, try_counts, max_try_counts) is not None:
        return None
    why = [
        exhausted_detail(n, max_try_counts[n])
        for n, dest in enumerate(destinations)
        if dest is not None
    ]
    detail = "no destination can be dialed: " + ("; ".join(why) or "none is set")
    return Blocker(Reason.NO_DIALABLE_DESTINATION, None, detail)


def not_allowed(number: str | None, codes: Sequence[str]) -> str | None:
    """Why a number may not be dialed under the customer's calling codes, or None."""
    if number is None or number_allowed(number, codes):
        return None
    return f"{number} is outside the customer's allowed calling codes ({', '.join(codes)})"


def number_blocks(
    calls_us: Sequence[int], now_us: int, max_per_24h: int, min_gap_ms: int
) -> list[tuple[Reason, int, str]]:
    """Per-number limits: (reason, clears_at in µs, detail) for each limit the number is over.

    `calls_us` are the start times of the earlier calls to the number (any campaign of the
    customer), ascending, at least those of the last 24 h and of the last `min_gap_ms`.
    """
    out: list[tuple[Reason, int, str]] = []
    if min_gap_ms > 0 and calls_us:
        clears = calls_us[-1] + min_gap_ms * 1000
        if now_us < clears:
            out.append((Reason.NUMBER_GAP, clears, f"last call less than {min_gap_ms} ms ago"))
    if max_per_24h > 0:
        recent = [t for t in calls_us if t > now_us - DAY_US]
        if len(recent) >= max_per_24h:
            clears = recent[len(recent) - max_per_24h] + DAY_US
            detail = f"{len(recent)} calls in the last 24 h (limit {max_per_24h})"
            out.append((Reason.NUMBER_LIMIT, clears, detail))
    return out


def destination_zones(
    address: Address, target_zone: str | None, window: CallWindow
) -> tuple[str, ...]:
    return zones_for_destination(
        address.type.value, address.target, target_zone, window.default_timezone
    )


def window_block(
    window: CallWindow | None, now: datetime, zones: Sequence[str]
) -> tuple[bool, datetime | None]:
    """(closed, next opening): (False, None) when a call may start now; (True, None) when the
    window does not open within the search horizon."""
    if window is None or is_open(window, now, zones):
        return False, None
    return True, next_open(window, now, zones)


def local_times(at: datetime, zones: Sequence[str]) -> str:
    """`America/New_York Mon 07:00, ...`: the callee's wall clock in each zone."""
    return ", ".join(f"{z} {at.astimezone(ZoneInfo(z)).strftime('%a %H:%M')}" for z in zones)
