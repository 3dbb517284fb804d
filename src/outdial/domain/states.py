"""State enums and their allowed transitions (SPEC 1 and 3).

The statuses are `StrEnum`s: the domain models hold members (never bare strings), which still
compare equal to the stored text and format as their value (`f"{status}"` is `done`)."""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import TypeVar

from outdial.domain.errors import InvalidArgument


class TargetStatus(StrEnum):
    IDLE = "idle"
    PROGRESSING = "progressing"
    DONE = "done"


class CampaignStatus(StrEnum):
    STOP = "stop"
    STOPPING = "stopping"
    RUN = "run"


class CampaignType(str, Enum):
    CALL = "call"
    FLOW = "flow"


class EndHandle(str, Enum):
    STOP = "stop"
    CONTINUE = "continue"


class CampaigncallStatus(StrEnum):
    DIALING = "dialing"
    PROGRESSING = "progressing"
    DONE = "done"


class ReferenceType(str, Enum):
    CALL = "call"
    FLOW = "flow"
    NONE = "none"


TARGET_TRANSITIONS: dict[TargetStatus, frozenset[TargetStatus]] = {
    TargetStatus.IDLE: frozenset({TargetStatus.PROGRESSING, TargetStatus.DONE}),
    TargetStatus.PROGRESSING: frozenset({TargetStatus.IDLE, TargetStatus.DONE}),
    # Only by hand: a reset of one target or a recycle pass (issue 17) gives its tries back.
    TargetStatus.DONE: frozenset({TargetStatus.IDLE}),
}

CAMPAIGN_TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.STOP: frozenset({CampaignStatus.RUN}),
    CampaignStatus.RUN: frozenset({CampaignStatus.STOPPING, CampaignStatus.STOP}),
    CampaignStatus.STOPPING: frozenset({CampaignStatus.STOP, CampaignStatus.RUN}),
}

CAMPAIGNCALL_TRANSITIONS: dict[CampaigncallStatus, frozenset[CampaigncallStatus]] = {
    CampaigncallStatus.DIALING: frozenset(
        {CampaigncallStatus.PROGRESSING, CampaigncallStatus.DONE}
    ),
    CampaigncallStatus.PROGRESSING: frozenset({CampaigncallStatus.DONE}),
    CampaigncallStatus.DONE: frozenset(),
}


S = TypeVar("S", bound=Enum)
E = TypeVar("E", bound=Enum)


def sources_for(table: dict[S, frozenset[S]], to: S) -> tuple[S, ...]:
    """The states a transition into `to` may come from; used to guard the UPDATE."""
    return tuple(src for src, dests in table.items() if to in dests)


def parse_enum(kind: type[E], value: object, field: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in kind)
        raise InvalidArgument(f"{field} {value!r} is not one of: {allowed}") from None
