"""Whether a target may be dialed now, and if not, why and until when (issue 6).

Pure functions of values and the current time. The claim uses `no_dialable_destination`,
`number_blocks` and `window_block` to decide, inside its transaction, whether an attempt may
start (or the target is done); the
eligibility and preview endpoints use `explain`, fed by the service, to say why a target is not
dialed without dialing it. Both paths share these rules, so the answer of the endpoint is the
decision of the claim.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from outdial.domain.address import Address, AddressType
from outdial.domain.callingcodes import number_allowed
from outdial.domain.callwindow import CallWindow, is_open, next_open
from outdial.domain.models import Outplan, Target
from outdial.domain.rules import cooling_until, next_destination
from outdial.domain.states import TargetStatus
from outdial.domain.timezones import zones_for_destination

DAY_US = 86_400_000_000
DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


@dataclass(frozen=True, slots=True)
class Facts:
    """What the service read for one target: DNC listings and earlier calls per number."""

    listed: Mapping[str, str]  # number -> the list that holds it (its name or id)
    calls: Mapping[str, Sequence[int]]  # number -> ascending start times (µs)
    campaign_running: bool = True
    pacing_full: bool = False
    calling_codes: tuple[str, ...] = ()  # the customer's (empty: every number)


def explain(target: Target, plan: Outplan, facts: Facts, now: datetime) -> list[Blocker]:
    """Every reason the claim would not start an attempt on `target` now; it would when none
    of them is `blocking` (a listed destination skipped for a later one is only reported).

    Destinations are walked as the claim walks them: a listed number is skipped as if its tries
    were used; the first destination with tries left that is not listed is the one the window,
    the cooling down and the per-number limits are checked on. An idle target with no
    destination left to dial gets `no_dialable_destination` (the claim makes it done), then the
    `destination_exhausted` of each destination.
    """
    if target.tm_delete is not None:
        return [Blocker(Reason.DELETED, None, "the target is deleted")]
    if target.status == TargetStatus.DONE.value:
        return [Blocker(Reason.DONE, None, "the target is done (answered or tries used up)")]
    out: list[Blocker] = []
    if target.status == TargetStatus.PROGRESSING.value:
        out.append(Blocker(Reason.IN_PROGRESS, None, "an attempt is in flight"))
    if not facts.campaign_running:
        out.append(Blocker(Reason.CAMPAIGN_NOT_RUNNING, None, "the campaign is not in run"))
    elif facts.pacing_full:
        out.append(Blocker(Reason.PACING_FULL, None, "the campaign has max_concurrent_calls"))
    chosen: tuple[int, Address] | None = None
    skipped: list[Blocker] = []
    for n, dest in enumerate(target.destinations):
        if dest is None:
            continue
        limit = plan.max_try_counts[n]
        if target.try_counts[n] >= limit:
            skipped.append(Blocker(Reason.DESTINATION_EXHAUSTED, n, exhausted_detail(n, limit)))
            continue
        number = dial_number(dest)
        why_not = not_allowed(number, facts.calling_codes)
        if why_not is not None:
            skipped.append(Blocker(Reason.DESTINATION_NOT_ALLOWED, n, why_not))
            continue
        if number is not None and number in facts.listed:
            detail = f"{number} is on do-not-call list {facts.listed[number]}"
            skipped.append(Blocker(Reason.DNC_LISTED, n, detail))
            continue
        chosen = (n, dest)
        break
    if chosen is None:
        if target.status == TargetStatus.IDLE.value:  # what the claim decides when it meets it
            none_left = no_dialable_destination(
                target.destinations, target.try_counts, plan.max_try_counts
            )
            if none_left is not None:
                return [*out, none_left, *skipped]
        return out + skipped
    out += [
        Blocker(b.reason, b.destination_index, b.detail + "; skipped", None, blocking=False)
        for b in skipped
        if b.reason in SKIPS_DESTINATION
    ]
    n, dest = chosen
    until = cooling_until(target.last_attempt_end, plan.try_interval)
    if until is not None and until > now:
        out.append(
            Blocker(Reason.COOLING_DOWN, n, "waiting try_interval after the last try", until)
        )
    if plan.call_window is not None:
        zones = destination_zones(dest, target.timezone, plan.call_window)
        closed, opens = window_block(plan.call_window, now, zones)
        if closed:
            detail = f"outside the calling window in {local_times(now, zones)}"
            if opens is None:
                detail += " (it does not open within the search horizon)"
            out.append(Blocker(Reason.WINDOW_CLOSED, n, detail, opens))
    number = dial_number(dest)
    if number is not None:
        now_us = _us(now)
        blocks = number_blocks(
            facts.calls.get(number, ()),
            now_us,
            plan.max_attempts_per_number_24h,
            plan.min_number_gap,
        )
        for reason, clears, detail in blocks:
            out.append(Blocker(reason, n, f"{number}: {detail}", _from_us(clears)))
    return out


def _us(at: datetime) -> int:
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def dialable_now(reasons: Sequence[Blocker]) -> bool:
    return not any(b.blocking for b in reasons)
