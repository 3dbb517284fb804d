"""Owned-resource lookups: another customer's resource is reported as not found."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.errors import NotFound
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
