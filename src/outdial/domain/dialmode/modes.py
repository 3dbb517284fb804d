"""The four dial modes (SPEC 7) behind one policy object the engine asks on every tick.

- `preview`: no automatic dialing; an agent looks at the target and asks for the call.
- `progressive`: one call per idle agent (`predictive.progressive_calls`).
- `power`: VoIPBIN's rule (bin-campaign-manager `isDialable`): dial while
  `floor(available_agents * service_level / 100) > dialing`. VoIPBIN starts one call per
  500 ms tick while it holds; the count it converges to is returned at once. `dialing` is the
  campaign's calls not answered yet (in outdial a campaigncall leaves `dialing` on answer).
- `predictive`: `predictive.py`, held under `max_abandon_rate` by `control.py`.

The result is an upper bound for this instant; the engine still applies the campaign's
`max_concurrent_calls` and `calls_per_second` (`domain/pacing.py`) and the targets it has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from outdial.domain.dialmode.measures import Measures
from outdial.domain.dialmode.predictive import (
    PredictiveTuning,
    predictive_choice,
    progressive_calls,
)
from outdial.domain.dialmode.snapshot import Snapshot
from outdial.domain.dialmode.stats import ABANDON_AFTER_US


class DialMode(str, Enum):
    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    POWER = "power"
    PREDICTIVE = "predictive"


class PaceReason(str, Enum):
    PREVIEW = "preview"  # the agents ask for calls
    NO_AGENTS = "no_agents"  # nobody logged in to take a call
    PROGRESSIVE = "progressive"
    POWER = "power"
    PREDICTIVE = "predictive"
    WARMING_UP = "warming_up"  # predictive, dialing progressive until answers are measured
    THROTTLED = "throttled"  # predictive, dialing progressive: the abandon rate nears the ceiling


@dataclass(frozen=True, slots=True)
class PaceDecision:
    calls: int  # calls to start now
    reason: PaceReason
    allowed_abandon: float = 0.0  # predictive: the abandon share planned for


def power_calls(available: int, dialing: int, service_level: int) -> int:
    """VoIPBIN's rule as a count: calls to start so `dialing` reaches the capacity."""
    capacity = available * max(0, service_level) // 100
    return max(0, capacity - dialing)


@dataclass(frozen=True, slots=True)
class PacingPolicy:
    """A campaign's pacing: `mode`, `service_level` (power), `max_abandon_rate` (percent)."""

    mode: DialMode
    service_level: int = 100
    max_abandon_rate: float = 3.0
    abandon_after_us: int = ABANDON_AFTER_US
    tuning: PredictiveTuning = field(default_factory=PredictiveTuning)

    def decide(self, snap: Snapshot, measures: Measures) -> PaceDecision:
        if self.mode is DialMode.PREVIEW:
            return PaceDecision(0, PaceReason.PREVIEW)
        if not snap.agents:
            return PaceDecision(0, PaceReason.NO_AGENTS)
        if self.mode is DialMode.PROGRESSIVE:
            return PaceDecision(progressive_calls(snap), PaceReason.PROGRESSIVE)
        if self.mode is DialMode.POWER:
            calls = power_calls(snap.idle, snap.ringing, self.service_level)
            return PaceDecision(calls, PaceReason.POWER)
        choice = predictive_choice(
            snap,
            measures,
            ceiling=self.max_abandon_rate / 100.0,
            patience_us=self.abandon_after_us,
            tuning=self.tuning,
        )
        if choice.warming_up:
            reason = PaceReason.WARMING_UP
        elif choice.throttled:
            reason = PaceReason.THROTTLED
        else:
            reason = PaceReason.PREDICTIVE
        return PaceDecision(choice.calls, reason, choice.allowed)
