"""Engine throughput and claim latency (issue 3). A script that measures and prints figures.

    python -m benchmarks.bench_engine throughput --engines 1 --targets 30000 --seconds 20
    python -m benchmarks.bench_engine throughput --engines 2 --targets 30000 --seconds 20
    python -m benchmarks.bench_engine claim --sizes 10000 1000000
    python -m benchmarks.bench_engine empty-claim --sizes 200000 1000000
    python -m benchmarks.bench_engine undialable-claim --sizes 10000 1000000

Throughput: engines run as `outdial engine --telephony sim --sim-ring-ms 0` processes against a
scratch PostgreSQL database; the simulated far end answers at once and the campaign has no
actions, so every attempt is claim -> answered -> ended. Claim latency: one `claim` of one
attempt, timed in-process inside a transaction that is rolled back (the table stays as it is).
Empty claim: the same, with every target asleep (`not_before` an hour ahead, as a closed
calling window leaves them), so the claim finds nothing and walks the whole idle index.
Undialable claim: claims of up to 200 over a list whose outplan was changed to
`max_try_count_0: 0` after the targets were loaded: each claim makes 200 targets done with
their `no_dialable_destination` skips (issue 19).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from benchmarks.common import (
    add_targets,
    drop_database,
    finished_rate,
    scratch_database,
    timed_claims,
)
from outdial.clock import SystemClock
from outdial.services.container import Services
from outdial.storage.db import Database
from outdial.storage.timeconv import to_us

ADMIN = os.environ.get("OUTDIAL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
OUTDIAL = str(Path(sys.executable).with_name("outdial"))


async def _campaign(db: Database, targets: int, *, run: bool = True) -> tuple[object, object]:
    services = Services.build(db, SystemClock())
    me = (await services.customers.create("bench")).id
    plan = await services.outplans.create(
        me,
        {
            "source": {"type": "tel", "target": "+15550000000"},
            "dial_timeout": 30000,
            "try_interval": 0,
            "max_try_count_0": 1,
        },
    )
    outdial = await services.outdials.create(me, {"name": "bench"})
    took = await add_targets(db, outdial.id, targets, to_us(services.ctx.now()))
    print(f"  loaded {targets:,} targets in {took:.1f} s", flush=True)
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
    if run:
        await services.campaigns.set_status(me, campaign.id, {"status": "run"})
    return campaign, plan


async def throughput(engines: int, targets: int, seconds: float, warmup: float) -> float:
    url = await scratch_database(ADMIN)
    db = Database(url)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        await _campaign(db, targets)
        cpu0 = os.times()
        for _ in range(engines):
            procs.append(
                subprocess.Popen(  # noqa: ASYNC220 (started once, before measuring)
                    [
                        OUTDIAL,
                        "engine",
                        "--database-url",
                        url,
                        "--telephony",
                        "sim",
                        "--sim-ring-ms",
                        "0",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        start = time.monotonic()
        rate, last, took = await finished_rate(db, targets, seconds, warmup, start)
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
        cpu1 = os.times()
        cpu = (cpu1.children_user + cpu1.children_system) - (
            cpu0.children_user + cpu0.children_system
        )
        print(
            f"engines={engines} targets={targets:,}: {rate:,.0f} attempts/s "
            f"(finished {last:,} in {took:.1f} s; engine CPU {cpu:.1f} s)",
            flush=True,
        )
        return rate
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        await db.dispose()
        await drop_database(ADMIN, url)


async def claim_latency(sizes: list[int], rounds: int, *, mode: str = "claim") -> None:
    """Claims of one attempt per size; `empty-claim`: claims of up to 200 over a list whose
    targets all sleep for an hour (a closed calling window), which find nothing;
    `undialable-claim`: claims of up to 200 that each make 200 targets done (no destination
    left to dial)."""
    asleep, undialable = mode == "empty-claim", mode == "undialable-claim"
    url = await scratch_database(ADMIN)
    db = Database(url)
    try:
        services = Services.build(db, SystemClock())
        for size in sizes:
            campaign, plan = await _campaign(db, size)
            if asleep:
                await _put_to_sleep(db, campaign.outdial_id, services)  # type: ignore[attr-defined]
            if undialable:
                await _disable(db, plan.id)  # type: ignore[attr-defined]
            run = next(r for r in await _running(services) if r.campaign.id == campaign.id)
            limit, expect = (200, 0) if asleep or undialable else (1, None)
            times = await timed_claims(
                db,
                services,
                run,
                limit=limit,
                rounds=rounds,
                expect=expect,
                finished=200 if undialable else 0,
            )
            med = statistics.median(times) * 1000
            p95 = statistics.quantiles(times, n=20)[18] * 1000 if rounds >= 2 else med
            what = {
                "claim": "claim with {:,} targets in the table",
                "empty-claim": "empty claim with {:,} targets asleep",
                "undialable-claim": "claim making 200 of {:,} undialable targets done",
            }[mode]
            print(
                f"{what.format(size)}: median {med:.2f} ms, p95 {p95:.2f} ms ({rounds} claims)",
                flush=True,
            )
            await services.campaigns.set_status(
                run.campaign.customer_id, run.campaign.id, {"status": "stop"}
            )
    finally:
        await db.dispose()
        await drop_database(ADMIN, url)


async def _put_to_sleep(db: Database, outdial_id: object, services: Services) -> None:
    from outdial.storage.tables import outdial_targets

    later = to_us(services.ctx.now()) + 3600 * 1_000_000
    async with db.write() as conn:
        await conn.execute(
            sa.update(outdial_targets)
            .where(outdial_targets.c.outdial_id == outdial_id)
            .values(not_before=later)
        )
    async with db.engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.exec_driver_sql("VACUUM ANALYZE outdial_targets")


async def _disable(db: Database, plan_id: object) -> None:
    """The outplan changed after the targets were loaded: destination 0 disabled."""
    from outdial.storage.tables import outplans

    async with db.write() as conn:
        await conn.execute(
            sa.update(outplans).where(outplans.c.id == plan_id).values(max_try_count_0=0)
        )


async def _running(services: Services) -> list:
    from outdial.services.dialing import DialingService

    return (await DialingService(services.ctx).campaigns.running()).runnable


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--engines", type=int, default=1)
    t.add_argument("--targets", type=int, default=30000)
    t.add_argument("--seconds", type=float, default=20)
    t.add_argument("--warmup", type=float, default=3)
    c = sub.add_parser("claim")
    c.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    c.add_argument("--rounds", type=int, default=300)
    e = sub.add_parser("empty-claim")
    e.add_argument("--sizes", type=int, nargs="+", default=[200_000, 1_000_000])
    e.add_argument("--rounds", type=int, default=10)
    u = sub.add_parser("undialable-claim")
    u.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    u.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    if args.what == "throughput":
        asyncio.run(throughput(args.engines, args.targets, args.seconds, args.warmup))
    else:
        asyncio.run(claim_latency(args.sizes, args.rounds, mode=args.what))


if __name__ == "__main__":
    main()
