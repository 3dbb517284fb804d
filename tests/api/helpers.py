"""Small helpers shared by the API tests: resource factories and the error-envelope check."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from outdial.domain.ids import new_id
from outdial.services.container import Services
from outdial.storage import repo
from outdial.storage.tables import campaigncalls
from outdial.storage.timeconv import to_us
from tests.conftest import Tenant

NIL = "00000000-0000-0000-0000-000000000000"
SENTINEL = "9999-01-01 00:00:00.000000"
TEL = {"type": "tel", "target": "+15550001", "target_name": "", "name": "", "detail": ""}
EMPTY_ADDRESS = {"type": "", "target": "", "target_name": "", "name": "", "detail": ""}

OUTDIAL_FIELDS = [
    "id",
    "customer_id",
    "campaign_id",
    "name",
    "detail",
    "data",
    "tm_create",
    "tm_update",
    "tm_delete",
]
OUTPLAN_FIELDS = [
    "id",
    "customer_id",
    "name",
    "detail",
    "source",
    "dial_timeout",
    "try_interval",
    *[f"max_try_count_{n}" for n in range(5)],
    "tm_create",
    "tm_update",
    "tm_delete",
    "call_window",
    "max_attempts_per_number_24h",
    "min_number_gap",
    "sip_headers",
    "retry_rules",
    "order",
]
CAMPAIGN_FIELDS = [
    "id",
    "customer_id",
    "type",
    "name",
    "detail",
    "status",
    "service_level",
    "end_handle",
    "actions",
    "outplan_id",
    "outdial_id",
    "queue_id",
    "next_campaign_id",
    "max_concurrent_calls",
    "calls_per_second",
    "tm_create",
    "tm_update",
    "tm_delete",
    "opt_out",
    "dial_mode",
    "max_abandon_rate",
    "abandon_message",
    "dispositions",
]
CAMPAIGNCALL_FIELDS = [
    "id",
    "customer_id",
    "campaign_id",
    "outplan_id",
    "outdial_id",
    "outdial_target_id",
    "queue_id",
    "activeflow_id",
    "flow_id",
    "reference_type",
    "reference_id",
    "status",
    "result",
    "source",
    "destination",
    "destination_index",
    "try_count",
    "hangup_reason",
    "sip_code",
    "hangup_detail",
    "tm_create",
    "tm_update",
    "tm_delete",
    "amd_result",
    "amd_ms",
    "digits",
    "opted_out",
    "agent_id",
    "abandoned",
    "disposition",
    "disposition_note",
    "callback_at",
    "tm_connect",
    "callback_agent_id",
]


def error(
    response: httpx.Response, http: int, status: str, reason: str | None = None
) -> dict[str, Any]:
    """Check the error envelope and return its inner object."""
    assert response.status_code == http, response.text
    body = response.json()
    assert list(body) == ["error"], body
    err: dict[str, Any] = body["error"]
    assert list(err) == ["status", "reason", "message", "request_id"], err
    assert err["status"] == status, err
    if reason is not None:
        assert err["reason"] == reason, err
    assert err["message"]
    assert err["request_id"] == response.headers["x-request-id"]
    return err


async def make_outdial(t: Tenant, /, **body: Any) -> dict[str, Any]:
    result: dict[str, Any] = await t.ok("POST", "/v1.0/outdials", json=body)
    return result


async def make_target(t: Tenant, outdial: str, /, **body: Any) -> dict[str, Any]:
    body.setdefault("destination_0", TEL)
    result: dict[str, Any] = await t.ok("POST", f"/v1.0/outdials/{outdial}/targets", json=body)
    return result


async def make_outplan(t: Tenant, /, **body: Any) -> dict[str, Any]:
    result: dict[str, Any] = await t.ok("POST", "/v1.0/outplans", json=body)
    return result


async def make_campaign(t: Tenant, /, **body: Any) -> dict[str, Any]:
    result: dict[str, Any] = await t.ok("POST", "/v1.0/campaigns", json=body)
    return result


async def insert_campaigncall(
    services: Services,
    customer_id: uuid.UUID,
    campaign: dict[str, Any],
    *,
    status: str = "done",
    result: str = "success",
    target_id: uuid.UUID | None = None,
) -> str:
    """A campaigncall row written straight to the table (the engine writes them in real runs)."""
    now = to_us(services.ctx.now())
    call_id = new_id()
    values = {
        "id": call_id,
        "customer_id": customer_id,
        "campaign_id": uuid.UUID(campaign["id"]),
        "outplan_id": uuid.UUID(campaign["outplan_id"]),
        "outdial_id": uuid.UUID(campaign["outdial_id"]),
        "outdial_target_id": target_id or new_id(),
        "queue_id": uuid.UUID(NIL),
        "activeflow_id": new_id(),
        "flow_id": uuid.UUID(NIL),
        "reference_type": "call",
        "reference_id": new_id(),
        "status": status,
        "result": result if status == "done" else "",
        "source": None,
        "destination": json.dumps(TEL, separators=(",", ":")),
        "destination_index": 0,
        "try_count": 1,
        "hangup_reason": "normal" if status == "done" else "",
        "sip_code": 200 if status == "done" else None,
        "lease_expires": None,
        "engine_id": "",
        "tm_create": now,
        "tm_update": now,
        "tm_delete": None,
    }
    async with services.ctx.db.write() as conn:
        await repo.insert(conn, campaigncalls, values)
    return str(call_id)
