"""The filters the list routes take (console-ops): `GET /outdials/{id}/targets?status=&q=`
and `GET /campaigncalls` / `/campaigns/{id}/campaigncalls` with `status`, `result`,
`hangup_reason` (or `reason`), `since`, `until`, `target_id`. Values are checked here (an
unknown status is a 400, not an empty page); a parameter left empty filters nothing, and
parameters the routes do not know are ignored, as before. A value may list several choices
separated by commas (`status=idle,progressing`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from outdial.domain.errors import InvalidArgument
from outdial.domain.outcome import CallResult, HangupReason
from outdial.domain.states import CampaigncallStatus, TargetStatus

MAX_Q = 100  # characters of a search text


@dataclass(frozen=True, slots=True)
class TargetFilter:
    status: tuple[str, ...] = ()
    q: str = ""  # a substring of the name or of any destination's target, any case


@dataclass(frozen=True, slots=True)
class CallFilter:
    status: tuple[str, ...] = ()
    result: tuple[str, ...] = ()
    hangup_reason: tuple[str, ...] = ()
    since: datetime | None = None  # tm_create >= since
    until: datetime | None = None  # tm_create < until (not after since: nothing matches)
    target_id: uuid.UUID | None = None


def choices(text: str | None, allowed: type[Enum], field: str) -> tuple[str, ...]:
    """`a,b` -> ("a", "b"), each one of the enum's non-empty values; None or "" -> ()."""
    if not text:
        return ()
    values = {str(m.value) for m in allowed} - {""}
    found = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    bad = [v for v in found if v not in values]
    if bad:
        raise InvalidArgument(f"{field} must be one of {', '.join(sorted(values))}: {bad[0]!r}")
    return found


def target_filter(status: str | None, q: str | None) -> TargetFilter:
    text = (q or "").strip()
    if len(text) > MAX_Q:
        raise InvalidArgument(f"q is longer than {MAX_Q} characters")
    if any(c < " " for c in text):
        raise InvalidArgument("q must not contain control characters")
    return TargetFilter(choices(status, TargetStatus, "status"), text)


def call_filter(
    status: str | None,
    result: str | None,
    hangup_reason: str | None,
    since: datetime | None,
    until: datetime | None,
    target_id: uuid.UUID | None,
) -> CallFilter:
    return CallFilter(
        choices(status, CampaigncallStatus, "status"),
        choices(result, CallResult, "result"),
        choices(hangup_reason, HangupReason, "hangup_reason"),
        since,
        until,
        target_id,
    )
