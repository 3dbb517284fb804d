"""The outbox: every change writes its event in the change's own transaction.

An event is `{"id": N, "type": NAME, "data": <resource JSON>}`; `id` comes from the `events`
table's identity column, so it is stable, increases in commit order per resource (a resource's
changes are serialised by its row lock) and is the cursor of the SSE stream, the webhook worker
and replay. An event of a change that rolls back rolls back with it."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.storage.tables import events

# VoIPBIN's names (reference/voipbin-upstream.md).
OUTDIAL_CREATED = "outdial_created"
OUTDIAL_UPDATED = "outdial_updated"
OUTDIAL_DELETED = "outdial_deleted"
TARGET_CREATED = "outdialtarget_created"
TARGET_UPDATED = "outdialtarget_updated"
TARGET_DELETED = "outdialtarget_deleted"
TARGET_RESET = "outdialtarget_reset"  # issue 17: a done or idle target got its tries back
CAMPAIGN_RECYCLED = "campaign_recycled"  # issue 17: a recycle pass (data: count and filter)
TARGET_SCHEDULED = "outdialtarget_scheduled"  # PUT .../schedule (issue 17)
OUTPLAN_CREATED = "outplan_created"
OUTPLAN_UPDATED = "outplan_updated"
OUTPLAN_DELETED = "outplan_deleted"
CAMPAIGN_CREATED = "campaign_created"
CAMPAIGN_UPDATED = "campaign_updated"
CAMPAIGN_DELETED = "campaign_deleted"
CAMPAIGNCALL_CREATED = "campaigncall_created"
CAMPAIGNCALL_UPDATED = "campaigncall_updated"
CAMPAIGNCALL_DELETED = "campaigncall_deleted"
RECORDING_FINISHED = "recording_finished"  # call-manager's name (issue 12)
RECORDING_DELETED = "recording_deleted"
STATUS_EVENTS = {
    "run": "campaign_status_run",
    "stopping": "campaign_status_stopping",
    "stop": "campaign_status_stop",
}
AGENT_STATUS_UPDATED = "agent_status_updated"  # issue 13: an agent's status changed
# Process-wide: an engine's SIP trunk went down or came back (docs/operations.md).
TRUNK_DOWN = "trunk_down"
TRUNK_UP = "trunk_up"
ALL = (
    OUTDIAL_CREATED,
    OUTDIAL_UPDATED,
    OUTDIAL_DELETED,
    TARGET_CREATED,
    TARGET_UPDATED,
    TARGET_DELETED,
    TARGET_RESET,
    TARGET_SCHEDULED,
    OUTPLAN_CREATED,
    OUTPLAN_UPDATED,
    OUTPLAN_DELETED,
    CAMPAIGN_CREATED,
    CAMPAIGN_UPDATED,
    CAMPAIGN_DELETED,
    CAMPAIGN_RECYCLED,
    *STATUS_EVENTS.values(),
    CAMPAIGNCALL_CREATED,
    CAMPAIGNCALL_UPDATED,
    CAMPAIGNCALL_DELETED,
    RECORDING_FINISHED,
    RECORDING_DELETED,
    AGENT_STATUS_UPDATED,
    TRUNK_DOWN,
    TRUNK_UP,
)


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    customer_id: uuid.UUID
    type: str
    resource_id: uuid.UUID
    data: str  # the resource JSON, as stored

    def body(self) -> str:
        """The event as sent: `{"id": N, "type": NAME, "data": {...}}` (compact JSON)."""
        return f'{{"id":{self.id},"type":{json.dumps(self.type)},"data":{self.data}}}'


def _row(customer_id: uuid.UUID, type_: str, data: dict[str, Any], now: int) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "type": type_,
        "resource_id": uuid.UUID(str(data["id"])),
        "data": json.dumps(data, separators=(",", ":")),
        "tm_create": now,
    }


async def emit(
    conn: AsyncConnection, customer_id: uuid.UUID, type: str, data: dict[str, Any]
) -> None:
    """Write one event in the caller's transaction."""
    await conn.execute(events.insert().values(**_row(customer_id, type, data, _now())))


async def emit_many(
    conn: AsyncConnection,
    customer_id: uuid.UUID,
    type: str,
    items: Iterable[dict[str, Any]],
) -> None:
    """Write one event per item (a bulk change) in the caller's transaction, in item order."""
    now = _now()
    values = [_row(customer_id, type, data, now) for data in items]
    if values:
        await conn.execute(events.insert(), values)


async def emit_rows(conn: AsyncConnection, values: Sequence[dict[str, Any]]) -> None:
    """Write prepared events (`customer_id`, `type`, `data`) of several customers at once."""
    if not values:
        return
    now = _now()
    await conn.execute(
        events.insert(), [_row(v["customer_id"], v["type"], v["data"], now) for v in values]
    )


def _now() -> int:
    return time.time_ns() // 1000


def from_row(row: Any) -> Event:
    return Event(row.id, row.customer_id, row.type, row.resource_id, row.data)


async def after(
    conn: AsyncConnection, customer_id: uuid.UUID | None, after_id: int, limit: int
) -> list[Event]:
    """Events with an id greater than `after_id`, oldest first (one customer's, or all)."""
    stmt = sa.select(events).where(events.c.id > after_id).order_by(events.c.id).limit(limit)
    if customer_id is not None:
        stmt = stmt.where(events.c.customer_id == customer_id)
    return [from_row(r) for r in (await conn.execute(stmt)).all()]


async def emit_status(
    conn: AsyncConnection, before: str, customer_id: uuid.UUID, data: dict[str, Any]
) -> None:
    """campaign_status_<new> when a campaign's status changed from `before`."""
    if data["status"] != before and data["status"] in STATUS_EVENTS:
        await emit(conn, customer_id, STATUS_EVENTS[data["status"]], data)
