"""When is the SIP trunk down? A pure rule over the outcomes of attempts sent to it.

A *fault* is an INVITE to the trunk that got no response at all (timer B, or the transport
failed) or was refused by the trunk itself: 500 or 503 before any provisional response, not
even 100 Trying (a trunk that relays the far end's 503 has said 100 Trying first, as the test
peers and Kamailio do). Anything else the trunk answers (any other response, a 500/503 after a
provisional one, an answer) is *healthy* and clears the count.

The trunk is marked down when `faults` faults in a row, with no healthy answer between them,
fall within `window_s` seconds. While it is down no new attempt goes to it; it is probed with
OPTIONS every `probe_s` seconds, and the first probe answered with anything but 500 or 503
marks it up again. Attempts that fail while it is down, and the one that tips it down, end with
the detail `trunk_down` and do not count against their target's tries.

Time is passed in (seconds of any monotonic clock): no I/O, no clock of its own.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

from outdial.domain.outcome import TRUNK_DOWN

__all__ = ["TRUNK_DOWN", "TrunkHealth", "TrunkRule", "TrunkState", "Verdict", "verdict_for"]
TRUNK_FAULT_CODES = frozenset({500, 503})


class TrunkState(str, Enum):
    UP = "up"
    DOWN = "down"


class Verdict(str, Enum):
    """What one attempt says about the trunk."""

    FAULT = "fault"
    HEALTHY = "healthy"
    NONE = "none"  # says nothing (never sent, cancelled by us, not to the trunk)


def verdict_for(
    *, responded: bool, final_code: int | None, progressed: bool, transport_failed: bool = False
) -> Verdict:
    """The verdict of one INVITE to the trunk: `responded` (any response at all, 100 Trying
    included), its final response code (None without one), `progressed` (a provisional
    response, 100 Trying included, came before the final one)."""
    if transport_failed or not responded:
        return Verdict.FAULT
    if final_code in TRUNK_FAULT_CODES and not progressed:
        return Verdict.FAULT
    return Verdict.HEALTHY


@dataclass(frozen=True, slots=True)
class TrunkRule:
    faults: int = 5  # faults in a row that mark the trunk down
    window_s: float = 30.0  # ... when they fall within this many seconds
    probe_s: float = 5.0  # how often a down trunk is probed with OPTIONS

    def __post_init__(self) -> None:
        if self.faults < 1 or self.window_s <= 0 or self.probe_s <= 0:
            raise ValueError(f"a trunk rule needs positive values, got {self}")


class TrunkHealth:
    """The state of one trunk under a `TrunkRule`. Each method returns True when the state
    changed (the caller logs, counts and announces it)."""

    def __init__(self, rule: TrunkRule | None = None) -> None:
        self.rule = rule or TrunkRule()
        self.state = TrunkState.UP
        self.why = ""  # what marked it down (the rule, no addresses: customers see it)
        self.last_fault = ""  # the detail of the last fault (for the operator's log)
        self.since = 0.0  # when the state last changed
        self._faults: deque[float] = deque()

    @property
    def down(self) -> bool:
        return self.state is TrunkState.DOWN

    def record(self, verdict: Verdict, now: float, why: str = "") -> bool:
        """One attempt's verdict. A fault may mark the trunk down; a healthy answer clears the
        run of faults (and marks a down trunk up: it answered a call after all)."""
        if verdict is Verdict.NONE:
            return False
        if verdict is Verdict.HEALTHY:
            self._faults.clear()
            return self._set(TrunkState.UP, now, "")
        if self.down:
            return False
        self.last_fault = why
        self._faults.append(now)
        while self._faults and self._faults[0] < now - self.rule.window_s:
            self._faults.popleft()
        if len(self._faults) >= self.rule.faults:
            self._faults.clear()
            detail = (
                f"{self.rule.faults} attempts in a row without an answer from the trunk "
                f"(no response, 500 or 503) within {self.rule.window_s:g} s"
            )
            return self._set(TrunkState.DOWN, now, detail)
        return False

    def probed(self, answered_code: int | None, now: float) -> bool:
        """An OPTIONS probe's final response code (None: no response). Anything but no answer,
        500 or 503 marks the trunk up."""
        if answered_code is None or answered_code in TRUNK_FAULT_CODES:
            return False
        self._faults.clear()
        return self._set(TrunkState.UP, now, "")

    def _set(self, state: TrunkState, now: float, why: str) -> bool:
        if state is self.state:
            return False
        self.state, self.why, self.since = state, why, now
        return True
