"""The record of webhook deliveries (`GET /v1.0/webhook_deliveries`) as JSON."""

from __future__ import annotations

from typing import Any

from outdial.domain.reports import WebhookDelivery
from outdial.wire.common import ts


def render(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "event_id": d.event_id,
        "attempt": d.attempt,
        "uri": d.uri,
        "status_code": d.status_code,
        "error": d.error,
        "ok": d.ok,
        "tm_create": ts(d.tm_create),
    }
