"""Owned-resource lookups: another customer's resource is reported as not found."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.errors import InvalidArgument, NotFound
from outdial.storage import repo

Row = sa.Row[Any]


async def owned(
    conn: AsyncConnection,
    table: sa.Table,
    customer_id: uuid.UUID,
    id_: uuid.UUID,
    reason: str,
    label: str,
) -> Row:
    row = await repo.get(conn, table, id_)
    if row is None or row.customer_id != customer_id:
        raise NotFound(f"{label} {id_} not found", reason=reason)
    return row


async def referenced(
    conn: AsyncConnection, table: sa.Table, customer_id: uuid.UUID, id_: uuid.UUID, field: str
) -> Row:
    """A resource named by an id in a request body: it must be the caller's and not deleted.

    A bad reference is the body's fault (400 INVALID_REFERENCE), not a missing route target;
    another customer's resource is reported exactly like one that does not exist."""
    row = await repo.get(conn, table, id_)
    if row is None or row.customer_id != customer_id:
        raise InvalidArgument(f"{field} {id_} does not exist", reason="INVALID_REFERENCE")
    if row.tm_delete is not None:
        raise InvalidArgument(f"{field} {id_} is deleted", reason="INVALID_REFERENCE")
    return row
