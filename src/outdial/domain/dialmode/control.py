"""The abandon-rate control rule: how much abandon risk the predictive mode may take now.

The ceiling (`max_abandon_rate`, 3 % by default) is judged on three windows (`AbandonWindows`:
30 days, today, the last 30 minutes); the rate that steers is the worst of them, each taken
after one more abandon, `(abandoned + 1) / max(answered, min_answered)`: would the next abandon
take the window too far? (At 10 agents a 30-minute window holds about 110 answers, so one
abandon is 0.9 %.) The floor `min_answered` keeps one abandon among the first few answers of a
window from tripping the brake on its own.

With `m` that measured rate, `c` the ceiling, `a = aim * c` and `T = throttle_at * c`:

    m >= T          dial progressive (one call per idle agent: nothing to abandon)
    a <  m <  T     allowed = a * (T - m) / (T - a)     falls to 0 as m nears T
    m <= a          allowed = min(c, a + gain * (a - m))  spend the budget left below the aim

`allowed` is the share of the callees answered in the look-ahead that the predictive model may
expect to abandon (`predictive.py`). The measured rate thus pulls the dialer back long before
the ceiling and lets it run hotter while the windows are clean.
"""

from __future__ import annotations

from dataclasses import dataclass

from outdial.domain.dialmode.counts import AbandonWindows, Counts


@dataclass(frozen=True, slots=True)
class AbandonControl:
    aim: float = 0.5  # steer toward this share of the ceiling
    throttle_at: float = 0.8  # at this share of the ceiling, dial progressive
    gain: float = 1.0
    min_answered: int = 100

    def __post_init__(self) -> None:
        if not 0.0 < self.aim < self.throttle_at <= 1.0:
            raise ValueError("need 0 < aim < throttle_at <= 1")
        if self.gain < 0 or self.min_answered < 1:
            raise ValueError("need gain >= 0 and min_answered >= 1")


def steering_rate(windows: AbandonWindows, min_answered: int) -> float:
    """The worst abandon rate of the three windows, each over at least `min_answered`."""

    def rate(c: Counts) -> float:
        return (c.abandoned + 1) / max(c.answered, min_answered)

    return max(rate(windows.month), rate(windows.today), rate(windows.recent))


def allowed_abandon(ceiling: float, windows: AbandonWindows, control: AbandonControl) -> float:
    """The abandon share the model may plan for; 0.0 means dial progressive.

    `ceiling` is a fraction (0.03 for 3 %).
    """
    if ceiling <= 0.0:
        return 0.0
    m = steering_rate(windows, control.min_answered)
    aim, top = control.aim * ceiling, control.throttle_at * ceiling
    if m >= top:
        return 0.0
    if m > aim:
        return aim * (top - m) / (top - aim)
    return min(ceiling, aim + control.gain * (aim - m))
