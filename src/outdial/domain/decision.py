"""The one dial decision (issue 15): may this target be dialed now, and if not, why and until
when? A pure function of the target, the outplan, the facts read for it and the time.

The claim (`storage/claim_plan.py`) gathers the facts set-wise for its locked batch and applies
each `Decision` (start, put to sleep, make done, burn destinations, log the skips); the
eligibility endpoint and the preview (`services/eligibility.py`) gather the same facts and
render the same `Decision` (`wire/eligibility.py`). There is no second copy of the rules.

The rules, in order (docs/architecture.md, "The dial decision"):

1. Deleted or done: nothing to do (`NEVER`).
2. Walk the destinations as SPEC 3.2 does (the lowest set one with tries left; a schedule's
   `start_destination` first), using up each one outside the customer's calling codes or on
   a live do-not-call entry.
3. No destination left: an idle target that no destination can dial by its try counts is made
   done at once (`no_dialable_destination`, even while cooling down or asleep); one whose
   destinations were all used up by step 2 is made done when it is due.
4. Not due (cooling down after `try_interval`, or until `retry_at` when a retry rule or a
   schedule set it (issue 17), or asleep until `not_before`), or in flight: left alone
   (`WAIT`); nothing is burned or logged until the target is due.
5. Calling window closed on the chosen destination: `SLEEP` until it opens (a window that does
   not open within the search horizon is looked at again a day later; its `clears_at` is
   unknown, null). Else per-number limits: `SLEEP` until the last of them clears.
6. Otherwise `DIAL` the chosen destination.

Campaign-level holds (not running, pacing full) are facts of the campaign, not of the target:
they are reported first among the reasons and make `dialable_now` false, but the verdict is
what the claim does with the target when the campaign can take it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import NamedTuple, Protocol, TypeVar

from outdial.domain.address import Address
from outdial.domain.agents import abandon_clears_us
from outdial.domain.eligibility import (
    DAY_US,
    SKIPS_DESTINATION,
    Blocker,
    Reason,
    destination_zones,
    dial_number,
    exhausted_detail,
    local_times,
    no_dialable_destination,
    not_allowed,
    number_blocks,
    window_block,
)
from outdial.domain.models import Outplan
from outdial.domain.retry import SCHEDULED_NOTE
from outdial.domain.rules import cooling_until
from outdial.domain.states import TargetStatus

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T = TypeVar("T")

WindowMemo = MutableMapping[tuple[str, ...], tuple[bool, datetime | None]]


class DialTarget(Protocol):
    """What the decision reads of a target (`models.Target` has it; the claim passes a
    lighter value built from the locked row)."""

    @property
    def status(self) -> str: ...
    @property
    def tm_delete(self) -> datetime | None: ...
    @property
    def destinations(self) -> Sequence[Address | None]: ...
    @property
    def try_counts(self) -> Sequence[int]: ...
    @property
    def last_attempt_end(self) -> datetime | None: ...
    @property
    def timezone(self) -> str | None: ...
    @property
    def not_before(self) -> datetime | None: ...
    @property
    def retry_at(self) -> datetime | None: ...
    @property
    def retry_note(self) -> str | None: ...
    @property
    def start_destination(self) -> int | None: ...


class Candidate(NamedTuple):
    """A target as the claim reads it from its locked row (the fields `DialTarget` names; a
    NamedTuple: the claim builds up to 200 of them per transaction)."""

    id: uuid.UUID
    status: str
    destinations: tuple[Address | None, ...]
    try_counts: tuple[int, ...]
    last_attempt_end: datetime | None = None
    timezone: str | None = None
    not_before: datetime | None = None
    tm_delete: datetime | None = None
    retry_at: datetime | None = None
    retry_note: str | None = None
    start_destination: int | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """What was read for the target: DNC listings and earlier calls per number, the customer's
    calling codes and the campaign's state. `windows` is an optional memo of the window's
    verdict per zone set, for callers that decide many targets at one instant under one
    window (the claim's batch): it changes no answer, only how often it is computed."""

    listed: Mapping[str, str]  # number -> the list that holds it (its name or id)
    calls: Mapping[str, Sequence[int]]  # number -> ascending start times (µs)
    campaign_running: bool = True
    pacing_full: bool = False
    calling_codes: tuple[str, ...] = ()  # the customer's (empty: every number)
    windows: WindowMemo | None = None
    # Issue 13: number -> when a call to it was last abandoned (µs), any campaign of the
    # customer, for the numbers abandoned in the last 72 h (safe harbour: they rest 72 h).
    abandoned: Mapping[str, int] = field(default_factory=dict)


class Verdict(str, Enum):
    DIAL = "dial"  # start an attempt on `destination_index` (after using up `burned`)
    SLEEP = "sleep"  # stay idle with `not_before = wake_us` (after using up `burned`)
    DONE = "done"  # no destination left: make the target done (after using up `burned`)
    WAIT = "wait"  # not due (cooling down, asleep) or in flight: leave it alone
    NEVER = "never"  # already done or deleted


@dataclass(frozen=True, slots=True)
class Skip:
    """A skip the claim logs in `dial_skips` when it applies the decision."""

    index: int
    number: str  # the number, or the address of a destination that is not one
    reason: Reason
    detail: str
    clears_us: int | None = None


class Decision(NamedTuple):
    """What to do with a target now, and every reason said about it (immutable; a NamedTuple
    because the claim makes up to 200 per transaction)."""

    verdict: Verdict
    destination_index: int | None = None  # DIAL: the destination dialed
    address: Address | None = None  # DIAL: its address
    burned: tuple[int, ...] = ()  # destinations used up (DNC, calling codes)
    wake_us: int | None = None  # SLEEP: the target's new `not_before`
    skips: tuple[Skip, ...] = ()  # what the claim logs (DIAL, SLEEP, DONE)
    reasons: tuple[Blocker, ...] = ()  # what the eligibility endpoint says

    @property
    def dialable_now(self) -> bool:
        return not any(b.blocking for b in self.reasons)

    @property
    def applies(self) -> bool:
        """The claim changes the target (it meets only such targets)."""
        return self.verdict in (Verdict.DIAL, Verdict.SLEEP, Verdict.DONE)


def us(at: datetime) -> int:
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def label(dest: Address) -> str:
    """What a skip names: the number dialed, or the address of a destination that is not one."""
    return dial_number(dest) or dest.target


def _window(
    dest: Address, target: DialTarget, plan: Outplan, facts: Facts, now: datetime
) -> tuple[tuple[str, ...], tuple[bool, datetime | None]]:
    """The zones of the destination and the window's (closed, next opening) in them."""
    assert plan.call_window is not None
    zones = destination_zones(dest, target.timezone, plan.call_window)
    memo = facts.windows
    verdict = None if memo is None else memo.get(zones)
    if verdict is None:
        verdict = window_block(plan.call_window, now, zones)
        if memo is not None:
            memo[zones] = verdict
    return zones, verdict


def _add(items: list[T] | None, item: T) -> list[T]:
    """Append to a list made only when needed (most targets add nothing: no list at all)."""
    if items is None:
        return [item]
    items.append(item)
    return items


def decide(target: DialTarget, plan: Outplan, facts: Facts, now: datetime) -> Decision:
    """The decision for `target` under `plan` at `now` (the module's docstring has the rules).

    The claim calls it for up to 200 targets per transaction, so the common case (dial the
    first destination, nothing to say) allocates no list."""
    if target.tm_delete is not None:
        return Decision(Verdict.NEVER, reasons=(Blocker(Reason.DELETED, None, _DELETED),))
    if target.status == TargetStatus.DONE:
        return Decision(Verdict.NEVER, reasons=(Blocker(Reason.DONE, None, _DONE),))
    held: list[Blocker] | None = None  # reported first, whatever the verdict
    idle = target.status == TargetStatus.IDLE
    if not idle:
        held = _add(held, Blocker(Reason.IN_PROGRESS, None, "an attempt is in flight"))
    if not facts.campaign_running:
        held = _add(held, Blocker(Reason.CAMPAIGN_NOT_RUNNING, None, _NOT_RUNNING))
    elif facts.pacing_full:
        held = _add(held, Blocker(Reason.PACING_FULL, None, _PACING_FULL))
    limits = plan.max_try_counts
    dests, counts = target.destinations, target.try_counts
    skipped: list[Blocker] | None = None  # every destination passed over, as said
    skips: list[Skip] | None = None  # those the claim logs and uses up
    burned: list[int] | None = None
    chosen = -1  # the destination dialed: its index, address and number
    dest: Address | None = None
    number: str | None = None
    start = target.start_destination
    walk = range(len(dests)) if start is None or start not in _FROM else _FROM[start]
    for n in walk:
        dest = dests[n]
        if dest is None:
            continue
        if counts[n] >= limits[n]:
            why = exhausted_detail(n, limits[n])
            skipped = _add(skipped, Blocker(Reason.DESTINATION_EXHAUSTED, n, why))
            continue
        number = dial_number(dest)
        why_not = not_allowed(number, facts.calling_codes) if facts.calling_codes else None
        if why_not is not None and number is not None:
            skipped = _add(skipped, Blocker(Reason.DESTINATION_NOT_ALLOWED, n, why_not))
            skips = _add(skips, Skip(n, number, Reason.DESTINATION_NOT_ALLOWED, why_not))
            burned = _add(burned, n)
            continue
        if number is not None and number in facts.listed:
            listed = facts.listed[number]
            said = f"{number} is on do-not-call list {listed}"
            skipped = _add(skipped, Blocker(Reason.DNC_LISTED, n, said))
            skips = _add(skips, Skip(n, number, Reason.DNC_LISTED, f"on do-not-call list {listed}"))
            burned = _add(burned, n)
            continue
        chosen = n
        break
    until = target.retry_at  # set by a retry rule or a schedule: replaces try_interval
    if until is None:
        until = cooling_until(target.last_attempt_end, plan.try_interval)
    cooling = until is not None and until > now
    asleep = target.not_before is not None and target.not_before > now
    due = idle and not cooling and not asleep
    if chosen < 0 or dest is None:
        passed = (*(held or ()), *(skipped or ()))
        if idle:
            none_left = no_dialable_destination(dests, counts, limits)
            if none_left is not None:  # never dialable again: done whether due or not
                first = next((n for n, d in enumerate(dests) if d is not None), 0)
                dest0 = dests[first]
                name = "" if dest0 is None else label(dest0)
                skip = Skip(first, name, none_left.reason, none_left.detail)
                reasons = (*(held or ()), none_left, *(skipped or ()))
                return Decision(Verdict.DONE, skips=(skip,), reasons=reasons)
        if due:
            return Decision(
                Verdict.DONE, burned=tuple(burned or ()), skips=tuple(skips or ()), reasons=passed
            )
        return Decision(Verdict.WAIT, reasons=passed)
    n = chosen
    out = held
    for b in skipped or ():
        if b.reason in SKIPS_DESTINATION:  # said for information: a later one is dialed
            info = Blocker(b.reason, b.destination_index, b.detail + "; skipped", None, False)
            out = _add(out, info)
    blocked = False
    if cooling:
        out = _add(out, _cooling(target, n, until))
        blocked = True
    wake: int | None = None
    sleep_skips: list[Skip] | None = None
    if plan.call_window is not None:
        zones, (closed, opens) = _window(dest, target, plan, facts, now)
        if closed:
            detail = f"outside the calling window in {local_times(now, zones)}"
            said = detail if opens is not None else detail + _NEVER_OPENS
            out = _add(out, Blocker(Reason.WINDOW_CLOSED, n, said, opens))
            clears = None if opens is None else us(opens)
            # A window that does not open within the horizon is looked at again in a day.
            wake = us(now) + DAY_US if clears is None else clears
            sleep_skips = [Skip(n, label(dest), Reason.WINDOW_CLOSED, detail, clears)]
            blocked = True
    if number is not None and (plan.max_attempts_per_number_24h > 0 or plan.min_number_gap > 0):
        blocks = number_blocks(
            facts.calls.get(number, ()),
            us(now),
            plan.max_attempts_per_number_24h,
            plan.min_number_gap,
        )
        for reason, clears_us, detail in blocks:
            out = _add(out, Blocker(reason, n, f"{number}: {detail}", from_us(clears_us)))
        if blocks and wake is None:  # a closed window is the one logged and slept on
            wake = max(clears_us for _, clears_us, _ in blocks)
            sleep_skips = [Skip(n, number, r, d, c) for r, c, d in blocks]
        blocked = blocked or bool(blocks)
    if number is not None and number in facts.abandoned:
        clears = abandon_clears_us((facts.abandoned[number],), us(now))
        if clears is not None:
            detail = "a call to it was abandoned less than 72 h ago"
            out = _add(out, Blocker(Reason.ABANDON_HOLD, n, f"{number}: {detail}", from_us(clears)))
            if wake is None:
                wake = clears
                sleep_skips = [Skip(n, number, Reason.ABANDON_HOLD, detail, clears)]
            elif wake < clears:  # the later of the two wakes it
                wake = clears
            blocked = True
    if asleep and not blocked:
        # Put to sleep by an earlier decision under rules changed since (a window edited
        # open, a limit raised): the claim looks again at `not_before`.
        assert target.not_before is not None
        out = _add(out, Blocker(Reason.SLEEPING, n, _SLEEPING, target.not_before))
    reasons = () if out is None else tuple(out)
    if not due:
        return Decision(Verdict.WAIT, destination_index=n, reasons=reasons)
    if wake is not None:
        return Decision(
            Verdict.SLEEP,
            destination_index=n,
            burned=tuple(burned or ()),
            wake_us=wake,
            skips=(*(skips or ()), *(sleep_skips or ())),
            reasons=reasons,
        )
    if burned is None:  # the common case
        return Decision(Verdict.DIAL, n, dest, (), None, (), reasons)
    return Decision(Verdict.DIAL, n, dest, tuple(burned), None, tuple(skips or ()), reasons)


_ALL = (0, 1, 2, 3, 4)  # a target's destination slots
# A schedule's destination first, then rule 2's order (SPEC 3.2) for the others.
_FROM = {s: (s, *(n for n in _ALL if n != s)) for s in _ALL}


def _cooling(target: DialTarget, n: int, until: datetime | None) -> Blocker:
    """Why a target that is not due yet waits: `try_interval`, a retry rule or a schedule."""
    note = target.retry_note
    if target.retry_at is None or not note:
        return Blocker(Reason.COOLING_DOWN, n, _COOLING, until)
    reason = Reason.SCHEDULED if note.startswith(SCHEDULED_NOTE) else Reason.RETRY_RULE
    return Blocker(reason, n, note, until)


_NOT_RUNNING = "the campaign is not in run"
_PACING_FULL = "the campaign has max_concurrent_calls"
_DELETED = "the target is deleted"
_DONE = "the target is done (answered or tries used up)"
_COOLING = "waiting try_interval after the last try"
_NEVER_OPENS = " (it does not open within the search horizon)"
_SLEEPING = "put to sleep by an earlier claim under rules changed since; looked at again then"
