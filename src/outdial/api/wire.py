"""The wire format: timestamps, the delete sentinel, resource JSON, page tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from outdial.domain.address import Address
from outdial.domain.errors import InvalidArgument
from outdial.domain.models import (
    Campaign,
    Campaigncall,
    Outdial,
    Outplan,
    Page,
    Target,
)

SENTINEL = "9999-01-01 00:00:00.000000"
_WIRE = "%Y-%m-%d %H:%M:%S.%f"


def ts(value: datetime | None) -> str:
    """UTC `YYYY-MM-DD HH:MM:SS.ffffff`; None (not deleted) is the sentinel."""
    if value is None:
        return SENTINEL
    return value.astimezone(UTC).strftime(_WIRE)


def parse_time(text: str, field: str) -> datetime:
    """The wire format or ISO 8601 / RFC 3339 (naive means UTC)."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(f"{field} is not a valid timestamp: {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def page_token(page: Page) -> str:
    if page.cursor is None:
        return ""
    at, last_id = page.cursor
    return f"{at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}_{last_id}"


def parse_page_token(token: str | None) -> tuple[datetime, uuid.UUID | None] | None:
    """Our tokens are `TIME_ID`; a bare time (as VoIPBIN sends) pages strictly before it."""
    if token is None or token == "":
        return None
    at_text, sep, id_text = token.partition("_")
    at = parse_time(at_text, "page_token")
    if not sep:
        return at, None
    try:
        return at, uuid.UUID(id_text)
    except ValueError:
        raise InvalidArgument("page_token is malformed") from None


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
    out: dict[str, Any] = {
        "id": str(t.id),
        "outdial_id": str(t.outdial_id),
        "name": t.name,
        "detail": t.detail,
        "data": t.data,
        "status": t.status,
    }
    for n, dest in enumerate(t.destinations):
        out[f"destination_{n}"] = address(dest)
    for n, count in enumerate(t.try_counts):
        out[f"try_count_{n}"] = count
    out.update(tm_create=ts(t.tm_create), tm_update=ts(t.tm_update), tm_delete=ts(t.tm_delete))
    return out


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
        "tm_create": ts(c.tm_create),
        "tm_update": ts(c.tm_update),
        "tm_delete": ts(c.tm_delete),
    }


def listing(page: Page, render: Any) -> dict[str, Any]:
    return {"result": [render(item) for item in page.items], "next_page_token": page_token(page)}
