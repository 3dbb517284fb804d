"""Keyset pagination on (tm_create DESC, id DESC): no skips, no repeats, flat page time.

The one pagination of every list: `newest_first` pages any select by a `tm_create` and an
`id` column (a table's, or a union's as the compliance log has), `page_query` is that for
one table, and `page_of` makes the `Page` (its cursor is the last item's key)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa

from outdial.domain.models import Page
from outdial.storage.timeconv import to_us

Cursor = tuple[datetime, uuid.UUID | None]


class Keyed(Protocol):
    """An item of a page: its creation time and id are the page's key."""

    @property
    def tm_create(self) -> datetime: ...

    @property
    def id(self) -> uuid.UUID: ...


def after(
    tm_create: sa.ColumnElement[Any], id_: sa.ColumnElement[Any], cursor: Cursor | None
) -> sa.ColumnElement[bool] | None:
    """Rows after the cursor, newest first. A cursor with an id continues after that row; a
    bare time (a VoIPBIN client's token) continues with rows created strictly before it."""
    if cursor is None:
        return None
    at, last_id = cursor
    at_us = to_us(at)
    if last_id is None:
        return tm_create < at_us
    # One row-value comparison: both planners seek the (..., tm_create, id) index with it,
    # even inside a run of rows sharing one tm_create (a bulk load's). A redundant
    # `tm_create <= at` would make SQLite seek on tm_create alone.
    return sa.tuple_(tm_create, id_) < sa.tuple_(at_us, last_id)


def newest_first(
    stmt: sa.Select[Any],
    tm_create: sa.ColumnElement[Any],
    id_: sa.ColumnElement[Any],
    cursor: Cursor | None,
    limit: int,
) -> sa.Select[Any]:
    """`stmt` limited to one page after `cursor`, newest first."""
    cond = after(tm_create, id_, cursor)
    if cond is not None:
        stmt = stmt.where(cond)
    return stmt.order_by(tm_create.desc(), id_.desc()).limit(limit)


def page_query(
    table: sa.Table,
    where: list[sa.ColumnElement[bool]],
    cursor: Cursor | None,
    limit: int,
    columns: Sequence[sa.ColumnElement[Any]] | None = None,
) -> sa.Select[Any]:
    """A page of one table's rows matching `where`. `columns`: what to select (default: the
    whole row)."""
    stmt = (sa.select(*columns) if columns is not None else sa.select(table)).where(*where)
    return newest_first(stmt, table.c.tm_create, table.c.id, cursor, limit)


def page_of(items: Sequence[Keyed]) -> Page:
    """The page of `items` (newest first); its cursor is the last item's key."""
    return Page(list(items), (items[-1].tm_create, items[-1].id) if items else None)
