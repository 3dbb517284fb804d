"""The claim with retry rules and priorities on, against today's (issue 17). A script that
measures and prints figures.

    python -m benchmarks.bench_retry --targets 1000000 --rounds 100 --limit 200
    python -m benchmarks.bench_retry --targets 1000000 --explain-only

A scratch PostgreSQL database holds two outdials of `--targets` targets each:
- "today": every target priority 0, no rule has fired (`retry_at` NULL); its campaign's outplan
  has no `retry_rules` and the default order (`oldest_attempt_first`), which is today's claim;
- "rules": priorities spread over 0-9, 20 % of the targets waiting a rule's interval
  (`retry_at` up to 2 h ahead), 10 % whose rule's wait is over (`retry_at` in the past); its
  outplan has five retry rules and `order: priority`.
Each round times one claim of `--limit` attempts on each campaign (in-process, CPU-bound
wall time, in a transaction rolled back so the tables stay as they are), the two in
alternating order; the figures are medians over the rounds and the ratio rules/today. The
EXPLAIN (ANALYZE, BUFFERS) of the claim's SELECT under each order is printed first.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from benchmarks.common import add_targets, drop_database, scratch_database
from outdial.clock import SystemClock
from outdial.domain.retry import Order
from outdial.services.container import Services
from outdial.storage import claim as claims
from outdial.storage.db import Database
from outdial.storage.tables import outdial_targets
from outdial.storage.timeconv import to_us

ADMIN = os.environ.get("OUTDIAL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
RULES = [
    {"when": {"hangup_reason": "busy"}, "interval_ms": 300_000, "max_tries": 3},
    {"when": {"hangup_reason": "noanswer"}, "interval_ms": 7_200_000},
    {"when": {"amd_result": "machine"}, "interval_ms": 86_400_000, "then": "next_destination"},
    {"when": {"hangup_reason": "failed", "sip_code": 503}, "interval_ms": 60_000},
    {"when": {"disposition": "do_not_call"}, "then": "finish"},
]
T = outdial_targets


async def _campaign(services: Services, me: Any, plan_extra: dict[str, Any]) -> Any:
    plan = await services.outplans.create(
        me,
        {
            "source": {"type": "tel", "target": "+15550000000"},
            "dial_timeout": 30000,
            "try_interval": 60000,
            "max_try_count_0": 3,
            **plan_extra,
        },
    )
    outdial = await services.outdials.create(me, {"name": "bench"})
    campaign = await services.campaigns.create(
        me,
        {
            "outplan_id": str(plan.id),
            "outdial_id": str(outdial.id),
            "calls_per_second": 100000,
            "max_concurrent_calls": 100_000,
            "actions": [],
        },
    )
    await services.campaigns.set_status(me, campaign.id, {"status": "run"})
    return campaign


async def _spread(db: Database, outdial_id: Any, now_us: int) -> None:
    """Priorities 0-9; 20 % waiting a rule's interval, 10 % whose wait is over."""
    hour = 3_600_000_000
    async with db.write() as conn:
        await conn.execute(
            sa.text(
                "UPDATE outdial_targets SET priority = floor(random() * 10)::int, "
                "retry_at = CASE WHEN random() < 0.2 "
                "THEN CAST(:now AS bigint) + (random() * 2 * :hour)::bigint "
                "WHEN random() < 0.125 THEN CAST(:now AS bigint) - (random() * :hour)::bigint "
                "END, retry_note = 'busy: next try by rule 1' WHERE outdial_id = :od"
            ),
            {"now": now_us, "hour": hour, "od": outdial_id},
        )


async def _explain(db: Database, run: Any, now_us: int) -> None:
    for order in Order:
        plan = dataclasses.replace(run.outplan, order=order)
        stmt = claims.candidates(run.campaign, plan, 200, now_us)
        sql = str(
            stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
        )
        async with db.engine.connect() as conn:
            tx = await conn.begin()
            rows = (await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql)).all()
            await tx.rollback()
        print(f"\n-- order {order.value} (rules outdial) --")
        for (line,) in rows:
            print(line)


async def _timed(db: Database, services: Services, run: Any, limit: int) -> float:
    async with db.engine.connect() as conn:
        tx = await conn.begin()
        started = time.perf_counter()
        got = await claims.claim(
            conn,
            run.campaign,
            run.outplan,
            limit=limit,
            now_us=to_us(services.ctx.now()),
            pace_step_us=0,
            lease_us=10**9,
            engine_id="bench",
        )
        took = time.perf_counter() - started
        await tx.rollback()
    assert len(got.attempts) == limit, len(got.attempts)
    return took


async def bench(targets: int, rounds: int, limit: int, explain_only: bool) -> None:
    url = await scratch_database(ADMIN)
    db = Database(url)
    try:
        services = Services.build(db, SystemClock())
        me = (await services.customers.create("bench")).id
        today = await _campaign(services, me, {})
        rules = await _campaign(services, me, {"retry_rules": RULES, "order": "priority"})
        now_us = to_us(services.ctx.now())
        for c, prefix in ((today, "+1555"), (rules, "+1556")):
            took = await add_targets(db, c.outdial_id, targets, now_us, prefix=prefix)
            print(f"loaded {targets:,} targets in {took:.1f} s", flush=True)
        await _spread(db, rules.outdial_id, now_us)
        async with db.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.exec_driver_sql("VACUUM ANALYZE outdial_targets")
        from outdial.services.dialing import DialingService

        running = await DialingService(services.ctx).campaigns.running()
        runs = {r.campaign.id: r for r in running.runnable}
        run_today, run_rules = runs[today.id], runs[rules.id]
        await _explain(db, run_rules, to_us(services.ctx.now()))
        if explain_only:
            return
        a: list[float] = []
        b: list[float] = []
        for i in range(rounds):
            pair = [(run_today, a), (run_rules, b)]
            for run, into in pair if i % 2 == 0 else reversed(pair):
                into.append(await _timed(db, services, run, limit))
        ma, mb = statistics.median(a) * 1000, statistics.median(b) * 1000
        print(
            f"\nclaim of {limit} with {targets:,} targets per outdial, {rounds} paired rounds:\n"
            f"  today (no rules, oldest_attempt_first): median {ma:.2f} ms, "
            f"min {min(a) * 1000:.2f} ms\n"
            f"  rules + priorities (order priority):     median {mb:.2f} ms, "
            f"min {min(b) * 1000:.2f} ms\n"
            f"  ratio rules/today: median {mb / ma:.3f}, min {min(b) / min(a):.3f}",
            flush=True,
        )
    finally:
        await db.dispose()
        await drop_database(ADMIN, url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--explain-only", action="store_true")
    args = parser.parse_args()
    asyncio.run(bench(args.targets, args.rounds, args.limit, args.explain_only))


if __name__ == "__main__":
    main()
