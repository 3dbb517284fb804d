"""Resource JSON (the wire format of every resource) and wire timestamps.

Pure functions of the domain models: the API renders responses with them, and the services
render event payloads with them (so events carry exactly what the API would answer)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from outdial.domain.address import Address
from outdial.domain.media import Media
from outdial.domain.models import Campaign, Campaigncall, Outdial, Outplan, Target
from outdial.domain.recording import Recording

SENTINEL = "9999-01-01 00:00:00.000000"
_WIRE = "%Y-%m-%d %H:%M:%S.%f"


def ts(value: datetime | None) -> str:
    """UTC `YYYY-MM-DD HH:MM:SS.ffffff`; None (not deleted) is the sentinel."""
    if value is None:
        return SENTINEL
    return _format(value)


@lru_cache(maxsize=4096)  # rows of one page often share times (a bulk load's tm_create)
def _format(value: datetime) -> str:
    return value.astimezone(UTC).strftime(_WIRE)


def address(value: Address | None) -> dict[str, str] | None:
    return None if value is None else value.to_json()


def outdial(o: Outdial) -> dict[str, Any]:
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


def target(t: Target) -> dict[str, Any]:
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
    }


def outplan(p: Outplan) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(p.id),
        "customer_id": str(p.customer_id),
        "name": p.name,
        "detail": p.detail,
        "source": address(p.source) or _empty_address(),
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
    return out


def _empty_address() -> dict[str, str]:
    return {"type": "", "target": "", "target_name": "", "name": "", "detail": ""}


def campaign(c: Campaign) -> dict[str, Any]:
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
        "calls_per_second": _number(c.calls_per_second),
        "tm_create": ts(c.tm_create),
        "tm_update": ts(c.tm_update),
        "tm_delete": ts(c.tm_delete),
        "opt_out": None if c.opt_out is None else c.opt_out.to_json(),
    }


def _number(value: float) -> float | int:
    return int(value) if value.is_integer() else value


def campaigncall(c: Campaigncall) -> dict[str, Any]:
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
        "source": address(c.source) or _empty_address(),
        "destination": address(c.destination) or _empty_address(),
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
    }


def media(m: Media) -> dict[str, Any]:
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


def recording(r: Recording) -> dict[str, Any]:
    """VoIPBIN's recording (WebhookMessage fields) plus the attempt and the file's shape;
    the file itself is GET /v1.0/recordings/{id}/file. `tm_start`/`tm_end` are "" when
    unknown (a recording that failed to start)."""
    return {
        "id": str(r.id),
        "customer_id": str(r.customer_id),
        "activeflow_id": "00000000-0000-0000-0000-000000000000",
        "reference_type": r.reference_type,
        "reference_id": str(r.reference_id),
        "status": r.status,
        "format": r.format,
        "on_end_flow_id": "00000000-0000-0000-0000-000000000000",
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
