"""Measured durations (ring, talk, wrap-up) as empirical distributions with a prior.

A `Distribution` is a sorted tuple of samples in microseconds. Before anything is measured it
holds only the prior's pseudo-samples (evenly spaced quantiles of an exponential, or one fixed
value repeated); measured samples join them, so the prior's weight fades as data arrives and
no special case is needed for a cold start.
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field


def exponential_prior(mean_us: int, weight: int) -> tuple[int, ...]:
    """`weight` quantiles of an exponential distribution with mean `mean_us`."""
    return tuple(
        round(-mean_us * math.log(1.0 - (i + 0.5) / weight)) for i in range(max(0, weight))
    )


def fixed_prior(value_us: int, weight: int) -> tuple[int, ...]:
    return (value_us,) * max(0, weight)


@dataclass(frozen=True, slots=True)
class Distribution:
    samples: tuple[int, ...]  # sorted ascending, never empty
    # finish_curve's answers, by offsets then elapsed: a pacing tick asks for the same few
    # dozen curves again and again while the distribution stays the same
    _curves: dict[tuple[float, ...], dict[int, tuple[float, ...]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, values: Iterable[int]) -> Distribution:
        samples = tuple(sorted(values))
        if not samples:
            raise ValueError("a distribution needs at least one sample (give it a prior)")
        return cls(samples)

    def sf(self, x_us: float) -> float:
        """P(X > x)."""
        s = self.samples
        return (len(s) - bisect_right(s, x_us)) / len(s)

    def mean(self) -> float:
        return sum(self.samples) / len(self.samples)

    def quantile(self, q: float) -> int:
        s = self.samples
        return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]

    def finish_within(self, elapsed_us: float, within_us: float) -> float:
        """P(X <= elapsed + within | X > elapsed): the chance that something that has lasted
        `elapsed` ends in the next `within` (1.0 once it has outlasted every sample)."""
        if within_us <= 0:
            return 0.0
        alive = self.sf(elapsed_us)
        if alive <= 0.0:
            return 1.0
        return 1.0 - self.sf(elapsed_us + within_us) / alive

    def finish_curve(self, elapsed_us: int, offsets: tuple[float, ...]) -> tuple[float, ...]:
        """`finish_within(elapsed, o)` for each offset o (memoised)."""
        by_elapsed = self._curves.get(offsets)
        if by_elapsed is None:
            if len(self._curves) >= 8:
                self._curves.clear()
            by_elapsed = self._curves[offsets] = {}
        curve = by_elapsed.get(elapsed_us)
        if curve is None:
            s, n = self.samples, len(self.samples)
            alive = n - bisect_right(s, elapsed_us)
            curve = tuple(
                0.0
                if o <= 0
                else 1.0
                if alive == 0
                else 1.0 - (n - bisect_right(s, elapsed_us + o)) / alive
                for o in offsets
            )
            by_elapsed[elapsed_us] = curve
        return curve


class Sampler:
    """The last `keep` measured values beside a fixed prior, kept sorted for `Distribution`."""

    def __init__(self, prior: tuple[int, ...], keep: int = 1000) -> None:
        if not prior:
            raise ValueError("a sampler needs a prior of at least one pseudo-sample")
        self._recent: deque[int] = deque()
        self._keep = keep
        self._sorted = sorted(prior)
        self._cached: Distribution | None = None
        self._stale = 0  # samples added since `_cached` was built
        self.measured = 0  # samples ever added

    def add(self, value_us: int) -> None:
        value_us = max(0, value_us)
        self._recent.append(value_us)
        insort(self._sorted, value_us)
        if len(self._recent) > self._keep:
            old = self._recent.popleft()
            del self._sorted[bisect_right(self._sorted, old) - 1]
        self.measured += 1
        self._stale += 1

    def distribution(self) -> Distribution:
        """The prior and the kept samples. Rebuilt once 1/50 of the samples are new (at once
        while there are few), so a policy asking every tick reuses one object and its memo."""
        if self._cached is None or self._stale >= max(1, len(self._recent) // 50):
            self._cached = Distribution(tuple(self._sorted))
            self._stale = 0
        return self._cached
