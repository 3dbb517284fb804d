"""What the pacing policy sees at one instant: the campaign's agents and its calls.

Plain values the engine (or the simulated call center) fills in on every pacing tick. Times
are UTC microseconds since the epoch, like `domain/pacing.py` and the database columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum


class AgentPhase(str, Enum):
    """Where a logged-in agent of the campaign's queue is in the cycle of a call.

    Agents `away` or `offline` are not given to the policy at all: they take no calls.
    """

    IDLE = "idle"  # available, waiting for a callee
    RESERVED = "reserved"  # a callee is being connected (the agent's leg rings)
    TALKING = "talking"  # connected to a callee
    WRAPUP = "wrapup"  # after the call, before the disposition: not available yet


@dataclass(frozen=True, slots=True)
class AgentView:
    phase: AgentPhase
    since_us: int  # when the agent entered `phase`


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The campaign at `now_us`.

    `ringing_since_us`: when each placed call that is not answered yet started (campaigncalls
    in `dialing`). `waiting`: callees answered and not yet connected to an agent.
    """

    now_us: int
    agents: Sequence[AgentView] = ()
    ringing_since_us: Sequence[int] = ()
    waiting: int = 0
    # derived counts, filled in __post_init__
    idle: int = field(init=False)
    ringing: int = field(init=False)

    def __post_init__(self) -> None:
        idle = sum(1 for a in self.agents if a.phase is AgentPhase.IDLE)
        object.__setattr__(self, "idle", idle)
        object.__setattr__(self, "ringing", len(self.ringing_since_us))
