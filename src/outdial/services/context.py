"""What every service needs, passed in by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from outdial.clock import Clock
from outdial.domain.limits import Limits
from outdial.domain.netpolicy import NetworkPolicy
from outdial.domain.users import SessionPolicy
from outdial.storage.db import Database
from outdial.storage.timeconv import to_us


@dataclass(frozen=True, slots=True)
class Context:
    db: Database
    clock: Clock
    # What customers' outbound requests may reach (webhooks, play URLs, sip destinations):
    # checked on write (literals, webhook names) and again when used.
    network: NetworkPolicy = field(default_factory=NetworkPolicy)
    limits: Limits = field(default_factory=Limits)
    max_call_ms: int = 3_600_000  # the longest call: no action may last longer
    recordings_dir: str = ""  # where calls write recordings ("": recording is off)
    recordings_retention_days: float = 0.0  # 0: recordings are kept until deleted
    # Customer users' sessions and the login throttle (issue 14; OUTDIAL_SESSION_*).
    sessions: SessionPolicy = field(default_factory=SessionPolicy)
    sim_agents: bool = False  # `sim:` agent addresses accepted (the simulated telephony only)

    def now_us(self) -> int:
        return to_us(self.clock.now())

    def now(self) -> datetime:
        return self.clock.now()
