"""Retry rules per outcome and the claim's order (issue 17, SPEC 3.9 and 3.10): pure values and
the one function that says where a target goes when its attempt ends.

An outplan's `retry_rules` is a list of `{"when": {...}, "interval_ms", "max_tries", "then"}`.
`when` names one or more of `hangup_reason`, `amd_result`, `disposition`, `sip_code`; a rule
matches an ended attempt when every one it names equals the attempt's value (a value the
attempt does not have, such as a `disposition` nobody set, never matches). The first rule that
matches decides:

- `retry`: the same destination again after `interval_ms`, up to `max_tries` attempts of that
  destination in all (0: only `max_try_count_N` bounds it), never past `max_try_count_N`; when
  they are used up the destination counts as used up and rule 2 moves on (after `interval_ms`).
- `next_destination`: the destination counts as used up now; the next set one after
  `interval_ms`.
- `finish`: the target is done.

No rule matches (or the outplan has none): `status_after_attempt` and `try_interval`, exactly
as before; `after_attempt` then returns `retry_at = None`, which the claim reads as "cool down
`try_interval` after `last_attempt_end`" (property-tested against `status_after_attempt`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from outdial.domain.errors import InvalidArgument
from outdial.domain.outcome import CallResult, HangupReason
from outdial.domain.rules import next_destination, status_after_attempt
from outdial.domain.states import TargetStatus
from outdial.domain.text import check_unicode

MAX_RULES = 20
MAX_MS = 366 * 86_400_000  # a year, as try_interval
MAX_RULE_TRIES = 1000
MAX_VALUE_LEN = 64
AMD_RESULTS = frozenset({"human", "machine", "notsure"})
MAX_NOTE = 255  # the stored note's length
SCHEDULED_NOTE = "scheduled by an operator"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MATCH_FIELDS = ("hangup_reason", "amd_result", "disposition", "sip_code")
_RULE_KEYS = frozenset({"when", "interval_ms", "max_tries", "then"})


class Then(str, Enum):
    RETRY = "retry"
    NEXT_DESTINATION = "next_destination"
    FINISH = "finish"


class Order(str, Enum):
    """The order in which a claim takes due targets (SPEC 3.10)."""

    OLDEST_ATTEMPT_FIRST = "oldest_attempt_first"  # least recently updated first (rule 1)
    FIFO = "fifo"  # creation order
    PRIORITY = "priority"  # higher priority first, then rule 1


MIN_PRIORITY, MAX_PRIORITY = 0, 9


@dataclass(frozen=True, slots=True)
class RetryRule:
    when: tuple[tuple[str, str | int], ...]  # (field, value), in MATCH_FIELDS order
    interval_ms: int = 0
    max_tries: int = 0  # 0: bounded only by max_try_count_N
    then: Then = Then.RETRY

    def matches(self, facts: Mapping[str, Any]) -> bool:
        return all(facts.get(key) == value for key, value in self.when)

    def what(self) -> str:
        """What matched, as the eligibility endpoint says it ("busy", "sip_code 503")."""
        parts = []
        for key, value in self.when:
            parts.append(str(value) if key in ("hangup_reason", "amd_result") else f"{key} {value}")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "when": dict(self.when),
            "interval_ms": self.interval_ms,
            "max_tries": self.max_tries,
            "then": self.then.value,
        }


def _int(raw: Any, field: str, low: int, high: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InvalidArgument(f"{field} must be an integer")
    if raw < low or raw > high:
        raise InvalidArgument(f"{field} must be between {low} and {high}")
    return raw


def _when(raw: Any, field: str) -> tuple[tuple[str, str | int], ...]:
    if not isinstance(raw, dict) or not raw:
        raise InvalidArgument(f"{field} must be an object naming one or more of {MATCH_FIELDS}")
    unknown = sorted(k for k in raw if k not in MATCH_FIELDS)
    if unknown:
        raise InvalidArgument(f"{field}.{unknown[0]} is not one of {', '.join(MATCH_FIELDS)}")
    out: list[tuple[str, str | int]] = []
    for key in MATCH_FIELDS:
        if key not in raw:
            continue
        value, name = raw[key], f"{field}.{key}"
        if key == "sip_code":
            out.append((key, _int(value, name, 100, 699)))
            continue
        if not isinstance(value, str) or not value:
            raise InvalidArgument(f"{name} must be a non-empty string")
        if key == "hangup_reason":
            known = sorted(r.value for r in HangupReason if r.value)
            if value not in known:
                raise InvalidArgument(f"{name} must be one of {', '.join(known)}")
        elif key == "amd_result" and value not in AMD_RESULTS:
            raise InvalidArgument(f"{name} must be one of {', '.join(sorted(AMD_RESULTS))}")
        elif check_unicode(value, name) and len(value) > MAX_VALUE_LEN:
            raise InvalidArgument(f"{name} must be at most {MAX_VALUE_LEN} characters")
        out.append((key, value))
    return tuple(out)


def parse_retry_rules(raw: Any, field: str = "retry_rules") -> tuple[RetryRule, ...]:
    """The rules of a request body (null or [] : none), or a 400 naming the bad field
    (`retry_rules[2].when.hangup_reason`)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidArgument(f"{field} must be a list of rules")
    if len(raw) > MAX_RULES:
        raise InvalidArgument(f"{field} must have at most {MAX_RULES} rules")
    rules = []
    for i, item in enumerate(raw):
        name = f"{field}[{i}]"
        if not isinstance(item, dict):
            raise InvalidArgument(f"{name} must be an object")
        unknown = sorted(k for k in item if k not in _RULE_KEYS)
        if unknown:
            raise InvalidArgument(f"{name}.{unknown[0]} is not a rule field")
        if "when" not in item:
            raise InvalidArgument(f"{name}.when is required")
        then_raw = item.get("then", Then.RETRY.value)
        try:
            then = Then(then_raw)
        except (ValueError, TypeError):
            allowed = ", ".join(t.value for t in Then)
            raise InvalidArgument(f"{name}.then must be one of {allowed}") from None
        rules.append(
            RetryRule(
                when=_when(item["when"], f"{name}.when"),
                interval_ms=_int(item.get("interval_ms", 0), f"{name}.interval_ms", 0, MAX_MS),
                max_tries=_int(item.get("max_tries", 0), f"{name}.max_tries", 0, MAX_RULE_TRIES),
                then=then,
            )
        )
    return tuple(rules)


def order_detail(order: Order, priority: int) -> str:
    """What the outplan's order means for a target, as the eligibility endpoint says it."""
    if order is Order.FIFO:
        return "fifo: due targets are dialed in creation order (priority is not used)"
    if order is Order.PRIORITY:
        return (
            f"priority: this target's priority {priority} goes after due targets of higher "
            "priority and before lower ones; among equals the least recently updated first"
        )
    return "oldest_attempt_first: the least recently updated due target first (no priority)"


def parse_order(raw: Any, field: str = "order") -> Order:
    try:
        return Order(raw)
    except (ValueError, TypeError):
        allowed = ", ".join(o.value for o in Order)
        raise InvalidArgument(f"{field} must be one of {allowed}") from None


def parse_priority(raw: Any, field: str = "priority") -> int:
    """A target's priority: an integer 0-9."""
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InvalidArgument(f"{field} must be an integer from {MIN_PRIORITY} to {MAX_PRIORITY}")
    if not MIN_PRIORITY <= raw <= MAX_PRIORITY:
        raise InvalidArgument(f"{field} must be an integer from {MIN_PRIORITY} to {MAX_PRIORITY}")
    return raw


def first_match(
    rules: Sequence[RetryRule], facts: Mapping[str, Any]
) -> tuple[int, RetryRule] | None:
    """The first rule (1-based number, rule) that matches the ended attempt's facts."""
    for k, rule in enumerate(rules, start=1):
        if rule.matches(facts):
            return k, rule
    return None


@dataclass(frozen=True, slots=True)
class AfterAttempt:
    """Where a target goes when its attempt ends."""

    status: TargetStatus
    used_up: int | None = None  # a destination that now counts as used up (try_count = max)
    retry_at_us: int | None = None  # None: try_interval after the end, as before
    note: str | None = None  # why, for the eligibility endpoint ("busy by rule 1 (retry)")


def after_attempt(
    result: CallResult,
    facts: Mapping[str, Any] | None,
    rules: Sequence[RetryRule],
    index: int,
    destinations: Sequence[object | None],
    try_counts: Sequence[int],
    max_try_counts: Sequence[int],
    end_us: int,
) -> AfterAttempt:
    """Where a target goes after its attempt on destination `index` ended (`try_counts`
    already count it). `facts`: the attempt's `hangup_reason`, `amd_result`, `sip_code` and
    `disposition`; None when the attempt did not count as a try (rules do not apply)."""
    found = None if facts is None or not rules else first_match(rules, facts)
    if found is None:
        return AfterAttempt(status_after_attempt(result, destinations, try_counts, max_try_counts))
    k, rule = found
    if rule.then is Then.FINISH:
        return AfterAttempt(TargetStatus.DONE, note=f"{rule.what()}: finished by rule {k}")
    used_up: int | None = None
    if rule.then is Then.NEXT_DESTINATION:
        used_up = index
    else:
        limit = max_try_counts[index]
        cap = limit if rule.max_tries <= 0 else min(rule.max_tries, limit)
        if try_counts[index] >= cap:
            used_up = index
    counts = list(try_counts)
    if used_up is not None:
        counts[used_up] = max(counts[used_up], max_try_counts[used_up])
    if next_destination(destinations, counts, max_try_counts) is None:
        return AfterAttempt(TargetStatus.DONE, used_up, note=f"{rule.what()}: done by rule {k}")
    at = end_us + rule.interval_ms * 1000
    what = "next try" if used_up is None else "next destination"
    note = f"{rule.what()}: {what} at {clock_text(at)} by rule {k}"
    return AfterAttempt(TargetStatus.IDLE, used_up, at, note[:MAX_NOTE])


def clock_text(at_us: int) -> str:
    """A time as notes say it: `2026-12-02 14:05:00 UTC`."""
    at = _EPOCH + timedelta(microseconds=at_us)
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def scheduled_note(at_us: int, destination: int | None) -> str:
    """The note of a target rescheduled by an operator (`PUT .../schedule`)."""
    where = "" if destination is None else f", starting with destination_{destination}"
    return f"{SCHEDULED_NOTE}: not before {clock_text(at_us)}{where}"
