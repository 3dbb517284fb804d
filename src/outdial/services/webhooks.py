"""The webhook worker's database side: leases on customers' delivery cursors, the next events,
and the record of every attempt. Each method is one short transaction (no HTTP inside)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from outdial.services import events
from outdial.services.context import Context
from outdial.storage.tables import customers, webhook_cursors, webhook_deliveries

C = webhook_cursors


@dataclass(frozen=True, slots=True)
class Lease:
    customer_id: uuid.UUID
    next_event_id: int
    attempt: int
    uri: str
    method: str
    secret: str
    old_secret: str = ""  # the secret a rotation replaced, while it still signs

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.secret, self.old_secret) if self.old_secret else (self.secret,)


@dataclass(frozen=True, slots=True)
class Attempt:
    event_id: int
    attempt: int
    status_code: int | None
    error: str
    ok: bool


class WebhookService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def take(self, owner: str, lease_us: int, limit: int = 100) -> list[Lease]:
        """Lease the cursors that are due (their backoff passed) and free (or already ours)."""
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            due = (
                await conn.execute(
                    sa.select(C.c.customer_id)
                    .select_from(C.join(customers, customers.c.id == C.c.customer_id))
                    .where(
                        C.c.next_try <= now,
                        sa.or_(C.c.lease_until < now, C.c.lease_owner == owner),
                        customers.c.webhook_uri != "",
                        customers.c.tm_delete.is_(None),
                    )
                    .order_by(C.c.customer_id)
                    .limit(limit)
                )
            ).all()
            ids = [r.customer_id for r in due]
            if not ids:
                return []
            taken = (
                await conn.execute(
                    sa.update(C)
                    .where(
                        C.c.customer_id.in_(ids),
                        sa.or_(C.c.lease_until < now, C.c.lease_owner == owner),
                    )
                    .values(lease_owner=owner, lease_until=now + lease_us)
                    .returning(C.c.customer_id, C.c.next_event_id, C.c.attempt)
                )
            ).all()
            who = {
                r.id: r
                for r in (
                    await conn.execute(
                        sa.select(
                            customers.c.id,
                            customers.c.webhook_uri,
                            customers.c.webhook_method,
                            customers.c.webhook_secret,
                            customers.c.webhook_secret_old,
                            customers.c.webhook_secret_old_until,
                        ).where(customers.c.id.in_([t.customer_id for t in taken]))
                    )
                ).all()
            }
        return [
            Lease(
                t.customer_id,
                int(t.next_event_id),
                int(t.attempt),
                who[t.customer_id].webhook_uri,
                who[t.customer_id].webhook_method or "POST",
                who[t.customer_id].webhook_secret,
                _old_secret(who[t.customer_id], now),
            )
            for t in taken
            if t.customer_id in who
        ]

    async def pending(self, lease: Lease, limit: int) -> list[events.Event]:
        async with self.ctx.db.query() as conn:
            return await events.after(conn, lease.customer_id, lease.next_event_id - 1, limit)

    async def settle(
        self,
        owner: str,
        lease: Lease,
        attempts: Sequence[Attempt],
        next_event_id: int,
        attempt: int,
        next_try_us: int,
    ) -> bool:
        """Record the round's attempts and move the cursor, if the lease is still ours and the
        cursor was not moved meanwhile (a replay); False when it was."""
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            if attempts:
                await conn.execute(
                    webhook_deliveries.insert(),
                    [_delivery(lease, a, now) for a in attempts],
                )
            moved = await conn.execute(
                sa.update(C)
                .where(
                    C.c.customer_id == lease.customer_id,
                    C.c.lease_owner == owner,
                    C.c.next_event_id == lease.next_event_id,
                    C.c.attempt == lease.attempt,
                )
                .values(next_event_id=next_event_id, attempt=attempt, next_try=next_try_us)
            )
            return bool(moved.rowcount == 1)

    async def release(self, owner: str) -> None:
        async with self.ctx.db.write() as conn:
            await conn.execute(
                sa.update(C).where(C.c.lease_owner == owner).values(lease_owner="", lease_until=0)
            )


def _old_secret(row: Any, now: int) -> str:
    return str(row.webhook_secret_old) if row.webhook_secret_old_until > now else ""


def _delivery(lease: Lease, a: Attempt, now: int) -> dict[str, Any]:
    return {
        "event_id": a.event_id,
        "customer_id": lease.customer_id,
        "attempt": a.attempt,
        "uri": lease.uri,
        "status_code": a.status_code,
        "error": a.error[:1000],
        "ok": a.ok,
        "tm_create": now,
    }
