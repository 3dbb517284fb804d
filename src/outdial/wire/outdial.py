"""An outdial (a target list) as JSON."""

from __future__ import annotations

from typing import Any

from outdial.domain.models import Outdial
from outdial.wire.common import ts


def render(o: Outdial) -> dict[str, Any]:
    return {
        "id": str(o.id),
        "customer_id": str(o.customer_id),
        "campaign_id": str(o.campaign_id),
        "name": o.name,
        "detail": o.detail,
        "data": o.data,
        "tm_create": ts(o.tm_create),
        "tm_update": ts(o.tm_update),
        "tm_delete": ts(o.tm_delete),
    }
