"""The test number plan (SPEC 5): what a simulated or test far end does for a number."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class FarEnd(str, Enum):
    ANSWER = "answer"
    BUSY = "busy"  # 486 Busy Here
    UNAVAILABLE = "unavailable"  # 480 Temporarily Unavailable
    DECLINE = "decline"  # 603 Decline
    SERVICE_UNAVAILABLE = "service_unavailable"  # 503 Service Unavailable
    NEVER_ANSWER = "never_answer"  # rings until the caller gives up


@dataclass(frozen=True, slots=True)
class Behaviour:
    far_end: FarEnd
    sip_code: int | None  # the final response the far end sends, None when it answers or rings


_PLAN: dict[str, Behaviour] = {
    "486": Behaviour(FarEnd.BUSY, 486),
    "480": Behaviour(FarEnd.UNAVAILABLE, 480),
    "603": Behaviour(FarEnd.DECLINE, 603),
    "503": Behaviour(FarEnd.SERVICE_UNAVAILABLE, 503),
    "408": Behaviour(FarEnd.NEVER_ANSWER, None),
}
_ANSWER = Behaviour(FarEnd.ANSWER, None)


def behaviour_for(number_or_user: str) -> Behaviour:
    """Read the first three digits after an optional `+` (a tel number or a SIP user part)."""
    digits = number_or_user.removeprefix("+")[:3]
    return _PLAN.get(digits, _ANSWER)
