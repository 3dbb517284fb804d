"""Database connections. The caller owns the transaction: `async with db.write() as conn`."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from outdial.domain.errors import InvalidArgument, Unavailable

DEFAULT_URL = "sqlite:///./outdial.db"
# SQLite's page cache per connection (one connection per process). The default 2 MiB makes a
# large table's indexes spill on every bulk load; this is a ceiling, filled only as used.
SQLITE_CACHE_KIB = 64 * 1024


def driver_url(url: str) -> str:
    """Map the operator's URL (`sqlite:///PATH`, `postgresql://...`) to an async driver URL."""
    if url.startswith("sqlite+aiosqlite://") or url.startswith("postgresql+asyncpg://"):
        return url
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    raise InvalidArgument(
        f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
    )


# SQLSTATE classes of a database that went away: connection exceptions (08...), an operator or
# crash shutdown and "cannot connect now" while it starts (57P01-57P03).
_GONE_STATES = ("08", "57P", "25P03")  # 25P03: the idle-in-transaction timeout
RETRY_AFTER_S = 5


IDLE_IN_TRANSACTION_S = 10  # OUTDIAL_DATABASE_IDLE_TX_TIMEOUT (seconds) sets another


def idle_in_transaction_s() -> float:
    """The server-side limit on a session idle inside a transaction (PostgreSQL)."""
    text = os.environ.get("OUTDIAL_DATABASE_IDLE_TX_TIMEOUT", "")
    try:
        value = float(text) if text else IDLE_IN_TRANSACTION_S
    except ValueError:
        raise InvalidArgument(
            f"OUTDIAL_DATABASE_IDLE_TX_TIMEOUT must be a number of seconds, not {text!r}"
        ) from None
    if value <= 0:
        raise InvalidArgument("OUTDIAL_DATABASE_IDLE_TX_TIMEOUT must be above 0")
    return value


CONNECT_TIMEOUT_S = 5

# SQLite result codes (the low byte of an extended code) of a database that cannot take the
# change just now: SQLITE_BUSY, SQLITE_LOCKED (after the 60 s busy timeout), SQLITE_IOERR,
# SQLITE_FULL.
_SQLITE_REASONS = {5: "DATABASE_BUSY", 6: "DATABASE_BUSY", 10: "STORAGE_FULL", 13: "STORAGE_FULL"}
_MESSAGES = {
    "DATABASE_UNAVAILABLE": "the database cannot be reached",
    "DATABASE_BUSY": "the database is busy",
    "STORAGE_FULL": "the database's disk is full or failing",
}


def unavailable_reason(exc: BaseException) -> str | None:
    """Why `exc` says the database cannot serve just now (`DATABASE_UNAVAILABLE`: restart,
    failover, network; `DATABASE_BUSY`; `STORAGE_FULL`: disk full or an I/O error), or None
    for a fault of the statement or of our code."""
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated:
            return "DATABASE_UNAVAILABLE"
        exc = exc.orig if exc.orig is not None else exc
    for err in (exc, exc.__cause__):
        if err is None:
            continue
        state = getattr(err, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_GONE_STATES):
            return "DATABASE_UNAVAILABLE"
        if state == "53100":  # PostgreSQL disk_full
            return "STORAGE_FULL"
        code = getattr(err, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in _SQLITE_REASONS:
            return _SQLITE_REASONS[code & 0xFF]
        if isinstance(err, OSError | sa.exc.TimeoutError):  # refused, reset, pool timeout
            return "DATABASE_UNAVAILABLE"
        if type(err).__name__ == "ConnectionDoesNotExistError" or "connection is closed" in str(
            err
        ):
            return "DATABASE_UNAVAILABLE"
    return None


def is_unavailable(exc: BaseException) -> bool:
    return unavailable_reason(exc) is not None


def unavailable(exc: BaseException) -> Unavailable:
    reason = unavailable_reason(exc) or "DATABASE_UNAVAILABLE"
    return Unavailable(
        f"{_MESSAGES[reason]} ({type(exc).__name__}); try again shortly",
        reason=reason,
        retry_after=RETRY_AFTER_S,
    )


class Database:
    """One engine per process, built by the composition root and passed in."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        target = driver_url(url)
        self.is_sqlite = target.startswith("sqlite")
        if self.is_sqlite:
            # One connection per process: SQLite has a single writer anyway, and this keeps
            # in-process writers from tripping over each other's locks.
            self.engine: AsyncEngine = create_async_engine(
                target, pool_size=1, max_overflow=0, connect_args={"timeout": 60}
            )
            _sqlite_pragmas(self.engine)
        else:
            # Custom plans always: the claim's best plan depends on which outdial it reads (one
            # list may hold a million targets, another ten), and a generic plan cached after
            # five runs of a prepared statement can pick a scan that grows with the table.
            # A process cut off the network in the middle of a transaction would hold its row
            # locks (a campaign's row, say) until the link came back, and stall every other
            # engine and the API behind them: the server ends such a session after
            # idle_in_transaction_s() (no transaction of outdial waits that long between two
            # statements), its transaction rolls back and the locks go (docs/operations.md,
            # "A host drops off the network").
            settings = {
                "plan_cache_mode": "force_custom_plan",
                "idle_in_transaction_session_timeout": str(int(idle_in_transaction_s() * 1000)),
            }
            self.engine = create_async_engine(
                target,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=False,
                # a connect that gets no answer (the network is down) fails after
                # CONNECT_TIMEOUT_S, as Unavailable, instead of asyncpg's 60 s
                connect_args={"server_settings": settings, "timeout": CONNECT_TIMEOUT_S},
            )

    # Each block below raises the domain's `Unavailable` (API: 503 with Retry-After) when
    # the database cannot be reached, whether on connecting, in a statement or on COMMIT; the
    # transaction is then rolled back (or never began). Other errors pass unchanged.

    @asynccontextmanager
    async def write(self, *, lock: bool = True) -> AsyncIterator[AsyncConnection]:
        """A read-write transaction, committed when the block ends without error. `lock`
        False (SQLite): a deferred BEGIN, which takes the file's write lock only when it
        writes to the database file; for blocks that write TEMP tables only (an import's
        staging), so other processes go on writing meanwhile."""
        try:
            async with self.engine.connect() as conn:
                if self.is_sqlite:
                    begin = "BEGIN IMMEDIATE" if lock else "BEGIN"
                    await conn.execution_options(sqlite_begin=begin)
                async with conn.begin():
                    yield conn
        except Exception as exc:
            if is_unavailable(exc):
                raise unavailable(exc) from exc
            raise

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (rolled back at the end)."""
        try:
            async with self.engine.connect() as conn:
                if self.is_sqlite:
                    await conn.execution_options(sqlite_begin="BEGIN")
                async with conn.begin() as tx:
                    yield conn
                    await tx.rollback()
        except Exception as exc:
            if is_unavailable(exc):
                raise unavailable(exc) from exc
            raise

    @asynccontextmanager
    async def query(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads that need no common snapshot (one statement, usually):
        autocommit, which saves the BEGIN and ROLLBACK round trips of `read()`. Hot read
        paths (GET of a target, a page of a list) use it. Never write through it."""
        try:
            async with self.engine.connect() as conn:
                if self.is_sqlite:
                    # pysqlite's own AUTOCOMMIT would change the connection's isolation_level
                    # (we emit BEGIN ourselves), so only the BEGIN is left out here.
                    await conn.execution_options(sqlite_begin="")
                    yield conn
                else:
                    yield await conn.execution_options(isolation_level="AUTOCOMMIT")
        except Exception as exc:
            if is_unavailable(exc):
                raise unavailable(exc) from exc
            raise

    async def ping(self, timeout_s: float = 2.0) -> bool:
        """Whether the database answers `SELECT 1` within `timeout_s` (for `/health`). SQLite
        is a local file on the process's one connection: not probed (a busy engine holding
        that connection would make a healthy process look down)."""
        if self.is_sqlite:
            return True
        try:
            async with asyncio.timeout(timeout_s), self.query() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except (Unavailable, TimeoutError):
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    sync = engine.sync_engine

    @event.listens_for(sync, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=OFF")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cur.close()

    @event.listens_for(sync, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        begin = conn.get_execution_options().get("sqlite_begin", "BEGIN")
        if begin:  # "" (Database.query): statements run in SQLite's autocommit mode
            conn.exec_driver_sql(begin)
