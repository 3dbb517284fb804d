"""Generic statements shared by the repositories. Nothing here commits."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.storage.pagination import Cursor, page_query

Row = sa.Row[Any]


async def insert(conn: AsyncConnection, table: sa.Table, values: Mapping[str, Any]) -> None:
    await conn.execute(table.insert().values(**values))


async def get(conn: AsyncConnection, table: sa.Table, id_: uuid.UUID) -> Row | None:
    result = await conn.execute(sa.select(table).where(table.c.id == id_))
    return result.first()


async def update(
    conn: AsyncConnection,
    table: sa.Table,
    id_: uuid.UUID,
    values: Mapping[str, Any],
    *guards: sa.ColumnElement[bool],
) -> Row | None:
    """UPDATE one row, guarded by extra conditions; None when no row matched."""
    stmt = table.update().where(table.c.id == id_, *guards).values(**values).returning(*table.c)
    result = await conn.execute(stmt)
    return result.first()


async def page(
    conn: AsyncConnection,
    table: sa.Table,
    where: list[sa.ColumnElement[bool]],
    cursor: Cursor | None,
    limit: int,
) -> Sequence[Row]:
    result = await conn.execute(page_query(table, where, cursor, limit))
    found: Sequence[Row] = result.all()
    return found


async def soft_delete(conn: AsyncConnection, table: sa.Table, row: Row, now_us: int) -> Row:
    """Set tm_delete (and tm_update) once; deleting again returns the row unchanged."""
    if row.tm_delete is not None:
        return row
    values = {"tm_delete": now_us, "tm_update": now_us}
    return await update(conn, table, row.id, values, table.c.tm_delete.is_(None)) or row
