"""The measured figures a pacing decision uses, as one plain value."""

from __future__ import annotations

from dataclasses import dataclass

from outdial.domain.dialmode.counts import AbandonWindows
from outdial.domain.dialmode.distribution import Distribution


@dataclass(frozen=True, slots=True)
class Measures:
    """`answer_rate`: the chance a new call is answered. The four distributions are ring
    times of answered and of unanswered calls, handle (talk) times and wrap-up times.
    `answered_seen`: answers measured so far (the predictive mode's warm-up counts them)."""

    answer_rate: float
    ring_answered: Distribution
    ring_unanswered: Distribution
    handle: Distribution
    wrapup: Distribution
    answered_seen: int
    windows: AbandonWindows
