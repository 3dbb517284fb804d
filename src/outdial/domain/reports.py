"""Read-only reports as values: a campaign's live numbers, the record of a webhook delivery.
Rendered to JSON by `outdial.wire` (stats.py, deliveries.py)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CampaignStats:
    campaign_id: uuid.UUID
    status: str
    targets_by_status: Mapping[str, int]
    attempts_total: int
    attempts_finished: int
    attempts_by_result: Mapping[str, int]
    attempts_by_hangup_reason: Mapping[str, int]
    calls_per_minute: Sequence[tuple[datetime, int]]  # (start of the minute, attempts)
    at: datetime  # when the snapshot was taken
    connected: int = 0  # issue 13: callees connected to an agent
    abandoned: int = 0  # answered, no agent within 2 s

    @property
    def abandon_rate(self) -> float:
        """Abandoned among the callees meant for an agent (connected + abandoned)."""
        total = self.connected + self.abandoned
        return self.abandoned / total if total else 0.0


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    id: int
    event_id: int
    attempt: int
    uri: str
    status_code: int | None
    error: str
    ok: bool
    tm_create: datetime
