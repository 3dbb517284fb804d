"""A campaign as JSON (responses and the campaign events' payloads)."""

from __future__ import annotations

from typing import Any

from outdial.domain.ids import NIL_UUID
from outdial.domain.models import Campaign
from outdial.wire.common import number, ts


def render(c: Campaign) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "customer_id": str(c.customer_id),
        "type": c.type,
        "name": c.name,
        "detail": c.detail,
        "status": c.status,
        "service_level": c.service_level,
        "end_handle": c.end_handle,
        "actions": c.actions,
        "outplan_id": str(c.outplan_id),
        "outdial_id": str(c.outdial_id),
        "queue_id": str(c.queue_id),
        "next_campaign_id": str(c.next_campaign_id),
        "max_concurrent_calls": c.max_concurrent_calls,
        "calls_per_second": number(c.calls_per_second),
        "tm_create": ts(c.tm_create),
        "tm_update": ts(c.tm_update),
        "tm_delete": ts(c.tm_delete),
        "opt_out": None if c.opt_out is None else c.opt_out.to_json(),
        "dial_mode": c.dial_mode or ("power" if c.queue_id != NIL_UUID else ""),
        "max_abandon_rate": number(c.max_abandon_rate),
        "abandon_message": c.abandon_message,
        "dispositions": list(c.dispositions),
    }
