"""Session rows of customer users (`user_sessions`) and agents (`agent_sessions`): the two
tables share one shape but for the owner's column. Runs inside the caller's transaction."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.ids import new_id
from outdial.storage import repo


async def open_session(
    conn: AsyncConnection,
    table: sa.Table,
    owner: tuple[str, uuid.UUID],
    customer_id: uuid.UUID,
    *,
    token_hash: str,
    csrf_token: str,
    now: int,
    expire: int,
) -> None:
    """Insert a session (`owner`: the owner's column and id) after sweeping the table's ended
    sessions: they are of no use, and each sign-in clears them away."""
    await conn.execute(sa.delete(table).where(table.c.tm_expire <= now))
    column, owner_id = owner
    await repo.insert(
        conn,
        table,
        {
            "id": new_id(),
            column: owner_id,
            "customer_id": customer_id,
            "token_hash": token_hash,
            "csrf_token": csrf_token,
            "tm_expire": expire,
            "tm_create": now,
            "tm_update": now,
        },
    )
