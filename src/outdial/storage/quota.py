"""The per-customer target count behind the targets limit (issue 10): kept on the customer
row and changed in the same transaction as the targets, so the limit is one guarded UPDATE
and never a COUNT over millions of rows."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.storage.codec import load_json
from outdial.storage.tables import customers, outdial_targets

C = customers


async def add_targets(conn: AsyncConnection, customer_id: uuid.UUID, n: int, limit: int) -> bool:
    """Count `n` more targets; False (nothing changed) when that would pass `limit` (0: no
    limit). Callers do this last in their transaction: the row stays locked until commit."""
    if n <= 0:
        return True
    stmt = sa.update(C).where(C.c.id == customer_id).values(target_count=C.c.target_count + n)
    if limit > 0:
        stmt = stmt.where(C.c.target_count + n <= limit)
    return bool((await conn.execute(stmt)).rowcount == 1)


async def remove_targets(conn: AsyncConnection, customer_id: uuid.UUID, n: int) -> None:
    if n > 0:
        await conn.execute(
            sa.update(C)
            .where(C.c.id == customer_id)
            .values(target_count=sa.func.max(C.c.target_count - n, 0))
            if conn.dialect.name == "sqlite"
            else sa.update(C)
            .where(C.c.id == customer_id)
            .values(target_count=sa.func.greatest(C.c.target_count - n, 0))
        )


async def live_targets(conn: AsyncConnection, outdial_id: uuid.UUID) -> int:
    T = outdial_targets
    found = await conn.execute(
        sa.select(sa.func.count()).where(T.c.outdial_id == outdial_id, T.c.tm_delete.is_(None))
    )
    return int(found.scalar() or 0)


async def calling_codes(conn: AsyncConnection, customer_id: uuid.UUID) -> tuple[str, ...]:
    """The customer's allowed calling codes (empty: all)."""
    found = await conn.execute(sa.select(C.c.allowed_calling_codes).where(C.c.id == customer_id))
    return codes_of(found.scalar())


def codes_of(text: Any) -> tuple[str, ...]:
    codes = load_json(text) if text else []
    return tuple(str(c) for c in codes) if isinstance(codes, list) else ()
