"""Reading the outbox (the SSE stream), customers' webhook settings, and replay."""

from __future__ import annotations

import secrets
import uuid
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from outdial.domain.errors import InvalidArgument, NotFound
from outdial.services import events
from outdial.services.context import Context
from outdial.storage import repo
from outdial.storage.tables import customers, webhook_cursors, webhook_deliveries
from outdial.storage.tables import events as events_table
from outdial.storage.timeconv import from_us, opt_from_us
from outdial.wire_format import ts

METHODS = ("POST", "PUT")


def _customer_json(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "name": row.name,
        "webhook_method": row.webhook_method,
        "webhook_uri": row.webhook_uri,
        "tm_create": ts(from_us(row.tm_create)),
        "tm_update": ts(from_us(row.tm_update)),
        "tm_delete": ts(opt_from_us(row.tm_delete)),
    }


def check_uri(uri: str) -> str:
    if uri == "":
        return uri
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(uri) > 2000:
        raise InvalidArgument("webhook_uri must be an http or https URL", reason="INVALID_URI")
    return uri


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

    # ---- customers' webhook settings -------------------------------------------------------
    async def customer(self, caller: uuid.UUID, customer_id: uuid.UUID) -> dict[str, Any]:
        """A customer sees only itself: any other id is 404, as if it did not exist."""
        async with self.ctx.db.read() as conn:
            row = await repo.get(conn, customers, customer_id)
        if row is None or row.id != caller or row.tm_delete is not None:
            raise NotFound(f"customer {customer_id} not found", reason="CUSTOMER_NOT_FOUND")
        return _customer_json(row)

    async def set_webhook(
        self, caller: uuid.UUID | None, customer_id: uuid.UUID, body: dict[str, Any]
    ) -> dict[str, Any]:
        """PUT /customers/{id} (caller: the key's customer) or the CLI (caller None). A
        customer gets its signing secret with its first webhook; it is shown only here."""
        values: dict[str, Any] = {}
        if body.get("webhook_method") is not None:
            method = str(body["webhook_method"]).upper()
            if method not in METHODS:
                raise InvalidArgument("webhook_method must be POST or PUT")
            values["webhook_method"] = method
        if body.get("webhook_uri") is not None:
            values["webhook_uri"] = check_uri(str(body["webhook_uri"]))
        async with self.ctx.db.write() as conn:
            row = await repo.get(conn, customers, customer_id)
            if row is None or row.tm_delete is not None or caller not in (None, row.id):
                raise NotFound(f"customer {customer_id} not found", reason="CUSTOMER_NOT_FOUND")
            if (
                values.get("webhook_uri")
                and not row.webhook_method
                and "webhook_method" not in values
            ):
                values["webhook_method"] = "POST"
            if not row.webhook_secret:
                values["webhook_secret"] = secrets.token_hex(32)
            values["tm_update"] = self.ctx.now_us()
            row = await repo.update(conn, customers, customer_id, values)
            assert row is not None
            if values.get("webhook_uri"):
                # Deliveries start with the events written from now on.
                last = (
                    await conn.execute(
                        sa.select(sa.func.max(events_table.c.id)).where(
                            events_table.c.customer_id == customer_id
                        )
                    )
                ).scalar()
                await _upsert_cursor(conn, customer_id, int(last or 0) + 1, keep=True)
        out = _customer_json(row)
        out["webhook_secret"] = row.webhook_secret
        return out

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
            await _upsert_cursor(conn, caller, from_event_id, keep=False)
        return {"customer_id": str(caller), "from_event_id": from_event_id}

    async def deliveries(self, caller: uuid.UUID, limit: int = 100) -> list[dict[str, Any]]:
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
            {
                "id": r.id,
                "event_id": r.event_id,
                "attempt": r.attempt,
                "uri": r.uri,
                "status_code": r.status_code,
                "error": r.error,
                "ok": bool(r.ok),
                "tm_create": ts(from_us(r.tm_create)),
            }
            for r in found
        ]


async def _upsert_cursor(conn: Any, customer_id: uuid.UUID, next_id: int, *, keep: bool) -> None:
    """Set the customer's delivery cursor (keep=True leaves an existing one alone)."""
    C = webhook_cursors
    current = (await conn.execute(sa.select(C).where(C.c.customer_id == customer_id))).first()
    if current is None:
        await conn.execute(
            C.insert().values(customer_id=customer_id, next_event_id=next_id, attempt=0, next_try=0)
        )
    elif not keep:
        await conn.execute(
            sa.update(C)
            .where(C.c.customer_id == customer_id)
            .values(next_event_id=next_id, attempt=0, next_try=0)
        )
