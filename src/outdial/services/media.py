"""Uploaded media: a customer's WAV files, played by `play` actions as `media:<id>`."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.errors import NotFound
from outdial.domain.ids import new_id
from outdial.domain.media import Media, inspect_wav
from outdial.domain.models import Page
from outdial.domain.text import check_name
from outdial.services.context import Context
from outdial.storage.pagination import Cursor, page_of, page_query
from outdial.storage.tables import media
from outdial.storage.timeconv import from_us, opt_from_us

NOT_FOUND = "MEDIA_NOT_FOUND"
M = media
# Everything but the audio itself, which only the telephony reads.
COLUMNS = [c for c in M.c if c.name != "data"]


def _media(row: Any) -> Media:
    return Media(
        row.id,
        row.customer_id,
        row.name,
        row.size,
        row.duration_ms,
        row.sample_rate,
        row.channels,
        from_us(row.tm_create),
        from_us(row.tm_update),
        opt_from_us(row.tm_delete),
    )


async def missing_media(
    conn: AsyncConnection, customer_id: uuid.UUID, ids: Collection[uuid.UUID]
) -> list[uuid.UUID]:
    """Which of `ids` are not live media of the customer (for `play` references)."""
    if not ids:
        return []
    found = await conn.execute(
        sa.select(M.c.id).where(
            M.c.id.in_(list(ids)), M.c.customer_id == customer_id, M.c.tm_delete.is_(None)
        )
    )
    have = {r.id for r in found}
    return sorted((i for i in ids if i not in have), key=str)


class MediaService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def create(self, customer_id: uuid.UUID, data: bytes, name: str = "") -> Media:
        check_name(name)
        info = inspect_wav(data)
        now = self.ctx.now_us()
        media_id = new_id()
        values = {
            "id": media_id,
            "customer_id": customer_id,
            "name": name,
            "size": len(data),
            "duration_ms": info.duration_ms,
            "sample_rate": info.sample_rate,
            "channels": info.channels,
            "data": data,
            "tm_create": now,
            "tm_update": now,
            "tm_delete": None,
        }
        async with self.ctx.db.write() as conn:
            await conn.execute(M.insert().values(**values))
        return Media(
            media_id,
            customer_id,
            name,
            len(data),
            info.duration_ms,
            info.sample_rate,
            info.channels,
            from_us(now),
            from_us(now),
        )

    async def get(self, customer_id: uuid.UUID, media_id: uuid.UUID) -> Media:
        async with self.ctx.db.query() as conn:
            row = (await conn.execute(sa.select(*COLUMNS).where(M.c.id == media_id))).first()
        if row is None or row.customer_id != customer_id:
            raise NotFound(f"media {media_id} not found", reason=NOT_FOUND)
        return _media(row)

    async def list(self, customer_id: uuid.UUID, cursor: Cursor | None, limit: int) -> Page:
        where = [M.c.customer_id == customer_id, M.c.tm_delete.is_(None)]
        async with self.ctx.db.query() as conn:
            found = (await conn.execute(page_query(M, where, cursor, limit, COLUMNS))).all()
        items = [_media(r) for r in found]
        return page_of(items)

    async def content(self, customer_id: uuid.UUID, media_id: uuid.UUID) -> bytes:
        async with self.ctx.db.query() as conn:
            row = (
                await conn.execute(sa.select(M.c.customer_id, M.c.data).where(M.c.id == media_id))
            ).first()
        if row is None or row.customer_id != customer_id:
            raise NotFound(f"media {media_id} not found", reason=NOT_FOUND)
        return bytes(row.data)

    async def delete(self, customer_id: uuid.UUID, media_id: uuid.UUID) -> Media:
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            row = (await conn.execute(sa.select(*COLUMNS).where(M.c.id == media_id))).first()
            if row is None or row.customer_id != customer_id:
                raise NotFound(f"media {media_id} not found", reason=NOT_FOUND)
            if row.tm_delete is None:
                changed = await conn.execute(
                    sa.update(M)
                    .where(M.c.id == media_id, M.c.tm_delete.is_(None))
                    .values(tm_delete=now, tm_update=now)
                    .returning(*COLUMNS)
                )
                row = changed.first() or row
        return _media(row)


class MediaLoader:
    """What the telephony reads `media:<id>` audio through (telephony.base.MediaSource):
    any live media by id; the owner was checked when the action was written."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def wav(self, media_id: uuid.UUID) -> bytes:
        async with self.ctx.db.query() as conn:
            row = (
                await conn.execute(
                    sa.select(M.c.data).where(M.c.id == media_id, M.c.tm_delete.is_(None))
                )
            ).first()
        if row is None:
            raise LookupError(f"media {media_id} does not exist or is deleted")
        return bytes(row.data)
