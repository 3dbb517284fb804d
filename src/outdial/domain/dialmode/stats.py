"""The stats accumulator a pacing policy reads: counts in rolling windows and measured times.

The engine (or the simulated call center) reports each event of a campaign's calls as it
happens; `measures(now)` returns the plain values the policy decides on. Counts live in
one-minute buckets, so a window's edges are exact to the minute; 30 days of a busy campaign
are at most 43,200 buckets.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from outdial.domain.dialmode.counts import MINUTE_US, MONTH_US, RECENT_US, AbandonWindows, Counts
from outdial.domain.dialmode.distribution import Sampler, exponential_prior, fixed_prior
from outdial.domain.dialmode.measures import Measures

PLACED, ANSWERED, UNANSWERED, CONNECTED, ABANDONED, HANDLED, HANDLE_US, WRAPUPS, WRAPUP_US = range(
    9
)
FIELDS = 9  # the counters of `Counts`, in its order
ABANDON_AFTER_US = 2_000_000  # US FTC/FCC: an agent within 2 s of the answer


@dataclass(frozen=True, slots=True)
class Priors:
    """What the policy assumes before anything is measured. Each is worth `weight` measured
    calls; the defaults lean cautious (a high answer rate, long calls), so a cold campaign
    dials few extra calls until its own figures take over."""

    answer_rate: float = 0.5
    ring_answered_us: int = 8_000_000  # exponential mean
    ring_unanswered_us: int = 30_000_000  # fixed: unanswered calls ring to the dial timeout
    handle_us: int = 180_000_000  # exponential mean
    wrapup_us: int = 15_000_000  # fixed
    weight: int = 20


class PacingStats:
    def __init__(
        self,
        *,
        tz: tzinfo = UTC,
        abandon_after_us: int = ABANDON_AFTER_US,
        priors: Priors | None = None,
        keep: int = 1000,
    ) -> None:
        p = priors or Priors()
        self.tz = tz
        self.abandon_after_us = abandon_after_us
        self.priors = p
        self._keep = keep
        self.ring_answered = Sampler(exponential_prior(p.ring_answered_us, p.weight), keep)
        self.ring_unanswered = Sampler(fixed_prior(p.ring_unanswered_us, p.weight), keep)
        self.handle = Sampler(exponential_prior(p.handle_us, p.weight), keep)
        self.wrapup = Sampler(fixed_prior(p.wrapup_us, p.weight), keep)
        self._outcomes: deque[bool] = deque()  # the last `keep` ring outcomes (answered?)
        self._outcomes_answered = 0
        self.answered_seen = 0
        self._buckets: dict[int, list[int]] = {}
        self._keys: list[int] = []  # bucket numbers, ascending
        self._month = [0] * FIELDS
        self._month_from = 0  # the oldest bucket in `_month`
        self._day = -1  # local day (ordinal) of `_today`
        self._today = [0] * FIELDS
        self._day_cache: tuple[int, int] = (-1, -1)  # (bucket, its local day)

    # --- events -----------------------------------------------------------------------------
    def placed(self, now_us: int) -> None:
        self._count(now_us, PLACED)

    def ring_ended(self, now_us: int, ring_us: int, *, answered: bool) -> None:
        """A placed call stopped ringing: answered after `ring_us`, or gave up (timeout, busy,
        rejected, failed)."""
        (self.ring_answered if answered else self.ring_unanswered).add(ring_us)
        self._outcomes.append(answered)
        self._outcomes_answered += answered
        if len(self._outcomes) > self._keep:
            self._outcomes_answered -= self._outcomes.popleft()
        if answered:
            self.answered_seen += 1
        self._count(now_us, ANSWERED if answered else UNANSWERED)

    def connected(self, now_us: int, wait_us: int) -> None:
        """An answered callee reached an agent `wait_us` after the answer; later than the
        abandon time it still counts as abandoned (the callee already heard silence)."""
        self._count(now_us, CONNECTED)
        if wait_us > self.abandon_after_us:
            self._count(now_us, ABANDONED)

    def abandoned(self, now_us: int) -> None:
        """An answered callee never reached an agent (timed out in the queue or hung up)."""
        self._count(now_us, ABANDONED)

    def call_ended(self, now_us: int, talk_us: int) -> None:
        """A connected call ended after `talk_us` with the agent (its handle time)."""
        self.handle.add(talk_us)
        self._count(now_us, HANDLED)
        self._count(now_us, HANDLE_US, talk_us)

    def wrapup_ended(self, now_us: int, wrap_us: int) -> None:
        self.wrapup.add(wrap_us)
        self._count(now_us, WRAPUPS)
        self._count(now_us, WRAPUP_US, wrap_us)

    # --- reading ----------------------------------------------------------------------------
    def window(self, since_us: int, until_us: int) -> Counts:
        """Counts of the minutes from the one holding `since_us` to the one holding `until_us`."""
        lo = bisect_left(self._keys, since_us // MINUTE_US)
        hi = bisect_left(self._keys, until_us // MINUTE_US + 1)
        total = [0] * FIELDS
        for key in self._keys[lo:hi]:
            for i, v in enumerate(self._buckets[key]):
                total[i] += v
        return Counts(*total)

    def windows(self, now_us: int) -> AbandonWindows:
        self._evict(now_us)
        first = (now_us - RECENT_US) // MINUTE_US + 1  # the last 30 minutes, to the minute
        recent = [0] * FIELDS
        for key in reversed(self._keys):
            if key < first:
                break
            for i, v in enumerate(self._buckets[key]):
                recent[i] += v
        today = self._today if self._local_day(now_us // MINUTE_US) == self._day else [0] * FIELDS
        return AbandonWindows(Counts(*self._month), Counts(*today), Counts(*recent))

    def answer_rate(self) -> float:
        """The answered share of the last `keep` calls, with the prior worth `weight` calls."""
        p = self.priors
        return (self._outcomes_answered + p.answer_rate * p.weight) / (
            len(self._outcomes) + p.weight
        )

    def measures(self, now_us: int) -> Measures:
        return Measures(
            answer_rate=self.answer_rate(),
            ring_answered=self.ring_answered.distribution(),
            ring_unanswered=self.ring_unanswered.distribution(),
            handle=self.handle.distribution(),
            wrapup=self.wrapup.distribution(),
            answered_seen=self.answered_seen,
            windows=self.windows(now_us),
        )

    # --- internals --------------------------------------------------------------------------
    def _count(self, now_us: int, what: int, amount: int = 1) -> None:
        key = now_us // MINUTE_US
        bucket = self._buckets.get(key)
        if bucket is None:
            if key < self._month_from:
                return  # older than the month kept: nothing to count it in
            bucket = self._buckets[key] = [0] * FIELDS
            if self._keys and key < self._keys[-1]:
                self._keys.insert(bisect_left(self._keys, key), key)
            else:
                self._keys.append(key)
        bucket[what] += amount
        self._month[what] += amount
        day = self._local_day(key)
        if day > self._day:
            self._day, self._today = day, [0] * FIELDS
        if day == self._day:
            self._today[what] += amount
        self._evict(now_us)

    def _evict(self, now_us: int) -> None:
        oldest = (now_us - MONTH_US) // MINUTE_US + 1
        if oldest <= self._month_from:
            return
        self._month_from = oldest
        cut = bisect_left(self._keys, oldest)
        for key in self._keys[:cut]:
            for i, v in enumerate(self._buckets.pop(key)):
                self._month[i] -= v
        del self._keys[:cut]

    def _local_day(self, minute: int) -> int:
        if self._day_cache[0] != minute:
            local = datetime.fromtimestamp(minute * 60, self.tz)
            self._day_cache = (minute, local.toordinal())
        return self._day_cache[1]
