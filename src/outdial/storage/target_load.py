"""Loading many target rows at once (targets_bulk, `outdial targets import`), fast.

Rows are first put in a staging table that has no index (cheap per row: COPY on PostgreSQL,
one prepared INSERT on SQLite), then moved into `outdial_targets` in large batches by one
`INSERT ... SELECT ... ORDER BY id`. In id order, the batch fills the table's three indexes
(all of which end in `id` for rows of one load) almost sequentially rather than at random
places; and that statement runs inside the database (the server process, or SQLite with
Python's GIL released), so the caller goes on parsing the next rows meanwhile, keeping them
in memory until the move is done. Nothing here commits: all of it is in the caller's
transaction, and the staging table is emptied as rows leave it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.storage.tables import outdial_targets

COLUMNS = tuple(c.name for c in outdial_targets.c)
BATCH = 50_000  # rows moved at once: enough for near-sequential index filling
_record = itemgetter(*COLUMNS)
_UUID_AT = tuple(n for n, c in enumerate(COLUMNS) if c in ("id", "outdial_id"))
_STAGE = "outdial_targets_load"
_COLS = ",".join(COLUMNS)
_MOVE_HEAD = f"INSERT INTO outdial_targets ({_COLS}) SELECT {_COLS} FROM {_STAGE}"
_MOVE = f"{_MOVE_HEAD} ORDER BY id"
_SQLITE_STAGE = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} AS SELECT {_COLS} FROM outdial_targets WHERE 0"
)
_SQLITE_FILL = f"INSERT INTO {_STAGE} ({_COLS}) VALUES ({','.join('?' * len(COLUMNS))})"
_SQLITE_EMPTY = f"DELETE FROM {_STAGE}"
_PG_STAGE = f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (LIKE outdial_targets INCLUDING DEFAULTS)"
_PG_EMPTY = f"TRUNCATE {_STAGE}"


async def bulk_insert(conn: AsyncConnection, values: Sequence[dict[str, Any]]) -> None:
    """Insert many validated target rows (dicts with every column) in the caller's
    transaction. A statement must already have run in it (so that PostgreSQL's COPY
    joins the transaction instead of running on its own)."""
    writer = ChunkWriter(conn)
    await writer.write(values)
    await writer.close()


class ChunkWriter:
    """Takes chunks of rows and loads them in batches of `batch`, one batch moving in the
    background at a time. `close()` writes the rest and must end every use."""

    def __init__(self, conn: AsyncConnection, *, batch: int | None = None) -> None:
        self.conn = conn
        self.batch = batch or BATCH
        self.written = 0
        self._pg = conn.dialect.name == "postgresql"
        self._ready = False
        self._buffer: list[tuple[Any, ...]] = []
        self._staged = 0
        self._moving: asyncio.Task[int] | None = None

    async def write(self, values: Sequence[dict[str, Any]]) -> None:
        if self._pg:
            self._buffer.extend(_pg_record(v) for v in values)
        else:
            self._buffer.extend(_sqlite_record(v) for v in values)
        if self._moving is not None and not self._moving.done():
            if len(self._buffer) < self.batch:
                return  # keep parsing while the database moves the last batch
        await self._settle()
        await self._stage()
        if self._staged >= self.batch:
            self._start_move()

    async def close(self) -> None:
        """Write everything still buffered or staged, and wait until it is in the table."""
        await self._settle()
        await self._stage()
        if self._staged:
            self._start_move()
        await self._settle()

    async def abandon(self) -> None:
        """Stop without writing more (the caller rolls back); waits for a move in flight."""
        self._buffer = []
        task, self._moving = self._moving, None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def _settle(self) -> None:
        """Wait for the move in flight, if any (raising its error)."""
        task, self._moving = self._moving, None
        if task is not None:
            self.written += await task

    async def _stage(self) -> None:
        rows, self._buffer = self._buffer, []
        if not rows:
            return
        if not self._ready:
            await self.conn.exec_driver_sql(_PG_STAGE if self._pg else _SQLITE_STAGE)
            await self.conn.exec_driver_sql(_PG_EMPTY if self._pg else _SQLITE_EMPTY)
            self._ready = True
        if self._pg:
            raw = await self.conn.get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.copy_records_to_table(_STAGE, records=rows, columns=COLUMNS)
        else:
            await self.conn.exec_driver_sql(_SQLITE_FILL, rows)
        self._staged += len(rows)

    def _start_move(self) -> None:
        rows, self._staged = self._staged, 0
        self._moving = asyncio.ensure_future(self._move(rows))

    async def _move(self, rows: int) -> int:
        await self.conn.exec_driver_sql(_MOVE)
        await self.conn.exec_driver_sql(_PG_EMPTY if self._pg else _SQLITE_EMPTY)
        return rows


def _pg_record(values: dict[str, Any]) -> tuple[Any, ...]:
    """The row in COLUMNS order; a column the dict lacks (added later) is NULL."""
    try:
        return _record(values)  # type: ignore[no-any-return]
    except KeyError:
        return tuple(values.get(c) for c in COLUMNS)


def _sqlite_record(values: dict[str, Any]) -> tuple[Any, ...]:
    row = list(_pg_record(values))
    for n in _UUID_AT:  # SQLite keeps UUIDs as 32 hex digits (SQLAlchemy's Uuid type)
        row[n] = row[n].hex
    return tuple(row)


# SQLite, a large load beside other writers (issue 16 item 4): SQLite has one writer at a
# time, and a million rows moved in one transaction would hold the file's write lock for tens of
# seconds, stalling every other process (an `outdial serve` dialing a campaign) behind it. So
# the rows are first staged in the TEMP table (no lock on the database file: TEMP is the
# connection's own), then moved in slices, each its own short transaction.


class SqliteStage:
    """Stages rows in the TEMP table only (the importer's writer for SQLite): `write` and
    `close` as ChunkWriter's, `written` counts the rows staged. Nothing here takes the
    database file's write lock; `move_staged` then moves them."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.written = 0

    async def open(self) -> None:
        """Make the (empty) staging table."""
        await self.conn.exec_driver_sql(_SQLITE_STAGE)
        await self.conn.exec_driver_sql(_SQLITE_EMPTY)

    async def write(self, values: Sequence[dict[str, Any]]) -> None:
        if not values:
            return
        await self.conn.exec_driver_sql(_SQLITE_FILL, [_sqlite_record(v) for v in values])
        self.written += len(values)

    async def close(self) -> None:
        return None

    async def abandon(self) -> None:
        return None


async def move_staged(conn: AsyncConnection, after: int, limit: int) -> tuple[int, int]:
    """Move the next `limit` staged rows (by staging order: rowid above `after`) into
    `outdial_targets`, in id order, in the caller's transaction. Returns (rows moved, the
    last rowid moved), (0, after) when none are left."""
    last = (
        await conn.exec_driver_sql(
            f"SELECT max(rowid) FROM (SELECT rowid FROM {_STAGE} WHERE rowid > ? "
            "ORDER BY rowid LIMIT ?)",
            (after, limit),
        )
    ).scalar()
    if last is None:
        return 0, after
    moved = await conn.exec_driver_sql(
        f"{_MOVE_HEAD} WHERE rowid > ? AND rowid <= ? ORDER BY id", (after, int(last))
    )
    return int(moved.rowcount), int(last)


async def unmove_staged(conn: AsyncConnection, upto: int) -> int:
    """Delete from `outdial_targets` the staged rows moved so far (rowid up to `upto`), in
    the caller's transaction (an import that failed half-way). Returns how many went."""
    gone = await conn.exec_driver_sql(
        f"DELETE FROM outdial_targets WHERE id IN (SELECT id FROM {_STAGE} WHERE rowid <= ?)",
        (upto,),
    )
    return int(gone.rowcount)


async def drop_staged(conn: AsyncConnection) -> None:
    await conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{_STAGE}")
