"""Outdials: the lists of targets."""

from __future__ import annotations

import uuid

from outdial.domain.errors import NotFound
from outdial.domain.ids import NIL_UUID, new_id
from outdial.domain.models import Outdial, Page
from outdial.services import events
from outdial.services.context import Context
from outdial.services.fields import Body, ref, text_fields
from outdial.services.lookup import owned, referenced
from outdial.storage import quota, repo, rows
from outdial.storage.pagination import Cursor, page_of
from outdial.storage.tables import campaigns, outdials
from outdial.wire import outdial as wire_outdial

_TEXT = {"name": "name", "detail": "text", "data": "text"}
NOT_FOUND = "OUTDIAL_NOT_FOUND"


class OutdialService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def create(self, customer_id: uuid.UUID, body: Body) -> Outdial:
        values: dict[str, object] = {"name": "", "detail": "", "data": ""}
        values.update(text_fields(body, _TEXT))
        campaign_id = ref(body, "campaign_id") or NIL_UUID
        now = self.ctx.now_us()
        values.update(
            id=new_id(),
            customer_id=customer_id,
            campaign_id=campaign_id,
            tm_create=now,
            tm_update=now,
        )
        async with self.ctx.db.write() as conn:
            if campaign_id != NIL_UUID:
                await referenced(conn, campaigns, customer_id, campaign_id, "campaign_id")
            await repo.insert(conn, outdials, values)
            row = await repo.get(conn, outdials, values["id"])  # type: ignore[arg-type]
            assert row is not None
            created = rows.outdial(row)
            await events.emit(
                conn, customer_id, events.OUTDIAL_CREATED, wire_outdial.render(created)
            )
        return created

    async def get(self, customer_id: uuid.UUID, outdial_id: uuid.UUID) -> Outdial:
        async with self.ctx.db.read() as conn:
            row = await owned(conn, outdials, customer_id, outdial_id, NOT_FOUND, "outdial")
        return rows.outdial(row)

    async def list(self, customer_id: uuid.UUID, cursor: Cursor | None, limit: int) -> Page:
        where = [outdials.c.customer_id == customer_id, outdials.c.tm_delete.is_(None)]
        async with self.ctx.db.read() as conn:
            found = await repo.page(conn, outdials, where, cursor, limit)
        items = [rows.outdial(r) for r in found]
        return page_of(items)

    async def update(self, customer_id: uuid.UUID, outdial_id: uuid.UUID, body: Body) -> Outdial:
        """PUT /outdials/{id}, /campaign_id and /data: only the fields present change."""
        values: dict[str, object] = dict(text_fields(body, _TEXT))
        campaign_id = ref(body, "campaign_id")
        async with self.ctx.db.write() as conn:
            await owned(conn, outdials, customer_id, outdial_id, NOT_FOUND, "outdial")
            if campaign_id is not None:
                if campaign_id != NIL_UUID:
                    await referenced(conn, campaigns, customer_id, campaign_id, "campaign_id")
                values["campaign_id"] = campaign_id
            values["tm_update"] = self.ctx.now_us()
            row = await repo.update(conn, outdials, outdial_id, values)
            if row is None:
                raise NotFound(f"outdial {outdial_id} not found", reason=NOT_FOUND)
            updated = rows.outdial(row)
            await events.emit(
                conn, customer_id, events.OUTDIAL_UPDATED, wire_outdial.render(updated)
            )
        return updated

    async def delete(self, customer_id: uuid.UUID, outdial_id: uuid.UUID) -> Outdial:
        async with self.ctx.db.write() as conn:
            row = await owned(conn, outdials, customer_id, outdial_id, NOT_FOUND, "outdial")
            was_live = row.tm_delete is None
            row = await repo.soft_delete(conn, outdials, row, self.ctx.now_us())
            deleted = rows.outdial(row)
            if was_live:
                gone = await quota.live_targets(conn, outdial_id)
                await quota.remove_targets(conn, customer_id, gone)
                await events.emit(
                    conn, customer_id, events.OUTDIAL_DELETED, wire_outdial.render(deleted)
                )
        return deleted
