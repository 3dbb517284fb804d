"""Do-not-call lists per customer and their entries (issue 6; docs/compliance.md)."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from outdial.domain.dnc import DncEntry, DncList, normalize_number
from outdial.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from outdial.domain.ids import new_id
from outdial.domain.models import Page
from outdial.domain.text import check_text
from outdial.services.context import Context
from outdial.services.fields import Body, text_fields
from outdial.services.lookup import owned
from outdial.storage import repo
from outdial.storage.bulk import insert_rows
from outdial.storage.pagination import Cursor, page_of
from outdial.storage.tables import dnc_entries, dnclists
from outdial.storage.timeconv import from_us, opt_from_us, to_us

NOT_FOUND = "DNCLIST_NOT_FOUND"
ENTRY_NOT_FOUND = "DNCLIST_ENTRY_NOT_FOUND"
MAX_BULK = 10_000
_TEXT = {"name": "name", "detail": "text"}
Row = Any


def dnclist(row: Row) -> DncList:
    return DncList(
        id=row.id,
        customer_id=row.customer_id,
        name=row.name,
        detail=row.detail,
        tm_create=from_us(row.tm_create),
        tm_update=from_us(row.tm_update),
        tm_delete=opt_from_us(row.tm_delete),
    )


def entry(row: Row) -> DncEntry:
    v = row if isinstance(row, Mapping) else row._mapping
    return DncEntry(
        id=v["id"],
        customer_id=v["customer_id"],
        dnclist_id=v["dnclist_id"],
        number=v["number"],
        expire=opt_from_us(v["expire"]),
        detail=v["detail"],
        tm_create=from_us(v["tm_create"]),
        tm_update=from_us(v["tm_update"]),
        tm_delete=opt_from_us(v["tm_delete"]),
    )


def parse_expire(raw: object, field: str = "expire") -> int | None:
    """The wire format (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC) or ISO 8601; null or "" for none."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise InvalidArgument(f"{field} must be a timestamp string")
    try:
        parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return to_us(parsed.astimezone(UTC))
    except (ValueError, OverflowError):
        raise InvalidArgument(f"{field} is not a valid timestamp: {raw!r}") from None


def entry_values(
    body: Body, customer_id: uuid.UUID, dnclist_id: uuid.UUID, now_us: int
) -> dict[str, Any]:
    if "number" not in body or body["number"] in (None, ""):
        raise InvalidArgument("number is required")
    detail = body.get("detail")
    if detail is not None and not isinstance(detail, str):
        raise InvalidArgument("detail must be a string")
    return {
        "id": new_id(),
        "customer_id": customer_id,
        "dnclist_id": dnclist_id,
        "number": normalize_number(body["number"]),
        "expire": parse_expire(body.get("expire")),
        "detail": check_text(detail or "", "detail"),
        "tm_create": now_us,
        "tm_update": now_us,
        "tm_delete": None,
    }


class DncListService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def create(self, customer_id: uuid.UUID, body: Body) -> DncList:
        now = self.ctx.now_us()
        values: dict[str, Any] = {"name": "", "detail": ""}
        values.update(text_fields(body, _TEXT))
        values.update(id=new_id(), customer_id=customer_id, tm_create=now, tm_update=now)
        async with self.ctx.db.write() as conn:
            await repo.insert(conn, dnclists, values)
            row = await repo.get(conn, dnclists, values["id"])
        assert row is not None
        return dnclist(row)

    async def get(self, customer_id: uuid.UUID, list_id: uuid.UUID) -> DncList:
        async with self.ctx.db.read() as conn:
            row = await owned(conn, dnclists, customer_id, list_id, NOT_FOUND, "dnclist")
        return dnclist(row)

    async def list(self, customer_id: uuid.UUID, cursor: Cursor | None, limit: int) -> Page:
        where = [dnclists.c.customer_id == customer_id, dnclists.c.tm_delete.is_(None)]
        async with self.ctx.db.read() as conn:
            found = await repo.page(conn, dnclists, where, cursor, limit)
        items = [dnclist(r) for r in found]
        return page_of(items)

    async def update(self, customer_id: uuid.UUID, list_id: uuid.UUID, body: Body) -> DncList:
        values: dict[str, Any] = dict(text_fields(body, _TEXT))
        async with self.ctx.db.write() as conn:
            await owned(conn, dnclists, customer_id, list_id, NOT_FOUND, "dnclist")
            values["tm_update"] = self.ctx.now_us()
            row = await repo.update(conn, dnclists, list_id, values)
        if row is None:
            raise NotFound(f"dnclist {list_id} not found", reason=NOT_FOUND)
        return dnclist(row)

    async def delete(self, customer_id: uuid.UUID, list_id: uuid.UUID) -> DncList:
        """Soft delete; its entries are deleted with it, so they stop applying at once."""
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            row = await owned(conn, dnclists, customer_id, list_id, NOT_FOUND, "dnclist")
            if row.tm_delete is None:
                await conn.execute(
                    sa.update(dnc_entries)
                    .where(dnc_entries.c.dnclist_id == list_id, dnc_entries.c.tm_delete.is_(None))
                    .values(tm_delete=now, tm_update=now)
                )
            row = await repo.soft_delete(conn, dnclists, row, now)
        return dnclist(row)

    # ---- entries -------------------------------------------------------------------------
    async def _writable(self, conn: Any, customer_id: uuid.UUID, list_id: uuid.UUID) -> None:
        row = await owned(conn, dnclists, customer_id, list_id, NOT_FOUND, "dnclist")
        if row.tm_delete is not None:
            raise FailedPrecondition(f"dnclist {list_id} is deleted", reason="DNCLIST_DELETED")

    async def add(self, customer_id: uuid.UUID, list_id: uuid.UUID, body: Body) -> DncEntry:
        values = entry_values(body, customer_id, list_id, self.ctx.now_us())
        async with self.ctx.db.write() as conn:
            await self._writable(conn, customer_id, list_id)
            await repo.insert(conn, dnc_entries, values)
        return entry(values)

    async def add_many(
        self, customer_id: uuid.UUID, list_id: uuid.UUID, items: Sequence[Any]
    ) -> builtins.list[DncEntry]:
        """All or nothing: one bad item rejects the request, naming the item and field."""
        if not items:
            raise InvalidArgument("the body must be a non-empty JSON array of entries")
        if len(items) > MAX_BULK:
            raise InvalidArgument(f"at most {MAX_BULK} entries per request (got {len(items)})")
        now = self.ctx.now_us()
        values = []
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise InvalidArgument(f"item {index}: must be a JSON object")
            try:
                values.append(entry_values(item, customer_id, list_id, now))
            except InvalidArgument as exc:
                raise InvalidArgument(f"item {index}: {exc.message}") from None
        async with self.ctx.db.write() as conn:
            await self._writable(conn, customer_id, list_id)
            await insert_rows(conn, dnc_entries, values)
        return [entry(v) for v in values]

    async def entries(
        self, customer_id: uuid.UUID, list_id: uuid.UUID, cursor: Cursor | None, limit: int
    ) -> Page:
        where = [dnc_entries.c.dnclist_id == list_id, dnc_entries.c.tm_delete.is_(None)]
        async with self.ctx.db.read() as conn:
            await owned(conn, dnclists, customer_id, list_id, NOT_FOUND, "dnclist")
            found = await repo.page(conn, dnc_entries, where, cursor, limit)
        items = [entry(r) for r in found]
        return page_of(items)

    async def _entry(
        self, conn: Any, customer_id: uuid.UUID, list_id: uuid.UUID, entry_id: uuid.UUID
    ) -> Row:
        await owned(conn, dnclists, customer_id, list_id, NOT_FOUND, "dnclist")
        row = await repo.get(conn, dnc_entries, entry_id)
        if row is None or row.dnclist_id != list_id:
            raise NotFound(f"dnclist entry {entry_id} not found", reason=ENTRY_NOT_FOUND)
        return row

    async def get_entry(
        self, customer_id: uuid.UUID, list_id: uuid.UUID, entry_id: uuid.UUID
    ) -> DncEntry:
        async with self.ctx.db.read() as conn:
            return entry(await self._entry(conn, customer_id, list_id, entry_id))

    async def remove(
        self, customer_id: uuid.UUID, list_id: uuid.UUID, entry_id: uuid.UUID
    ) -> DncEntry:
        async with self.ctx.db.write() as conn:
            row = await self._entry(conn, customer_id, list_id, entry_id)
            row = await repo.soft_delete(conn, dnc_entries, row, self.ctx.now_us())
        return entry(row)
