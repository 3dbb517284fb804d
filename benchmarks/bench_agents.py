"""The real engine with simulated agents (issue 13): a script that prints figures.

    python -m benchmarks.bench_agents                        # 10 agents, 30 virtual minutes
    python -m benchmarks.bench_agents --agents 50 --minutes 60 --modes predictive

Unlike benchmarks/bench_pacing.py (the pacing policy alone on a discrete-event call center),
this runs the whole path: the engine's claim and pacing (`engine/desk.py`), the simulated
telephony with `sim:agent?aht=120&wrap=10` agents, the database (SQLite in a scratch file),
on a fake clock advanced `--tick` seconds at a time. The callees: 30 % of the numbers answer
after the sim's ring (8 s), the others ring to the 30 s dial timeout (number plan 408);
talk is exponential with mean 120 s, wrap-up 10 s, a callee with no agent within 2 s is
abandoned. Per mode: occupancy (talk / logged-in time), abandon rate over the run and over
the worst 30-minute window (windows starting every minute, over the run's abandons by their
answer time), connects per agent hour, calls placed, CPU seconds.

The fake clock moves in steps of `--tick` while database work runs in real time, so callees
see agents a little later than they would: figures from this script are a lower bound of
what the policy reaches (bench_pacing.py measures the policy itself).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from typing import Any

from benchmarks.stepclock import SteppingClock
from outdial.clock import FakeClock
from outdial.engine.engine import Engine, EngineConfig
from outdial.services.container import Services
from outdial.services.dialing import DialingService
from outdial.storage.db import Database
from outdial.storage.migrate import upgrade
from outdial.storage.timeconv import to_us
from outdial.telephony.sim import SimTelephony

US = 1_000_000
WINDOW_US = 30 * 60 * US


async def run_mode(
    mode: str,
    level: int,
    agents: int,
    minutes: float,
    tick: float,
    clock_kind: str = "step",
    warmup: float = 0.0,
    ring_shape: float = 0.0,
) -> str:
    path = os.path.join(tempfile.mkdtemp(prefix="outdial-agents-"), "bench.db")
    db = Database(f"sqlite:///{path}")
    await upgrade(db)
    pool = db.engine.sync_engine.pool
    clock = (
        SteppingClock(busy=lambda: pool.checkedout() > 0)  # type: ignore[attr-defined]
        if clock_kind == "step"
        else FakeClock()
    )
    s = Services.build(db, clock, sim_agents=True)
    me = (await s.customers.create("bench")).id
    tag = await s.tags.create(me, {"name": "t"})
    queue = await s.queues.create(me, {"tag_ids": [str(tag.id)], "routing_method": "longest-idle"})
    for n in range(agents):
        address = {"type": "sip", "target": "sim:agent?aht=120&wrap=10"}
        agent = await s.agents.create(me, {"name": f"a{n}", "tag_ids": [str(tag.id)],
                                           "addresses": [address]})  # fmt: skip
        await s.agents.update(me, agent.id, {"status": "available"}, part="status")
    plan = await s.outplans.create(
        me, {"source": {"type": "tel", "target": "+15550000000"}, "dial_timeout": 30000,
             "max_try_count_0": 1},
    )  # fmt: skip
    outdial = await s.outdials.create(me, {"name": "list"})
    count = int(agents * minutes * 2) + 100  # more than the team can call
    rows = [
        {"destination_0": {"type": "tel", "target": f"+1555{n:07d}" if n % 10 < 3
                           else f"+408555{n:04d}"}}
        for n in range(count)
    ]  # fmt: skip
    for first in range(0, len(rows), 5000):
        await s.targets.create_many(me, outdial.id, rows[first : first + 5000])
    campaign = await s.campaigns.create(
        me,
        {"outplan_id": str(plan.id), "outdial_id": str(outdial.id), "queue_id": str(queue.id),
         "dial_mode": mode, "service_level": level, "calls_per_second": 1000,
         "max_concurrent_calls": 100_000},
    )  # fmt: skip
    telephony = SimTelephony(clock, ring_ms=8000, action_ms=100, seed=1, ring_shape=ring_shape)
    engine = Engine(DialingService(s.ctx), telephony, clock, EngineConfig(rest_factor=0.0))
    await engine.open()
    await s.campaigns.set_status(me, campaign.id, {"status": "run"})
    start_us = to_us(clock.now())
    cpu = time.process_time()
    for _ in range(int(minutes * 60 / tick)):
        await engine.step()
        await clock.advance(tick)
        await asyncio.sleep(0)
        await engine.ledger.flush()
    end_us = to_us(clock.now())
    await s.campaigns.set_status(me, campaign.id, {"status": "stop"})
    cpu = time.process_time() - cpu
    calls: list[Any] = []
    cursor = None
    while True:
        page = await s.campaigncalls.list(me, cursor, 100, campaign_id=campaign.id)
        calls += page.items
        if page.cursor is None or len(page.items) < 100:
            break
        cursor = page.cursor
    engine.config = EngineConfig(drain_timeout_s=0.0)
    await engine.close()
    await db.dispose()
    since_us = start_us + round(warmup * 60 * US)  # figures from here (the cold start left out)
    talk_us = 0
    for c in calls:
        if c.tm_connect is not None:
            ended = min(to_us(c.tm_update), end_us) if c.status == "done" else end_us
            talk_us += max(0, ended - max(to_us(c.tm_connect), since_us))
    connected = [c for c in calls if c.tm_connect is not None and to_us(c.tm_connect) >= since_us]
    abandoned = [to_us(c.tm_create) for c in calls if c.abandoned]
    abandoned = [x for x in abandoned if x >= since_us]
    meant = sorted(
        [
            x
            for x in (to_us(c.tm_create) for c in calls if c.tm_connect is not None)
            if x >= since_us
        ]
        + abandoned
    )
    worst = 0.0
    t = since_us
    while t + WINDOW_US <= end_us:
        n = sum(1 for x in meant if t <= x < t + WINDOW_US)
        a = sum(1 for x in abandoned if t <= x < t + WINDOW_US)
        worst = max(worst, a / n if n else 0.0)
        t += 60 * US
    if end_us - since_us < WINDOW_US:  # a run shorter than a window: the run is the window
        worst = len(abandoned) / len(meant) if meant else 0.0
    logged = agents * (end_us - since_us)
    hours = (end_us - since_us) / 3600 / US
    rate = len(abandoned) / len(meant) if meant else 0.0
    name = f"power {level}" if mode == "power" else mode
    after = f", from minute {warmup:g}" if warmup else ""
    return (
        f"| {agents} agents, {minutes:g} min{after} | {name} | {talk_us / logged:.1%} "
        f"| {rate:.2%} | "
        f"{worst:.2%} | {len(connected) / agents / hours:.1f} | {len(calls):,} | {cpu:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--tick", type=float, default=0.5)
    parser.add_argument("--modes", default="progressive,power:100,power:50,predictive")
    parser.add_argument(
        "--clock",
        choices=["step", "fixed"],
        default="step",
        help="step: wake each sleeper at its deadline and let the program settle before time "
        "moves (benchmarks/stepclock.py); fixed: the old FakeClock, every --tick at once",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=0.0,
        help="leave the first MINUTES out of the figures (the cold start: every agent idle, "
        "predictive dialing progressive until 20 answers are measured)",
    )
    parser.add_argument(
        "--ring-shape",
        type=float,
        default=0.0,
        help="answered calls ring a gamma time of mean 8 s and this shape (bench_pacing: 4); "
        "0: exactly 8 s",
    )
    args = parser.parse_args()
    ring = f"gamma ring, shape {args.ring_shape:g}" if args.ring_shape > 0 else "fixed 8 s ring"
    print(f"clock: {args.clock}, engine step every {args.tick:g} s, sim telephony seed 1, {ring}")
    print(
        "| run | mode | occupancy | abandoned | worst 30 min | connects / agent h | calls | CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for item in args.modes.split(","):
        mode, _, level = item.partition(":")
        row = asyncio.run(
            run_mode(
                mode,
                int(level or 100),
                args.agents,
                args.minutes,
                args.tick,
                args.clock,
                args.warmup,
                args.ring_shape,
            )
        )
        print(row, flush=True)


if __name__ == "__main__":
    main()
