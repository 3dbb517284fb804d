"""Keyset pagination on (tm_create DESC, id DESC): no skips, no repeats, flat page time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from outdial.storage.timeconv import to_us

Cursor = tuple[datetime, uuid.UUID | None]


def page_query(
    table: sa.Table,
    where: list[sa.ColumnElement[bool]],
    cursor: Cursor | None,
    limit: int,
    columns: Sequence[sa.ColumnElement[Any]] | None = None,
) -> sa.Select[Any]:
    """Newest first. A cursor with an id continues after that row; a bare time (a VoIPBIN
    client's token) continues with rows created strictly before it. `columns`: what to
    select (default: the whole row)."""
    conds = list(where)
    if cursor is not None:
        at, last_id = cursor
        at_us = to_us(at)
        if last_id is None:
            conds.append(table.c.tm_create < at_us)
        else:
            # One row-value comparison: both planners seek the (..., tm_create, id) index
            # with it, even inside a run of rows sharing one tm_create (a bulk load's).
            # A redundant `tm_create <= at` would make SQLite seek on tm_create alone.
            conds.append(sa.tuple_(table.c.tm_create, table.c.id) < sa.tuple_(at_us, last_id))
    return (
        (sa.select(*columns) if columns is not None else sa.select(table))
        .where(*conds)
        .order_by(table.c.tm_create.desc(), table.c.id.desc())
        .limit(limit)
    )
