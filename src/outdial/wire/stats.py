"""A campaign's live numbers (`GET /v1.0/campaigns/{id}/stats`) as JSON."""

from __future__ import annotations

from typing import Any

from outdial.domain.reports import CampaignStats
from outdial.wire.common import ts


def render(s: CampaignStats) -> dict[str, Any]:
    results = s.attempts_by_result
    finished = s.attempts_finished
    return {
        "campaign_id": str(s.campaign_id),
        "status": s.status,
        "targets_total": sum(s.targets_by_status.values()),
        "targets_by_status": dict(s.targets_by_status),
        "attempts_total": s.attempts_total,
        "attempts_finished": finished,
        "attempts_by_result": dict(results),
        "attempts_by_hangup_reason": dict(s.attempts_by_hangup_reason),
        "calls_in_flight": s.attempts_total - finished,
        "calls_per_minute": [{"minute": ts(at), "count": n} for at, n in s.calls_per_minute],
        "answer_rate": round(results["success"] / finished, 4) if finished else 0.0,
        "tm_update": ts(s.at),
        "connected": s.connected,
        "abandoned": s.abandoned,
        "abandon_rate": round(s.abandon_rate, 4),
    }
