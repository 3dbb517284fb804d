"""Many rows into one table, fast: COPY on PostgreSQL, executemany on SQLite."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_rows(
    conn: AsyncConnection, table: sa.Table, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert complete rows (every column present) in the caller's transaction.

    On PostgreSQL the rows go through COPY on the same connection; a statement must already
    have run in this transaction, so that the COPY joins it rather than running on its own.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        await conn.execute(table.insert(), list(rows))
        return
    columns = [c.name for c in table.c]
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    records = [tuple(row[c] for c in columns) for row in rows]
    await driver.copy_records_to_table(table.name, records=records, columns=columns)
