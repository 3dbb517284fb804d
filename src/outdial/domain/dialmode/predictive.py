"""The predictive mode: place each call whose own abandon risk is small enough.

Each decision takes the model's outlook (`forecast.py`) and the allowance of the control rule
(`control.py`), and places calls one by one while the next one passes:

    excess(n) - excess(n - 1) <= (allowed / calibration) * g

excess(n) is the abandons expected in the look-ahead with n new calls and g a new call's
chance of answering in it, so the left side over g is the chance that the n-th call, if
answered, is abandoned. Judging each call by its own risk (rather than all calls against one
budget) keeps a lucky moment from being spent on risky calls. The model's excess is a lower
bound (it takes the worst expected slot, not the expected worst path), and in simulation the
realised abandon rate ran 1.9 to 3.4 times the risk allowed to the last call across team
sizes, answer rates and handle times: `calibration` (2.5) divides the allowance by that, and
the control rule's feedback from the measured windows takes up the rest.

Never fewer calls than progressive (one per idle agent not already covered: those cannot be
abandoned), never more than `max_lines_per_agent` lines ringing per logged-in agent, and plain
progressive until `warmup_answers` answers have been measured or while the control rule says
so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from outdial.domain.dialmode.control import AbandonControl, allowed_abandon
from outdial.domain.dialmode.forecast import Outlook, outlook
from outdial.domain.dialmode.measures import Measures
from outdial.domain.dialmode.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class PredictiveTuning:
    warmup_answers: int = 20  # answers measured before leaving progressive
    max_lines_per_agent: float = 3.0  # ringing calls per logged-in agent, at most
    horizon_quantile: float = 0.95  # look ahead until this share of answered calls answered
    min_horizon_us: int = 2_000_000
    max_horizon_us: int = 60_000_000
    slots: int = 10
    # realised abandon rate / the risk the last call may take, measured in simulation
    calibration: float = 2.5
    control: AbandonControl = field(default_factory=AbandonControl)


@dataclass(frozen=True, slots=True)
class PredictiveChoice:
    calls: int
    allowed: float  # the abandon share planned for (0.0: progressive)
    throttled: bool  # the measured rate forced progressive
    warming_up: bool


def progressive_calls(snap: Snapshot) -> int:
    """One call per idle agent that no ringing call or waiting callee already covers."""
    return max(0, snap.idle - snap.ringing - snap.waiting)


def calls_within(look: Outlook, risk: float, low: int, high: int) -> int:
    """The largest n in [low, high] whose n-th call passes: the abandons it adds to the
    look-ahead, excess(n) - excess(n - 1), at most `risk` times its chance of answering in it.

    excess is convex in n, so the calls that pass are the first ones: bisect for the last.
    """
    answers = look.g[-1]

    def passes(n: int) -> bool:
        return look.excess(n) - look.excess(n - 1) <= risk * answers

    if low >= high or not passes(low + 1):
        return low
    if passes(high):
        return high
    ok, bad = low + 1, high  # the n-th call passes at ok and fails at bad
    while bad - ok > 1:
        mid = (ok + bad) // 2
        if passes(mid):
            ok = mid
        else:
            bad = mid
    return ok


def predictive_choice(
    snap: Snapshot,
    measures: Measures,
    *,
    ceiling: float,
    patience_us: int,
    tuning: PredictiveTuning,
) -> PredictiveChoice:
    floor = progressive_calls(snap)
    if not snap.agents:
        return PredictiveChoice(0, 0.0, throttled=False, warming_up=False)
    if measures.answered_seen < tuning.warmup_answers:
        return PredictiveChoice(floor, 0.0, throttled=False, warming_up=True)
    allowed = allowed_abandon(ceiling, measures.windows, tuning.control)
    if allowed <= 0.0:
        return PredictiveChoice(floor, 0.0, throttled=True, warming_up=False)
    lines = math.floor(tuning.max_lines_per_agent * len(snap.agents)) - snap.ringing
    high = max(floor, lines)
    horizon = measures.ring_answered.quantile(tuning.horizon_quantile)
    horizon = min(max(horizon, tuning.min_horizon_us), tuning.max_horizon_us)
    look = outlook(snap, measures, patience_us=patience_us, horizon_us=horizon, slots=tuning.slots)
    calls = calls_within(look, allowed / tuning.calibration, floor, high)
    return PredictiveChoice(calls, allowed, throttled=False, warming_up=False)
