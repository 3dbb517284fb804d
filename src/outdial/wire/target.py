"""A target as JSON, from the domain value (GET of one target, events). The list's read model,
which renders rows without building domain values, is `target_read_model.py`."""

from __future__ import annotations

from typing import Any

from outdial.domain.models import Target
from outdial.wire.common import ts


def render(t: Target) -> dict[str, Any]:
    """The seed's field order. Written out in full: a list page renders 100 of these."""
    d = t.destinations
    c = t.try_counts
    return {
        "id": str(t.id),
        "outdial_id": str(t.outdial_id),
        "name": t.name,
        "detail": t.detail,
        "data": t.data,
        "status": t.status,
        "destination_0": None if d[0] is None else d[0].to_json(),
        "destination_1": None if d[1] is None else d[1].to_json(),
        "destination_2": None if d[2] is None else d[2].to_json(),
        "destination_3": None if d[3] is None else d[3].to_json(),
        "destination_4": None if d[4] is None else d[4].to_json(),
        "try_count_0": c[0],
        "try_count_1": c[1],
        "try_count_2": c[2],
        "try_count_3": c[3],
        "try_count_4": c[4],
        "tm_create": ts(t.tm_create),
        "tm_update": ts(t.tm_update),
        "tm_delete": ts(t.tm_delete),
        "timezone": t.timezone or "",
        "priority": t.priority,
    }
