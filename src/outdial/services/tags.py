"""Tags (issue 13): agents serve the queues they share a tag with."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.agent_models import Tag
from outdial.domain.errors import InvalidArgument, NotFound
from outdial.domain.ids import new_id, parse_ref
from outdial.domain.models import Page
from outdial.services.context import Context
from outdial.services.fields import Body, text_fields
from outdial.services.lookup import owned
from outdial.storage import repo
from outdial.storage.agent_rows import tag as tag_from_row
from outdial.storage.pagination import Cursor, page_of
from outdial.storage.tables import tags

NOT_FOUND = "TAG_NOT_FOUND"
_TEXT = {"name": "name", "detail": "text"}
MAX_TAGS = 100  # tag ids on one agent or queue


def parse_tag_ids(raw: Any, field: str = "tag_ids") -> list[uuid.UUID]:
    """A list of tag id strings (null: none), without duplicates, in the order given."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidArgument(f"{field} must be a list of tag ids")
    if len(raw) > MAX_TAGS:
        raise InvalidArgument(f"{field} has more than {MAX_TAGS} ids")
    out: list[uuid.UUID] = []
    for n, item in enumerate(raw):
        if not isinstance(item, str):
            raise InvalidArgument(f"{field}[{n}] must be a UUID string", reason="INVALID_ID")
        value = parse_ref(item, field=f"{field}[{n}]")
        if value.int == 0:
            raise InvalidArgument(f"{field}[{n}] must not be the nil UUID", reason="INVALID_ID")
        if value not in out:
            out.append(value)
    return out


async def check_tags(
    conn: AsyncConnection, customer_id: uuid.UUID, ids: Iterable[uuid.UUID], field: str
) -> None:
    """Every tag named must be the customer's and not deleted (else 400 INVALID_REFERENCE)."""
    wanted = set(ids)
    if not wanted:
        return
    found = await conn.execute(
        sa.select(tags.c.id).where(
            tags.c.id.in_(wanted), tags.c.customer_id == customer_id, tags.c.tm_delete.is_(None)
        )
    )
    missing = wanted - {r[0] for r in found.all()}
    if missing:
        raise InvalidArgument(
            f"{field}: tag {sorted(map(str, missing))[0]} does not exist",
            reason="INVALID_REFERENCE",
        )


class TagService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def create(self, customer_id: uuid.UUID, body: Body) -> Tag:
        values: dict[str, Any] = {"name": "", "detail": ""}
        values.update(text_fields(body, _TEXT))
        now = self.ctx.now_us()
        values.update(id=new_id(), customer_id=customer_id, tm_create=now, tm_update=now)
        async with self.ctx.db.write() as conn:
            await repo.insert(conn, tags, values)
            row = await repo.get(conn, tags, values["id"])
        assert row is not None
        return tag_from_row(row)

    async def get(self, customer_id: uuid.UUID, tag_id: uuid.UUID) -> Tag:
        async with self.ctx.db.read() as conn:
            row = await owned(conn, tags, customer_id, tag_id, NOT_FOUND, "tag")
        return tag_from_row(row)

    async def list(self, customer_id: uuid.UUID, cursor: Cursor | None, limit: int) -> Page:
        where = [tags.c.customer_id == customer_id, tags.c.tm_delete.is_(None)]
        async with self.ctx.db.read() as conn:
            found = await repo.page(conn, tags, where, cursor, limit)
        return page_of([tag_from_row(r) for r in found])

    async def update(self, customer_id: uuid.UUID, tag_id: uuid.UUID, body: Body) -> Tag:
        values: dict[str, Any] = dict(text_fields(body, _TEXT))
        async with self.ctx.db.write() as conn:
            await owned(conn, tags, customer_id, tag_id, NOT_FOUND, "tag")
            values["tm_update"] = self.ctx.now_us()
            row = await repo.update(conn, tags, tag_id, values)
        if row is None:
            raise NotFound(f"tag {tag_id} not found", reason=NOT_FOUND)
        return tag_from_row(row)

    async def delete(self, customer_id: uuid.UUID, tag_id: uuid.UUID) -> Tag:
        async with self.ctx.db.write() as conn:
            row = await owned(conn, tags, customer_id, tag_id, NOT_FOUND, "tag")
            row = await repo.soft_delete(conn, tags, row, self.ctx.now_us())
        return tag_from_row(row)
