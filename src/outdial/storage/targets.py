"""Target statements that need more than the generic repository: the bulk insert."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.storage.tables import outdial_targets

COLUMNS = tuple(c.name for c in outdial_targets.c)


async def bulk_insert(conn: AsyncConnection, values: Sequence[dict[str, Any]]) -> None:
    """Insert many validated target rows in the caller's transaction.

    PostgreSQL takes them with COPY; SQLite with one prepared statement run many times.
    The caller must have executed a statement in this transaction first (so the driver's
    transaction is open and the COPY joins it).
    """
    if not values:
        return
    if conn.dialect.name == "postgresql":
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        records = [tuple(v[c] for c in COLUMNS) for v in values]
        await driver.copy_records_to_table("outdial_targets", records=records, columns=COLUMNS)
        return
    placeholders = ",".join("?" * len(COLUMNS))
    sql = f"INSERT INTO outdial_targets ({','.join(COLUMNS)}) VALUES ({placeholders})"
    records = [
        tuple(v[c].hex if c in ("id", "outdial_id") else v[c] for c in COLUMNS) for v in values
    ]
    await conn.exec_driver_sql(sql, records)
