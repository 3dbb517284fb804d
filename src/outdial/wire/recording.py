"""A recording (VoIPBIN's recording shape) as JSON."""

from __future__ import annotations

from typing import Any

from outdial.domain.ids import NIL_UUID
from outdial.domain.recording import Recording
from outdial.wire.common import ts


def render(r: Recording) -> dict[str, Any]:
    """VoIPBIN's recording (WebhookMessage fields) plus the attempt and the file's shape;
    the file itself is GET /v1.0/recordings/{id}/file. `tm_start`/`tm_end` are "" when
    unknown (a recording that failed to start)."""
    return {
        "id": str(r.id),
        "customer_id": str(r.customer_id),
        "activeflow_id": str(NIL_UUID),
        "reference_type": r.reference_type,
        "reference_id": str(r.reference_id),
        "status": r.status,
        "format": r.format,
        "on_end_flow_id": str(NIL_UUID),
        "tm_start": "" if r.tm_start is None else ts(r.tm_start),
        "tm_end": "" if r.tm_end is None else ts(r.tm_end),
        "tm_create": ts(r.tm_create),
        "tm_update": ts(r.tm_update),
        "tm_delete": ts(r.tm_delete),
        "campaign_id": str(r.campaign_id),
        "campaigncall_id": str(r.campaigncall_id),
        "channels": r.channels,
        "duration_ms": r.duration_ms,
        "detail": r.detail,
    }
