"""Campaigncalls: one row per attempt; read and delete (when done) through the API."""

from __future__ import annotations

import uuid

from outdial.domain.errors import FailedPrecondition
from outdial.domain.list_filters import CallFilter
from outdial.domain.models import Campaigncall, Page
from outdial.domain.states import CampaigncallStatus
from outdial.services import events
from outdial.services.context import Context
from outdial.services.lookup import owned
from outdial.storage import repo, rows
from outdial.storage.list_filters import call_where
from outdial.storage.pagination import Cursor, page_of
from outdial.storage.tables import campaigncalls, campaigns
from outdial.wire import campaigncall as wire_campaigncall

NOT_FOUND = "CAMPAIGNCALL_NOT_FOUND"


class CampaigncallService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def get(self, customer_id: uuid.UUID, call_id: uuid.UUID) -> Campaigncall:
        async with self.ctx.db.read() as conn:
            row = await owned(conn, campaigncalls, customer_id, call_id, NOT_FOUND, "campaigncall")
        return rows.campaigncall(row)

    async def list(
        self,
        customer_id: uuid.UUID,
        cursor: Cursor | None,
        limit: int,
        campaign_id: uuid.UUID | None = None,
        filter_: CallFilter | None = None,
    ) -> Page:
        """A page of the customer's (or the campaign's) calls, newest first, that match
        `filter_` (domain/list_filters.py)."""
        where = [campaigncalls.c.customer_id == customer_id, campaigncalls.c.tm_delete.is_(None)]
        if filter_ is not None:
            where.extend(call_where(filter_))
        async with self.ctx.db.read() as conn:
            if campaign_id is not None:
                await owned(
                    conn, campaigns, customer_id, campaign_id, "CAMPAIGN_NOT_FOUND", "campaign"
                )
                where.append(campaigncalls.c.campaign_id == campaign_id)
            found = await repo.page(conn, campaigncalls, where, cursor, limit)
        items = [rows.campaigncall(r) for r in found]
        return page_of(items)

    async def delete(self, customer_id: uuid.UUID, call_id: uuid.UUID) -> Campaigncall:
        async with self.ctx.db.write() as conn:
            row = await owned(conn, campaigncalls, customer_id, call_id, NOT_FOUND, "campaigncall")
            if row.tm_delete is None:
                if row.status != CampaigncallStatus.DONE.value:
                    raise FailedPrecondition(
                        f"campaigncall is {row.status}; only a done call can be deleted",
                        reason="CAMPAIGNCALL_NOT_DONE",
                    )
                row = await repo.soft_delete(conn, campaigncalls, row, self.ctx.now_us())
                await events.emit(
                    conn,
                    customer_id,
                    events.CAMPAIGNCALL_DELETED,
                    wire_campaigncall.render(rows.campaigncall(row)),
                )
        return rows.campaigncall(row)
