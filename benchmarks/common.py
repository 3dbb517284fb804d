"""Helpers shared by the benchmark scripts: a scratch database and bulk-made targets."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import sqlalchemy as sa

from outdial.domain.address import Address, AddressType
from outdial.domain.ids import new_id
from outdial.storage.codec import dump_address
from outdial.storage.db import Database
from outdial.storage.migrate import upgrade
from outdial.storage.tables import campaigncalls
from outdial.storage.targets import bulk_insert


async def scratch_database(admin_url: str) -> str:
    """Create an empty PostgreSQL database next to `admin_url` and return its URL."""
    import asyncpg

    name = f"outdial_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_url.replace("postgresql://", "postgres://"))
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    url = f"{admin_url.rsplit('/', 1)[0]}/{name}"
    db = Database(url)
    await upgrade(db)
    await db.dispose()
    return url


async def drop_database(admin_url: str, url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(admin_url.replace("postgresql://", "postgres://"))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await conn.close()


async def add_targets(
    db: Database, outdial_id: uuid.UUID, count: int, now_us: int, prefix: str = "+1555"
) -> float:
    """Insert `count` answering targets straight into the table; returns seconds taken."""
    started = time.perf_counter()
    chunk: list[dict[str, Any]] = []
    async with db.write() as conn:
        await conn.exec_driver_sql("SELECT 1")
        for i in range(count):
            dest = dump_address(Address(AddressType.TEL, f"{prefix}{i:09d}"))
            chunk.append(
                {
                    "id": new_id(),
                    "outdial_id": outdial_id,
                    "name": f"t{i}",
                    "detail": "",
                    "data": "",
                    "status": "idle",
                    "destination_0": dest,
                    "destination_1": None,
                    "destination_2": None,
                    "destination_3": None,
                    "destination_4": None,
                    "try_count_0": 0,
                    "try_count_1": 0,
                    "try_count_2": 0,
                    "try_count_3": 0,
                    "try_count_4": 0,
                    "last_attempt_end": None,
                    "timezone": None,
                    "not_before": None,
                    "priority": 0,
                    "retry_at": None,
                    "retry_note": None,
                    "start_destination": None,
                    "tm_create": now_us,
                    "tm_update": now_us,
                    "tm_delete": None,
                }
            )
            if len(chunk) == 20_000:
                await bulk_insert(conn, chunk)
                chunk = []
        await bulk_insert(conn, chunk)
    return time.perf_counter() - started


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def timed_claims(
    db: Database,
    services: Any,
    run: Any,
    *,
    limit: int,
    rounds: int,
    expect: int | None = None,
    finished: int = 0,
) -> list[float]:
    """Seconds each of `rounds` claims of `limit` attempts takes, each in a transaction that is
    rolled back (the table stays as it is); every claim must start `expect` attempts (default:
    all `limit`) and make `finished` targets done without an attempt."""
    from outdial.storage import claim as claims
    from outdial.storage.timeconv import to_us

    times = []
    for _ in range(rounds):
        async with db.engine.connect() as conn:
            tx = await conn.begin()
            started = time.perf_counter()
            got = await claims.claim(
                conn,
                run.campaign,
                run.outplan,
                limit=limit,
                now_us=to_us(services.ctx.now()),
                pace_step_us=10,
                lease_us=10**9,
                engine_id="bench",
            )
            times.append(time.perf_counter() - started)
            await tx.rollback()
        assert len(got.attempts) == (limit if expect is None else expect)
        assert len(got.finished) == finished
    return times


async def finished(db: Database) -> int:
    """Attempts ended so far (campaigncalls done)."""
    async with db.read() as conn:
        stmt = sa.select(sa.func.count()).select_from(campaigncalls)
        return int((await conn.execute(stmt.where(campaigncalls.c.status == "done"))).scalar() or 0)


async def finished_rate(
    db: Database, targets: int, seconds: float, warmup: float, start: float
) -> tuple[float, int, float]:
    """Attempts finished per second from `warmup` after `start` (time.monotonic) until
    `seconds` after it or until all `targets` are done, sampled each second; how many were
    done at the end; and the seconds from `start` to the last sample."""
    await asyncio.sleep(max(0.0, start + warmup - time.monotonic()))
    first, t0 = await finished(db), time.monotonic()
    last, t1 = first, t0
    while time.monotonic() - start < seconds:
        await asyncio.sleep(1.0)
        last, t1 = await finished(db), time.monotonic()
        if last >= targets:
            break
    return (last - first) / (t1 - t0), last, t1 - start


def relative(value: float, base: float) -> str:
    """`value` as a percentage of `base`; "n/a" when the base run did nothing (a tiny run)."""
    return f"{value / base:.1%}" if base else "n/a"


def change(value: float, base: float) -> str:
    """The change from `base` to `value` in percent; "n/a" when the base is zero."""
    return f"{100 * (value - base) / base:+.1f}%" if base else "n/a"
