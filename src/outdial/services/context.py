"""What every service needs, passed in by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from outdial.clock import Clock
from outdial.storage.db import Database
from outdial.storage.timeconv import to_us


@dataclass(frozen=True, slots=True)
class Context:
    db: Database
    clock: Clock

    def now_us(self) -> int:
        return to_us(self.clock.now())

    def now(self) -> datetime:
        return self.clock.now()
