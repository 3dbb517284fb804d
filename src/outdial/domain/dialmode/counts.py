"""Call counts over a time window and the three windows the abandon ceiling is judged on."""

from __future__ import annotations

from dataclasses import dataclass, fields

MINUTE_US = 60_000_000
RECENT_US = 30 * MINUTE_US
DAY_US = 24 * 60 * MINUTE_US
MONTH_US = 30 * DAY_US


@dataclass(frozen=True, slots=True)
class Counts:
    """Calls of one campaign in a window.

    `answered`: callees who answered (the denominator of the abandon rate: person-answered
    calls). `abandoned`: answered callees not connected to an agent within the abandon time (2
    s, the US definition), whether they were connected later or never. `unanswered`: calls that
    stopped ringing without an answer (no answer, busy, rejected, failed). Handle and
    wrap-up times count in the window where they ended.
    """

    placed: int = 0
    answered: int = 0
    unanswered: int = 0
    connected: int = 0
    abandoned: int = 0
    handled: int = 0  # connected calls that ended
    handle_us: int = 0  # their talk time, in all
    wrapups: int = 0  # wrap-ups that ended
    wrapup_us: int = 0  # their time, in all

    @property
    def abandon_rate(self) -> float:
        """abandoned / answered, as a fraction (0.0 before any answer)."""
        return self.abandoned / self.answered if self.answered else 0.0

    @property
    def answer_rate(self) -> float:
        """answered / calls that stopped ringing (0.0 before any)."""
        rung = self.answered + self.unanswered
        return self.answered / rung if rung else 0.0

    @property
    def average_handle_s(self) -> float:
        """Mean talk time of the calls that ended, in seconds (0.0 before any)."""
        return self.handle_us / self.handled / 1e6 if self.handled else 0.0

    @property
    def average_wrapup_s(self) -> float:
        return self.wrapup_us / self.wrapups / 1e6 if self.wrapups else 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __sub__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True, slots=True)
class AbandonWindows:
    """`month`: the last 30 days (US FTC/FCC: per campaign per 30 days); `today`: since local
    midnight (UK Ofcom: per 24 h, midnight to midnight); `recent`: the last 30 minutes (how
    the dialer steers before a long window can move)."""

    month: Counts = Counts()
    today: Counts = Counts()
    recent: Counts = Counts()
