"""Target statements beyond the generic repository: reads that check the owner of the
outdial in the same statement, and (re-exported from `target_load`) the bulk insert."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.storage.pagination import Cursor, page_query
from outdial.storage.tables import outdial_targets, outdials
from outdial.storage.target_load import COLUMNS, ChunkWriter, bulk_insert

__all__ = ["COLUMNS", "WIRE_COLUMNS", "ChunkWriter", "bulk_insert", "get_owned", "page_owned"]

_t = outdial_targets


def _raw_id(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    """An id column as the driver gives it: SQLite's 32 hex digits or asyncpg's UUID, not
    converted to a uuid.UUID (2-3 us a value, twice a row) only to be printed again."""
    return sa.type_coerce(column, sa.String).label(column.name)


# The wire fields of a target, in the seed's order, plus nothing else: what the list's read
# model (`wire/target_read_model.py`) renders straight to JSON.
WIRE_COLUMNS: tuple[sa.ColumnElement[Any], ...] = (
    _raw_id(_t.c.id),
    _raw_id(_t.c.outdial_id),
    _t.c.name,
    _t.c.detail,
    _t.c.data,
    _t.c.status,
    *(_t.c[f"destination_{n}"] for n in range(5)),
    *(_t.c[f"try_count_{n}"] for n in range(5)),
    _t.c.tm_create,
    _t.c.tm_update,
    _t.c.tm_delete,
    _t.c.timezone,
    _t.c.priority,
)


def _owned_by(outdial_id: uuid.UUID, customer_id: uuid.UUID) -> sa.ColumnElement[bool]:
    """The outdial exists and is the customer's (evaluated once per statement)."""
    return sa.exists().where(outdials.c.id == outdial_id, outdials.c.customer_id == customer_id)


async def get_owned(
    conn: AsyncConnection, customer_id: uuid.UUID, outdial_id: uuid.UUID, target_id: uuid.UUID
) -> sa.Row[Any] | None:
    """A target of the customer's outdial in one statement; None when either is not found."""
    t = outdial_targets
    stmt = sa.select(t).where(
        t.c.id == target_id, t.c.outdial_id == outdial_id, _owned_by(outdial_id, customer_id)
    )
    return (await conn.execute(stmt)).first()


async def page_owned(
    conn: AsyncConnection,
    customer_id: uuid.UUID,
    outdial_id: uuid.UUID,
    cursor: Cursor | None,
    limit: int,
    columns: Sequence[sa.ColumnElement[Any]] | None = None,
    filters: Sequence[sa.ColumnElement[bool]] = (),
) -> Sequence[sa.Row[Any]]:
    """A page of the outdial's live targets (whole rows, or `columns`) that match `filters`
    (storage/list_filters.py), empty unless the outdial is the customer's."""
    t = outdial_targets
    where = [t.c.outdial_id == outdial_id, t.c.tm_delete.is_(None), *filters]
    where.append(_owned_by(outdial_id, customer_id))
    found: Sequence[sa.Row[Any]] = (
        await conn.execute(page_query(t, where, cursor, limit, columns))
    ).all()
    return found
