"""The predictive model: answers to expect and agents to expect free over the next seconds.

At look-ahead times t_1 < ... < t_K (K slots up to the time by which most answered calls have
answered), with patience P (2 s):

    X(t)   callees answered by now+t: the W waiting now, each ringing call j (ringing for r_j)
           answering by then with h_j(t) = p (S_A(r_j) - S_A(r_j + t)) / (p S_A(r_j) +
           (1 - p) S_U(r_j)), and each of n calls placed now with g(t) = p (1 - S_A(t));
    Y(t)   agents free by now+t+P: idle ones surely; one in wrap-up for e with
           P(wrap <= e + t + P | wrap > e); one talking for a with
           P(talk <= a + t + P - w | talk > a), w the mean wrap-up.

p is the answer rate, S_A and S_U the ring-time survival of answered and unanswered calls;
every probability comes from measured distributions (`stats.py`), not assumed shapes. A
callee answered by t who finds no agent free by t + P is abandoned, so the abandons expected
up to t are at least E[(X(t) - Y(t))+]. X and Y are sums of independent Bernoulli terms; the
difference is taken as normal with their summed means and variances, which gives
E[Z+] = mu Phi(mu/sigma) + sigma phi(mu/sigma) in closed form.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from outdial.domain.dialmode.measures import Measures
from outdial.domain.dialmode.snapshot import AgentPhase, Snapshot

SQRT2 = math.sqrt(2.0)
INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


def expected_excess(mean: float, var: float) -> float:
    """E[Z+] for Z normal with this mean and variance."""
    if var <= 1e-12:
        return max(mean, 0.0)
    sd = math.sqrt(var)
    z = mean / sd
    return mean * 0.5 * (1.0 + math.erf(z / SQRT2)) + sd * INV_SQRT2PI * math.exp(-0.5 * z * z)


@dataclass(frozen=True, slots=True)
class Outlook:
    """Per slot: the net demand without new calls (mean and variance of X - Y), and what one
    new call adds (its chance `g` of having answered by then)."""

    base_mean: tuple[float, ...]
    base_var: tuple[float, ...]
    g: tuple[float, ...]
    answers_base: float  # E[X] at the last slot, without new calls

    def excess(self, n: int) -> float:
        """The abandons expected in the look-ahead with n new calls (the worst slot)."""
        worst = 0.0
        for m, v, g in zip(self.base_mean, self.base_var, self.g, strict=True):
            e = expected_excess(m + n * g, v + n * g * (1.0 - g))
            worst = max(worst, e)
        return worst

    def answers(self, n: int) -> float:
        return self.answers_base + n * self.g[-1]


def bucket(age_us: int) -> int:
    """An age rounded to the middle of its bucket (1 s below 30 s, 5 s below 5 min, 30 s
    beyond), so calls and agents of about the same age are reckoned once, with a count."""
    step = 1_000_000 if age_us < 30_000_000 else 5_000_000 if age_us < 300_000_000 else 30_000_000
    return age_us // step * step + step // 2


def outlook(
    snap: Snapshot, m: Measures, *, patience_us: int, horizon_us: int, slots: int
) -> Outlook:
    times = tuple(horizon_us * (k + 1) / slots for k in range(slots))
    p = min(max(m.answer_rate, 0.0), 1.0)
    now = snap.now_us

    # demand: callees waiting now, and ringing calls that may still answer
    x_mean = [float(snap.waiting)] * slots
    x_var = [0.0] * slots
    ring_a, ring_u = m.ring_answered, m.ring_unanswered
    for r, count in Counter(bucket(max(0, now - s)) for s in snap.ringing_since_us).items():
        alive_a = ring_a.sf(r)
        still = p * alive_a + (1.0 - p) * ring_u.sf(r)
        if alive_a <= 0.0 or still <= 0.0:
            continue  # past every answered ring time: it will not answer now
        weight = p * alive_a / still  # P(it will answer | still ringing at r)
        for k, f in enumerate(ring_a.finish_curve(r, times)):
            h = weight * f
            x_mean[k] += count * h
            x_var[k] += count * h * (1.0 - h)

    # supply: agents free by t + patience
    y_mean = [float(snap.idle)] * slots
    y_var = [0.0] * slots
    groups: Counter[tuple[bool, int]] = Counter()
    for agent in snap.agents:
        if agent.phase is AgentPhase.WRAPUP:
            groups[True, bucket(max(0, now - agent.since_us))] += 1
        elif agent.phase is AgentPhase.TALKING:
            groups[False, bucket(max(0, now - agent.since_us))] += 1
        elif agent.phase is AgentPhase.RESERVED:  # counted as talking from 0
            groups[False, 0] += 1
    wrap_offsets = tuple(t + patience_us for t in times)
    talk_offsets = tuple(t + patience_us - m.wrapup.mean() for t in times)
    for (wrapping, elapsed), count in groups.items():
        if wrapping:
            curve = m.wrapup.finish_curve(elapsed, wrap_offsets)
        else:
            curve = m.handle.finish_curve(elapsed, talk_offsets)
        for k, f in enumerate(curve):
            if f > 0.0:
                y_mean[k] += count * f
                y_var[k] += count * f * (1.0 - f)

    g = tuple(p * (1.0 - m.ring_answered.sf(t)) for t in times)
    return Outlook(
        base_mean=tuple(x - y for x, y in zip(x_mean, y_mean, strict=True)),
        base_var=tuple(a + b for a, b in zip(x_var, y_var, strict=True)),
        g=g,
        answers_base=x_mean[-1],
    )
