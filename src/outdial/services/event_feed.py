"""Reading the outbox (the SSE stream), customers' webhook settings, and replay."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from outdial.domain.errors import InvalidArgument
from outdial.domain.reports import WebhookDelivery
from outdial.services import events
from outdial.services.accounts import AccountService, upsert_cursor
from outdial.services.context import Context
from outdial.storage import repo
from outdial.storage.tables import customers, webhook_deliveries
from outdial.storage.tables import events as events_table
from outdial.storage.timeconv import from_us


class EventService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def after(
        self, customer_id: uuid.UUID, after_id: int, limit: int = 500
    ) -> list[events.Event]:
        async with self.ctx.db.query() as conn:
            return await events.after(conn, customer_id, after_id, limit)

    async def last_id(self, customer_id: uuid.UUID) -> int:
        async with self.ctx.db.query() as conn:
            found = await conn.execute(
                sa.select(sa.func.max(events_table.c.id)).where(
                    events_table.c.customer_id == customer_id
                )
            )
            return int(found.scalar() or 0)

    # ---- customers' settings (services/accounts.py) --------------------------------------
    async def customer(self, caller: uuid.UUID, customer_id: uuid.UUID) -> dict[str, Any]:
        return await AccountService(self.ctx).get(caller, customer_id)

    async def set_webhook(
        self, caller: uuid.UUID | None, customer_id: uuid.UUID, body: dict[str, Any]
    ) -> dict[str, Any]:
        return await AccountService(self.ctx).update(caller, customer_id, body)

    async def replay(self, caller: uuid.UUID, from_event_id: int) -> dict[str, Any]:
        """Deliver again every event of the caller from `from_event_id` on, in order."""
        if from_event_id < 0:
            raise InvalidArgument("from_event_id must not be negative")
        async with self.ctx.db.write() as conn:
            row = await repo.get(conn, customers, caller)
            if row is None or not row.webhook_uri:
                raise InvalidArgument(
                    "the customer has no webhook_uri", reason="WEBHOOK_NOT_CONFIGURED"
                )
            await upsert_cursor(conn, caller, from_event_id, keep=False)
        return {"customer_id": str(caller), "from_event_id": from_event_id}

    async def deliveries(self, caller: uuid.UUID, limit: int = 100) -> list[WebhookDelivery]:
        D = webhook_deliveries
        async with self.ctx.db.query() as conn:
            found = (
                await conn.execute(
                    sa.select(D)
                    .where(D.c.customer_id == caller)
                    .order_by(D.c.id.desc())
                    .limit(limit)
                )
            ).all()
        return [
            WebhookDelivery(
                id=r.id,
                event_id=r.event_id,
                attempt=r.attempt,
                uri=r.uri,
                status_code=r.status_code,
                error=r.error,
                ok=bool(r.ok),
                tm_create=from_us(r.tm_create),
            )
            for r in found
        ]
