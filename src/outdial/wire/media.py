"""An uploaded media file's metadata as JSON."""

from __future__ import annotations

from typing import Any

from outdial.domain.media import Media
from outdial.wire.common import ts


def render(m: Media) -> dict[str, Any]:
    """An uploaded WAV file's metadata (never its bytes); `reference` goes in `play` actions."""
    return {
        "id": str(m.id),
        "customer_id": str(m.customer_id),
        "name": m.name,
        "reference": m.reference,
        "size": m.size,
        "duration_ms": m.duration_ms,
        "sample_rate": m.sample_rate,
        "channels": m.channels,
        "tm_create": ts(m.tm_create),
        "tm_update": ts(m.tm_update),
        "tm_delete": ts(m.tm_delete),
    }
