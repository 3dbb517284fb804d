"""A target's history entry as JSON (issue 17): `GET .../targets/{target_id}/history`."""

from __future__ import annotations

from typing import Any

from outdial.domain.recycle import HistoryEntry
from outdial.wire.common import ts


def render(e: HistoryEntry) -> dict[str, Any]:
    return {
        "id": str(e.id),
        "customer_id": str(e.customer_id),
        "outdial_id": str(e.outdial_id),
        "outdial_target_id": str(e.outdial_target_id),
        "campaign_id": str(e.campaign_id),
        "action": e.action.value,
        "reason": e.reason,
        "accesskey_id": str(e.accesskey_id),
        "status": e.status.value,
        "tm_create": ts(e.tm_create),
    }


def recycled(
    campaign: dict[str, Any], outdial_id: str, count: int, filter_: dict[str, Any], reason: str
) -> dict[str, Any]:
    """The `campaign_recycled` event's data: which campaign, how many, by what filter."""
    return {
        "id": campaign["id"],
        "campaign_id": campaign["id"],
        "outdial_id": outdial_id,
        "recycled": count,
        "filter": filter_,
        "reason": reason,
    }
