"""Engine throughput with the compliance rules on and off (issue 6).

    python -m benchmarks.bench_compliance --targets 30000 --seconds 20 --dnc 1000000 --rounds 3

Four runs, each on a fresh scratch PostgreSQL database, one `outdial engine --telephony sim
--sim-ring-ms 0` process, a campaign with no actions (claim -> answered -> ended):
  off:        no window, no DNC entries (the baseline);
  window:     a calling window that is open (08:00-08:00, every day) in each number's zone,
              numbers in six US area codes (New York, Chicago, Denver, Los Angeles, ...);
  dnc:        the customer has `--dnc` DNC entries (none of them a target's number, so every
              target is still dialed and the figures compare like with like);
  window+dnc: both.
Attempts/s are measured after a warm-up, as in benchmarks/bench_engine.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.common import (
    change,
    drop_database,
    finished_rate,
    scratch_database,
    timed_claims,
)
from outdial.clock import SystemClock
from outdial.domain.address import Address, AddressType
from outdial.domain.ids import new_id
from outdial.services.container import Services
from outdial.storage.codec import dump_address
from outdial.storage.db import Database
from outdial.storage.targets import bulk_insert
from outdial.storage.timeconv import to_us

ADMIN = os.environ.get("OUTDIAL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
OUTDIAL = str(Path(sys.executable).with_name("outdial"))
AREAS = ("212", "312", "303", "415", "617", "713")
OPEN_WINDOW = {"start": "08:00", "end": "08:00"}  # 24 hours from 08:00 local, every day


def _number(i: int) -> str:
    return f"+1{AREAS[i % len(AREAS)]}2{i // len(AREAS):06d}"


async def _targets(db: Database, outdial_id: uuid.UUID, count: int, now_us: int) -> None:
    async with db.write() as conn:
        await conn.exec_driver_sql("SELECT 1")
        chunk: list[dict[str, Any]] = []
        for i in range(count):
            chunk.append(
                {
                    "id": new_id(),
                    "outdial_id": outdial_id,
                    "name": f"t{i}",
                    "detail": "",
                    "data": "",
                    "status": "idle",
                    "destination_0": dump_address(Address(AddressType.TEL, _number(i))),
                    **{f"destination_{n}": None for n in range(1, 5)},
                    **{f"try_count_{n}": 0 for n in range(5)},
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


async def _dnc(db: Database, customer_id: uuid.UUID, count: int, now_us: int) -> float:
    """`count` entries on one list, by COPY; numbers in +1 9xx, which no target uses."""
    started = time.perf_counter()
    async with db.write() as conn:
        list_id = new_id()
        await conn.execute(
            sa.text(
                "INSERT INTO dnclists (id, customer_id, name, detail, tm_create, tm_update)"
                " VALUES (:i, :c, 'bench', '', :t, :t)"
            ),
            {"i": list_id, "c": customer_id, "t": now_us},
        )
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        step = 100_000
        for lo in range(0, count, step):
            records = [
                (new_id(), customer_id, list_id, f"+19{i:010d}", None, "", now_us, now_us, None)
                for i in range(lo, min(lo + step, count))
            ]
            await driver.copy_records_to_table(
                "dnc_entries",
                records=records,
                columns=[
                    "id",
                    "customer_id",
                    "dnclist_id",
                    "number",
                    "expire",
                    "detail",
                    "tm_create",
                    "tm_update",
                    "tm_delete",
                ],
            )
        await conn.exec_driver_sql("ANALYZE dnc_entries")
    return time.perf_counter() - started


async def _setup(db: Database, targets: int, window: bool, dnc: int, label: str) -> Any:
    services = Services.build(db, SystemClock())
    me = (await services.customers.create("bench")).id
    now = to_us(services.ctx.now())
    plan = await services.outplans.create(
        me,
        {
            "source": {"type": "tel", "target": "+15550000000"},
            "dial_timeout": 30000,
            "max_try_count_0": 1,
            **({"call_window": OPEN_WINDOW} if window else {}),
        },
    )
    outdial = await services.outdials.create(me, {"name": "bench"})
    await _targets(db, outdial.id, targets, now)
    if dnc:
        took = await _dnc(db, me, dnc, now)
        print(f"  [{label}] loaded {dnc:,} DNC entries in {took:.1f} s", flush=True)
    campaign = await services.campaigns.create(
        me,
        {
            "outplan_id": str(plan.id),
            "outdial_id": str(outdial.id),
            "calls_per_second": 100000,
            "max_concurrent_calls": 2000,
            "actions": [],
        },
    )
    await services.campaigns.set_status(me, campaign.id, {"status": "run"})
    return services, campaign


async def one_run(
    label: str, targets: int, seconds: float, warmup: float, window: bool, dnc: int
) -> float:
    url = await scratch_database(ADMIN)
    db = Database(url)
    proc: subprocess.Popen[bytes] | None = None
    try:
        await _setup(db, targets, window, dnc, label)
        proc = subprocess.Popen(  # noqa: ASYNC220 (a benchmark: the engine under test)
            [OUTDIAL, "engine", "--database-url", url, "--telephony", "sim", "--sim-ring-ms", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        rate, last, _ = await finished_rate(db, targets, seconds, warmup, time.monotonic())
        print(f"{label:>11}: {rate:,.0f} attempts/s ({last:,} done)", flush=True)
        return rate
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        await db.dispose()
        await drop_database(ADMIN, url)


async def claim_times(targets: int, dnc: int, rounds: int) -> None:
    """In-process: one claim of a batch of 200, rolled back, `rounds` times per configuration;
    less noisy than throughput on a shared machine, and it is where the rules run."""
    from outdial.services.dialing import DialingService

    for label, window, entries in (
        ("off", False, 0),
        ("window", True, 0),
        ("dnc", False, dnc),
        ("window+dnc", True, dnc),
    ):
        url = await scratch_database(ADMIN)
        db = Database(url)
        try:
            services, campaign = await _setup(db, targets, window, entries, label)
            run = next(
                r
                for r in (await DialingService(services.ctx).campaigns.running()).runnable
                if r.campaign.id == campaign.id
            )
            times = await timed_claims(db, services, run, limit=200, rounds=rounds)
            med = statistics.median(times) * 1000
            p95 = statistics.quantiles(times, n=20)[18] * 1000
            print(
                f"{label:>11}: claim of 200 median {med:.2f} ms, p95 {p95:.2f} ms "
                f"({200 / statistics.median(times):,.0f} attempts/s of claim time)",
                flush=True,
            )
        finally:
            await db.dispose()
            await drop_database(ADMIN, url)


async def main_async(targets: int, seconds: float, warmup: float, dnc: int, rounds: int) -> None:
    """Each configuration `rounds` times, in alternating order (the first run of a series
    meets colder caches); the median of each is reported."""
    configs = [("off", False, 0), ("window", True, 0), ("dnc", False, dnc)]
    configs.append(("window+dnc", True, dnc))
    rates: dict[str, list[float]] = {label: [] for label, _, _ in configs}
    for r in range(rounds):
        for label, window, entries in configs if r % 2 == 0 else configs[::-1]:
            rate = await one_run(label, targets, seconds, warmup, window, entries)
            rates[label].append(rate)
    base = statistics.median(rates["off"])
    print(f"median of {rounds} runs each ({targets:,} targets, {dnc:,} DNC entries):")
    for label, found in rates.items():
        med = statistics.median(found)
        runs = ", ".join(f"{x:,.0f}" for x in found)
        print(f"{label:>11}: {med:,.0f} attempts/s ({change(med, base)} vs off; {runs})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", type=int, default=30000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--dnc", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--claims", type=int, default=0, help="time N claims in-process instead")
    args = parser.parse_args()
    if args.claims:
        asyncio.run(claim_times(args.targets, args.dnc, args.claims))
    else:
        asyncio.run(main_async(args.targets, args.seconds, args.warmup, args.dnc, args.rounds))


if __name__ == "__main__":
    main()
