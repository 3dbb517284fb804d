"""Retention: events and webhook delivery records older than the retention period go, except
events a customer's webhook has not yet been given (those stay until delivered or given up).

Both tables grow by a few rows per call attempt, and nothing else ever removes them. Rows are
walked oldest first by id in short transactions of `batch` rows each, so a prune never holds
SQLite's writer for long, and stops at the first row inside the retention period (ids rise
with time, so no index on time is needed). Compliance records (`dial_skips`) and resources
(campaigncalls) are kept: they are what an audit asks for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from outdial.domain.errors import InvalidArgument
from outdial.services.context import Context
from outdial.storage.tables import customers, events, webhook_cursors, webhook_deliveries

DAY_US = 86_400 * 1_000_000
DEFAULT_RETENTION_DAYS = 30.0


@dataclass(frozen=True, slots=True)
class Pruned:
    events: int
    deliveries: int
    kept_undelivered: int  # old events left because a webhook still has to get them

    def to_json(self) -> dict[str, int]:
        return {
            "events_deleted": self.events,
            "deliveries_deleted": self.deliveries,
            "events_kept_undelivered": self.kept_undelivered,
        }


class RetentionService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def prune(self, older_than_days: float, batch: int = 5_000) -> Pruned:
        if not older_than_days > 0:
            raise InvalidArgument("the retention period must be more than 0 days")
        cutoff = self.ctx.now_us() - int(older_than_days * DAY_US)
        pending = await self._undelivered_from()
        deleted = kept = 0
        after = 0
        while True:
            async with self.ctx.db.write() as conn:
                rows = (
                    await conn.execute(
                        sa.select(events.c.id, events.c.customer_id, events.c.tm_create)
                        .where(events.c.id > after)
                        .order_by(events.c.id)
                        .limit(batch)
                    )
                ).all()
                old = [r for r in rows if r.tm_create < cutoff]
                gone = [r.id for r in old if r.id < pending.get(r.customer_id, r.id + 1)]
                kept += len(old) - len(gone)
                if gone:
                    await conn.execute(sa.delete(events).where(events.c.id.in_(gone)))
                deleted += len(gone)
            if len(old) < batch:  # reached the retention period, or the end
                break
            after = rows[-1].id
        return Pruned(deleted, await self._prune_deliveries(cutoff, batch), kept)

    async def _undelivered_from(self) -> dict[uuid.UUID, int]:
        """Per customer with a webhook: the first event id it has not been given yet."""
        C = webhook_cursors
        async with self.ctx.db.query() as conn:
            rows = (
                await conn.execute(
                    sa.select(C.c.customer_id, C.c.next_event_id)
                    .select_from(C.join(customers, customers.c.id == C.c.customer_id))
                    .where(customers.c.webhook_uri != "", customers.c.tm_delete.is_(None))
                )
            ).all()
        return {r.customer_id: int(r.next_event_id) for r in rows}

    async def _prune_deliveries(self, cutoff: int, batch: int) -> int:
        D = webhook_deliveries
        deleted = 0
        while True:
            async with self.ctx.db.write() as conn:
                ids: list[Any] = list(
                    (
                        await conn.execute(
                            sa.select(D.c.id)
                            .where(D.c.tm_create < cutoff)
                            .order_by(D.c.id)
                            .limit(batch)
                        )
                    ).scalars()
                )
                if ids:
                    await conn.execute(sa.delete(D).where(D.c.id.in_(ids)))
            deleted += len(ids)
            if len(ids) < batch:
                return deleted
