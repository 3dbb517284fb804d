"""Campaign rules that need the database: reference checks, outdial attachment, run and stop.

Every status change is a guarded UPDATE on the campaign row (never read-check-write).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.errors import InvalidArgument
from outdial.domain.ids import NIL_UUID
from outdial.domain.states import CampaignStatus, CampaignType
from outdial.storage import repo
from outdial.storage.tables import campaigns, outdials, outplans

Row = sa.Row[Any]


async def _live(
    conn: AsyncConnection, table: sa.Table, customer_id: uuid.UUID, id_: uuid.UUID, field: str
) -> Row:
    row = await repo.get(conn, table, id_)
    if row is None or row.customer_id != customer_id:
        raise InvalidArgument(f"{field} {id_} does not exist", reason="INVALID_REFERENCE")
    if row.tm_delete is not None:
        raise InvalidArgument(f"{field} {id_} is deleted", reason="INVALID_REFERENCE")
    return row


async def validate_refs(
    conn: AsyncConnection, customer_id: uuid.UUID, campaign_id: uuid.UUID, refs: Mapping[str, Any]
) -> None:
    """outplan, outdial and next campaign: set ones must exist, be the customer's, be live;
    an outdial belongs to at most one campaign."""
    if refs["outplan_id"] != NIL_UUID:
        await _live(conn, outplans, customer_id, refs["outplan_id"], "outplan_id")
    if refs["outdial_id"] != NIL_UUID:
        row = await _live(conn, outdials, customer_id, refs["outdial_id"], "outdial_id")
        if row.campaign_id not in (NIL_UUID, campaign_id):
            raise InvalidArgument(
                f"outdial_id {row.id} is attached to campaign {row.campaign_id}",
                reason="OUTDIAL_IN_USE",
            )
    if refs["next_campaign_id"] != NIL_UUID:
        await _live(conn, campaigns, customer_id, refs["next_campaign_id"], "next_campaign_id")


async def attach_outdial(
    conn: AsyncConnection, campaign_id: uuid.UUID, old: uuid.UUID, new: uuid.UUID, now: int
) -> None:
    """Point the new outdial at the campaign and release the old one."""
    if old == new:
        return
    if old != NIL_UUID:
        await conn.execute(
            sa.update(outdials)
            .where(outdials.c.id == old, outdials.c.campaign_id == campaign_id)
            .values(campaign_id=NIL_UUID, tm_update=now)
        )
    if new != NIL_UUID:
        await conn.execute(
            sa.update(outdials)
            .where(outdials.c.id == new)
            .values(campaign_id=campaign_id, tm_update=now)
        )


async def start(conn: AsyncConnection, current: Row, now: int) -> Row:
    """stop|stopping -> run, after checking that the campaign can dial."""
    if current.tm_delete is not None:
        raise InvalidArgument("the campaign is deleted", reason="CAMPAIGN_DELETED")
    if current.type == CampaignType.FLOW.value:
        raise InvalidArgument(
            "campaigns of type flow have no call leg and cannot run yet; use type call",
            reason="FLOW_CAMPAIGN_NOT_SUPPORTED",
        )
    if current.outplan_id == NIL_UUID:
        raise InvalidArgument("the campaign has no outplan_id", reason="INVALID_REFERENCE")
    if current.outdial_id == NIL_UUID:
        raise InvalidArgument("the campaign has no outdial_id", reason="INVALID_REFERENCE")
    refs = {
        name: getattr(current, name) for name in ("outplan_id", "outdial_id", "next_campaign_id")
    }
    await validate_refs(conn, current.customer_id, current.id, refs)
    if current.status == CampaignStatus.RUN.value:
        return current
    row = await repo.update(
        conn,
        campaigns,
        current.id,
        {"status": CampaignStatus.RUN.value, "tm_update": now},
        campaigns.c.status.in_([CampaignStatus.STOP.value, CampaignStatus.STOPPING.value]),
    )
    return row or current


def stop_status() -> sa.ColumnElement[str]:
    """stop when nothing is in flight, else stopping (evaluated on the locked row)."""
    return sa.case(
        (campaigns.c.in_flight > 0, CampaignStatus.STOPPING.value),
        else_=CampaignStatus.STOP.value,
    )


async def request_stop(conn: AsyncConnection, current: Row, now: int) -> Row:
    """run -> stopping (attempts in flight) or stop; stopping and stop stay as they are."""
    row = await repo.update(
        conn,
        campaigns,
        current.id,
        {"status": stop_status(), "tm_update": now},
        campaigns.c.status == CampaignStatus.RUN.value,
    )
    return row or current
