"""A campaigncall (one attempt) as JSON."""

from __future__ import annotations

from typing import Any

from outdial.domain.models import Campaigncall
from outdial.wire.common import address, empty_address, ts


def render(c: Campaigncall) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "customer_id": str(c.customer_id),
        "campaign_id": str(c.campaign_id),
        "outplan_id": str(c.outplan_id),
        "outdial_id": str(c.outdial_id),
        "outdial_target_id": str(c.outdial_target_id),
        "queue_id": str(c.queue_id),
        "activeflow_id": str(c.activeflow_id),
        "flow_id": str(c.flow_id),
        "reference_type": c.reference_type,
        "reference_id": str(c.reference_id),
        "status": c.status,
        "result": c.result,
        "source": address(c.source) or empty_address(),
        "destination": address(c.destination) or empty_address(),
        "destination_index": c.destination_index,
        "try_count": c.try_count,
        "hangup_reason": c.hangup_reason,
        "sip_code": c.sip_code,
        "hangup_detail": c.hangup_detail,
        "tm_create": ts(c.tm_create),
        "tm_update": ts(c.tm_update),
        "tm_delete": ts(c.tm_delete),
        "amd_result": c.amd_result,
        "amd_ms": c.amd_ms,
        "digits": c.digits,
        "opted_out": c.opted_out,
        "agent_id": str(c.agent_id),
        "abandoned": c.abandoned,
        "disposition": c.disposition,
        "disposition_note": c.disposition_note,
        "callback_at": "" if c.callback_at is None else ts(c.callback_at),
        "tm_connect": "" if c.tm_connect is None else ts(c.tm_connect),
        "callback_agent_id": str(c.callback_agent_id),
    }
