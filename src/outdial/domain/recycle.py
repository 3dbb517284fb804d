"""Giving targets their tries back (issue 17): a reset of one target, and a recycle pass that
puts a campaign's done targets matching a filter back to idle for the next pass.

Pure rules: which targets a filter selects, what it may say, and the history actions. The
storage layer turns a `RecycleFilter` into the WHERE of one guarded UPDATE."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from outdial.domain.errors import InvalidArgument
from outdial.domain.outcome import CallResult, HangupReason
from outdial.domain.states import TargetStatus
from outdial.domain.text import check_text

# A reset gives back the tries of a target in these states; one in flight is refused (409).
RESETTABLE = (TargetStatus.IDLE, TargetStatus.DONE)
MAX_TRIES_BELOW = 5 * 1_000_000  # five destinations' tries; more says nothing new
RESULTS = tuple(r.value for r in CallResult if r.value)
HANGUP_REASONS = tuple(r.value for r in HangupReason if r.value)


class HistoryAction(StrEnum):
    RESET = "reset"  # POST .../targets/{target_id}/reset
    RECYCLE = "recycle"  # POST /campaigns/{id}/recycle


@dataclass(frozen=True, slots=True)
class RecycleFilter:
    """Which done targets a recycle pass takes back (every condition given must hold):
    `results`: the result of the target's last attempt is one of these (`success`, `fail`);
    `hangup_reasons`: its hangup reason is one of these (`busy`, `noanswer`, ...);
    `tries_below`: the target made fewer attempts than this over all its destinations;
    `last_attempt_before`: its last attempt ended before this time.
    A target done without any attempt has no last result or reason: `results` and
    `hangup_reasons` never select it, the other two treat it as 0 tries and never tried."""

    results: tuple[str, ...] = ()
    hangup_reasons: tuple[str, ...] = ()
    tries_below: int | None = None
    last_attempt_before: datetime | None = None


def _choices(raw: object, field: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        raise InvalidArgument(f"{field} must be a non-empty list of: {', '.join(allowed)}")
    for value in raw:
        if value not in allowed:
            raise InvalidArgument(f"{field}: {value!r} is not one of: {', '.join(allowed)}")
    return tuple(dict.fromkeys(raw))


def recycle_filter(body: Mapping[str, Any], last_attempt_before: datetime | None) -> RecycleFilter:
    """The filter of a recycle request body (the time already parsed by the caller)."""
    tries = body.get("tries_below")
    if tries is not None and (
        isinstance(tries, bool) or not isinstance(tries, int) or not 1 <= tries <= MAX_TRIES_BELOW
    ):
        raise InvalidArgument(f"tries_below must be an integer from 1 to {MAX_TRIES_BELOW}")
    return RecycleFilter(
        results=_choices(body.get("results"), "results", RESULTS),
        hangup_reasons=_choices(body.get("hangup_reasons"), "hangup_reasons", HANGUP_REASONS),
        tries_below=tries,
        last_attempt_before=last_attempt_before,
    )


def reason_text(raw: object) -> str:
    """Why (free text, recorded in the target's history); optional."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise InvalidArgument("reason must be a string")
    return check_text(raw, "reason")


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One reset or recycle of a target: who asked (customer, access key; the nil UUID when
    an operator did it without a key), why, and the status the target left."""

    id: Any
    customer_id: Any
    outdial_id: Any
    outdial_target_id: Any
    campaign_id: Any  # the recycling campaign; the nil UUID for a reset
    action: HistoryAction
    reason: str
    accesskey_id: Any
    status: TargetStatus
    tm_create: datetime
