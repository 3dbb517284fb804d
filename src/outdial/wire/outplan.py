"""An outplan (how targets are dialed) as JSON."""

from __future__ import annotations

from typing import Any

from outdial.domain.models import Outplan
from outdial.wire.common import address, empty_address, ts


def render(p: Outplan) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(p.id),
        "customer_id": str(p.customer_id),
        "name": p.name,
        "detail": p.detail,
        "source": address(p.source) or empty_address(),
        "dial_timeout": p.dial_timeout,
        "try_interval": p.try_interval,
    }
    for n, count in enumerate(p.max_try_counts):
        out[f"max_try_count_{n}"] = count
    out.update(tm_create=ts(p.tm_create), tm_update=ts(p.tm_update), tm_delete=ts(p.tm_delete))
    out["call_window"] = None if p.call_window is None else p.call_window.to_json()
    out["max_attempts_per_number_24h"] = p.max_attempts_per_number_24h
    out["min_number_gap"] = p.min_number_gap
    out["sip_headers"] = dict(p.sip_headers)
    out["retry_rules"] = [r.to_json() for r in p.retry_rules]
    out["order"] = p.order.value
    return out
