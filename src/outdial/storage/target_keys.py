"""The destinations of an outdial's live targets, read in one streamed statement (dedupe
`within_outdial`, issue 17): a range scan of the partial index `ix_outdial_targets_list`,
whatever the number of rows being loaded, so a million-row import against a million-target
outdial costs one pass over the table rather than a query per row."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.storage.tables import TARGET_DESTINATIONS, outdial_targets, outdials

T = outdial_targets
FETCH = 10_000


async def lock_outdial(conn: AsyncConnection, outdial_id: uuid.UUID) -> None:
    """Serialise loads that dedupe against one outdial (PostgreSQL: the outdial's row lock,
    held to the commit; SQLite has one writer already), so two concurrent imports of the
    same numbers cannot both find them new."""
    if conn.dialect.name == "postgresql":
        stmt = sa.select(outdials.c.id).where(outdials.c.id == outdial_id).with_for_update()
        await conn.execute(stmt)


async def live_destination_keys(
    conn: AsyncConnection, outdial_id: uuid.UUID, key_of: Callable[[str], str]
) -> set[str]:
    """`key_of(destination)` for every destination of the outdial's targets not deleted."""
    stmt = sa.select(*TARGET_DESTINATIONS).where(
        T.c.outdial_id == outdial_id, T.c.tm_delete.is_(None)
    )
    found: set[str] = set()
    add = found.add
    result = await conn.stream(stmt.execution_options(yield_per=FETCH))
    async for part in result.partitions(FETCH):
        for row in part:
            for text in row:
                if text is not None:
                    add(key_of(text))
    return found
