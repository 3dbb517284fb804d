"""Agents, queues and tags (issue 13, SPEC 7): statuses, their transitions, the options'
enums, the simulated agent address and the choice of the agent a callee is connected to.

Pure: no I/O. The services store what these rules accept; the engine's desk
(`services/desk.py`) asks `choose_agent` which idle agent takes the next callee.
"""

from __future__ import annotations

import math
import random
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs

from outdial.domain.dialmode import DialMode
from outdial.domain.errors import InvalidArgument

SIM_PREFIX = "sim:"  # `sim:agent?aht=120&wrap=10`: a simulated agent (sim telephony only)
ABANDON_AFTER_MS = 2_000  # US FTC/FCC: a callee not connected within 2 s is abandoned
ABANDON_HOLD_US = 72 * 3_600 * 1_000_000  # an abandoned number rests 72 h (safe harbour)
DEFAULT_RING_TIMEOUT_MS = 15_000  # how long an agent's leg rings before the next agent
DEFAULT_WRAPUP_MS = 10_000  # wrap-up after a call when the agent's address names none


class AgentStatus(StrEnum):
    NONE = ""
    AVAILABLE = "available"
    AWAY = "away"
    BUSY = "busy"
    OFFLINE = "offline"
    RINGING = "ringing"  # set by outdial: its leg to the agent rings


# What `PUT /agents/{id}/status` may set (ringing belongs to outdial).
SETTABLE_STATUSES = frozenset(
    {AgentStatus.AVAILABLE, AgentStatus.AWAY, AgentStatus.BUSY, AgentStatus.OFFLINE}
)


class RingMethod(StrEnum):
    RINGALL = "ringall"
    LINEAR = "linear"


class RoutingMethod(StrEnum):
    RANDOM = "random"  # VoIPBIN's one method (and the default)
    LONGEST_IDLE = "longest-idle"  # outdial's own: the agent available longest first


def effective_dial_mode(stored: str, has_queue: bool) -> DialMode | None:
    """The mode a campaign dials in: its own, else `power` when it has a queue (VoIPBIN's
    rule); None: no agents involved (the plain pacing of SPEC 3.6)."""
    if not has_queue:
        return None
    return DialMode(stored) if stored else DialMode.POWER


MAX_DISPOSITIONS = 100
MAX_DISPOSITION = 64


def parse_dispositions(raw: object) -> list[str]:
    """A campaign's disposition codes: distinct non-empty strings of at most 64 characters."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidArgument("dispositions must be a list of strings")
    if len(raw) > MAX_DISPOSITIONS:
        raise InvalidArgument(f"dispositions has more than {MAX_DISPOSITIONS} codes")
    out: list[str] = []
    for n, code in enumerate(raw):
        check_disposition(code, f"dispositions[{n}]")
        if code not in out:
            out.append(code)
    return out


DISPOSITION_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
_DISPOSITION = re.compile(DISPOSITION_PATTERN)


def check_disposition(code: object, field: str = "disposition") -> str:
    """A disposition code: 1 to 64 of letters, digits and `_ . : -` (`sale`, `no_answer`)."""
    if not isinstance(code, str) or not _DISPOSITION.match(code) or code.endswith("\n"):
        raise InvalidArgument(f"{field} must be 1 to {MAX_DISPOSITION} letters, digits or _ . : -")
    return code


def parse_status(value: object) -> AgentStatus:
    if not isinstance(value, str):
        raise InvalidArgument("status must be a string")
    try:
        status = AgentStatus(value)
    except ValueError:
        status = AgentStatus.NONE
    if status not in SETTABLE_STATUSES:
        allowed = ", ".join(sorted(s.value for s in SETTABLE_STATUSES))
        raise InvalidArgument(f"status {value!r} is not one of: {allowed}")
    return status


@dataclass(frozen=True, slots=True)
class SimAgent:
    """A simulated agent: answers, talks for an exponential time of mean `aht_s`, hangs up,
    then wraps up for `wrap_s`; `answer` false: its leg never answers (tests)."""

    aht_s: float = 120.0
    wrap_s: float = 10.0
    answer: bool = True
    ring_ms: int = 0

    def talk_ms(self, rng: random.Random) -> int:
        return max(1, int(rng.expovariate(1.0 / self.aht_s) * 1000)) if self.aht_s > 0 else 1


def parse_sim_agent(target: str, field: str = "address") -> SimAgent:
    """`sim:agent?aht=120&wrap=10[&answer=0][&ring=500]` (seconds; ring in ms)."""
    if not target.startswith(SIM_PREFIX + "agent"):
        raise InvalidArgument(f"{field}.target must be sim:agent?aht=SECONDS&wrap=SECONDS")
    rest = target[len(SIM_PREFIX + "agent") :]
    if rest and not rest.startswith("?"):
        raise InvalidArgument(f"{field}.target must be sim:agent?aht=SECONDS&wrap=SECONDS")
    query = parse_qs(rest[1:], keep_blank_values=True)

    def num(name: str, default: float, high: float) -> float:
        raw = query.get(name, [None])[-1]
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise InvalidArgument(f"{field}.target {name} must be a number") from None
        if not math.isfinite(value) or not 0 <= value <= high:
            raise InvalidArgument(f"{field}.target {name} must be between 0 and {high:g}")
        return value

    return SimAgent(
        aht_s=num("aht", 120.0, 86_400),
        wrap_s=num("wrap", 10.0, 86_400),
        answer=num("answer", 1, 1) >= 1,
        ring_ms=int(num("ring", 0, 600_000)),
    )


@dataclass(frozen=True, slots=True)
class AgentCandidate:
    """An agent as the choice sees it: available, with when it became so."""

    id: uuid.UUID
    tag_ids: frozenset[uuid.UUID]
    idle_since_us: int


def serves(agent_tags: frozenset[uuid.UUID], queue_tags: frozenset[uuid.UUID]) -> bool:
    """An agent serves a queue it shares a tag with (a queue without tags: every agent)."""
    return not queue_tags or bool(agent_tags & queue_tags)


def choose_agent(
    candidates: Sequence[AgentCandidate],
    queue_tags: frozenset[uuid.UUID],
    routing: str,
    rng: random.Random,
    exclude: frozenset[uuid.UUID] = frozenset(),
) -> list[AgentCandidate]:
    """The available agents that serve the queue, in the order to try them: the longest
    idle first (`longest-idle`), or shuffled (`random` and unset)."""
    fit = [c for c in candidates if c.id not in exclude and serves(c.tag_ids, queue_tags)]
    if routing == RoutingMethod.LONGEST_IDLE:
        fit.sort(key=lambda c: (c.idle_since_us, c.id))
    else:
        fit.sort(key=lambda c: c.id)  # a stable order before the seeded shuffle
        rng.shuffle(fit)
    return fit


def abandon_clears_us(abandoned_us: Sequence[int], now_us: int) -> int | None:
    """When a number abandoned at `abandoned_us` may be called again, if not yet."""
    if not abandoned_us:
        return None
    clears = max(abandoned_us) + ABANDON_HOLD_US
    return clears if clears > now_us else None
