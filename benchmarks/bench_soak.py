"""Soak: a long steady run with webhooks on, watching for leaks (issue 16, item 5).

    python -m benchmarks.bench_soak --seconds 600 --rate 200

One `outdial engine --telephony sim` process (webhook delivery in the same process, to the
receiver of bench_events that answers each POST after 50 ms) dials one campaign paced at
`--rate` attempts/s (`calls_per_second`) on a scratch PostgreSQL database; each call rings
100 ms and plays one 200 ms action. Every `--sample` seconds the engine's own `GET /metrics`
gives its resident memory, open file descriptors and asyncio tasks (and the database the
attempts finished and webhooks delivered). After `--warmup` seconds the samples are fitted with
a least-squares line and the slopes printed per minute: flat is what a run without leaks shows.
Figures: docs/benchmarks.md."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from benchmarks.bench_events import ADMIN, LOOPBACK, OUTDIAL, _receiver
from benchmarks.common import add_targets, drop_database, finished, scratch_database
from outdial.clock import SystemClock
from outdial.domain.netpolicy import NetworkPolicy
from outdial.services.container import Services
from outdial.storage.db import Database
from outdial.storage.tables import webhook_deliveries
from outdial.storage.timeconv import to_us

METRICS = re.compile(rb"metrics on (http://127\.0\.0\.1:[0-9]+/metrics)")
WATCHED = {
    "rss_mib": ("process_resident_memory_bytes", 1 / 2**20),
    "fds": ("process_open_fds", 1.0),
    "tasks": ("outdial_engine_asyncio_tasks", 1.0),
}


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (t, value) per second (0 for fewer than two points)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (v - mv) for t, v in points) / den if den else 0.0


def scrape(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, (name, scale) in WATCHED.items():
        found = re.search(rf"^{name} ([0-9.e+]+)$", text, re.M)
        if found:
            out[key] = float(found.group(1)) * scale
    return out


def _start_engine(url: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [OUTDIAL, "engine", "--database-url", url, "--telephony", "sim",
             "--sim-ring-ms", "100", "--allow-private-networks", LOOPBACK,
             "--metrics-bind", "127.0.0.1:0", "--heartbeat", "1"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _metrics_url(log: Path) -> str:
    found = METRICS.search(log.read_bytes())
    return found.group(1).decode() if found else ""


def _tail(log: Path) -> str:
    return log.read_text()[-2000:]


def _remove(log: Path) -> None:
    log.unlink(missing_ok=True)


async def delivered(db: Database) -> int:
    async with db.read() as conn:
        stmt = sa.select(sa.func.count()).select_from(webhook_deliveries)
        return int((await conn.execute(stmt.where(webhook_deliveries.c.ok))).scalar() or 0)


async def soak(seconds: float, rate: int, sample: float, warmup: float, hook: str) -> None:
    url = await scratch_database(ADMIN)
    db = Database(url)
    log = Path(tempfile.mkstemp(prefix="soak-engine-", suffix=".log")[1])
    proc = None
    try:
        services = Services.build(db, SystemClock(), network=NetworkPolicy.from_text(LOOPBACK))
        me = (await services.customers.create("soak")).id
        plan = await services.outplans.create(
            me, {"dial_timeout": 30000, "try_interval": 0, "max_try_count_0": 1}
        )
        outdial = await services.outdials.create(me, {"name": "soak"})
        targets = int(rate * seconds * 1.2) + 100
        await add_targets(db, outdial.id, targets, to_us(services.ctx.now()))
        campaign = await services.campaigns.create(
            me,
            {
                "outplan_id": str(plan.id),
                "outdial_id": str(outdial.id),
                "calls_per_second": rate,
                "max_concurrent_calls": max(100, rate * 2),
                "actions": [{"type": "talk", "option": {"text": "hello"}}],
            },
        )
        await services.events.set_webhook(None, me, {"webhook_uri": hook})
        await services.campaigns.set_status(me, campaign.id, {"status": "run"})
        proc = _start_engine(url, log)
        start = time.monotonic()
        metrics_url = ""
        while not metrics_url:
            metrics_url = _metrics_url(log)
            if not metrics_url and (proc.poll() is not None or time.monotonic() - start > 60):
                raise RuntimeError(f"engine did not start: {_tail(log)}")
            await asyncio.sleep(0.1)
        series: dict[str, list[tuple[float, float]]] = {k: [] for k in WATCHED}
        first: dict[str, float] = {}
        done0 = sent0 = 0
        t_first = 0.0
        async with httpx.AsyncClient(timeout=10) as http:
            while (now := time.monotonic() - start) < seconds:
                await asyncio.sleep(sample)
                now = time.monotonic() - start
                values = scrape((await http.get(metrics_url)).text)
                if now < warmup:
                    continue
                if not first:
                    first, t_first = values, now
                    done0, sent0 = await finished(db), await delivered(db)
                for key, value in values.items():
                    series[key].append((now, value))
        done1, sent1 = await finished(db), await delivered(db)
        took = max(1e-9, (time.monotonic() - start) - t_first)
        print(
            f"soak {seconds:g} s at {rate}/s (measured after {warmup:g} s, "
            f"{len(series['rss_mib'])} samples): {(done1 - done0) / took:,.1f} attempts/s, "
            f"{(sent1 - sent0) / took:,.1f} webhooks/s",
            flush=True,
        )
        for key in WATCHED:
            points = series[key]
            if not points:
                continue
            print(
                f"{key.replace('_mib', '')} slope {slope(points) * 60:+.3f} "
                f"{'MiB' if key == 'rss_mib' else ''}/min "
                f"(first {points[0][1]:,.1f}, last {points[-1][1]:,.1f}, "
                f"max {max(v for _, v in points):,.1f})",
                flush=True,
            )
        if proc.poll() is not None:
            raise RuntimeError(f"engine exited: {_tail(log)}")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(60)
        await db.dispose()
        await drop_database(ADMIN, url)
        _remove(log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--sample", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=60.0)
    args = parser.parse_args()
    port = multiprocessing.Value("i", 0)
    receiver = multiprocessing.Process(target=_receiver, args=(port,), daemon=True)
    receiver.start()
    while port.value == 0:  # type: ignore[attr-defined]
        time.sleep(0.01)
    hook = f"http://127.0.0.1:{port.value}/hook"  # type: ignore[attr-defined]
    try:
        asyncio.run(soak(args.seconds, args.rate, args.sample, args.warmup, hook))
    finally:
        receiver.terminate()


if __name__ == "__main__":
    main()
