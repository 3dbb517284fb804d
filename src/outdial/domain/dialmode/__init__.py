"""Agent pacing (issue 13): how many calls a campaign with agents starts now.

Pure and deterministic: `PacingPolicy.decide(Snapshot, Measures)` from plain values, with
`PacingStats` accumulating the measures from call events. docs/pacing.md explains the modes,
the predictive model and its abandon control rule.
"""

from outdial.domain.dialmode.control import AbandonControl, allowed_abandon, steering_rate
from outdial.domain.dialmode.counts import AbandonWindows, Counts
from outdial.domain.dialmode.distribution import Distribution, Sampler
from outdial.domain.dialmode.measures import Measures
from outdial.domain.dialmode.modes import (
    DialMode,
    PaceDecision,
    PaceReason,
    PacingPolicy,
    power_calls,
)
from outdial.domain.dialmode.predictive import PredictiveTuning, progressive_calls
from outdial.domain.dialmode.snapshot import AgentPhase, AgentView, Snapshot
from outdial.domain.dialmode.stats import PacingStats, Priors

__all__ = [
    "AbandonControl",
    "AbandonWindows",
    "AgentPhase",
    "AgentView",
    "Counts",
    "DialMode",
    "Distribution",
    "Measures",
    "PaceDecision",
    "PaceReason",
    "PacingPolicy",
    "PacingStats",
    "PredictiveTuning",
    "Priors",
    "Sampler",
    "Snapshot",
    "allowed_abandon",
    "power_calls",
    "progressive_calls",
    "steering_rate",
]
