"""Dialer throughput with webhooks off and on (issue 5). A script that measures and prints.

    python benchmarks/bench_events.py --targets 20000 --seconds 20 --repeat 2

Like bench_engine's throughput: one `outdial engine --telephony sim --sim-ring-ms 0` process on
a scratch PostgreSQL database, a campaign with no actions, attempts finished per second after
a warm-up. Events are always written (the outbox is part of every transaction); "webhooks on"
also points the customer's webhook at a receiver on 127.0.0.1 that answers each POST after
50 ms, so the engine process's webhook worker delivers while it dials. The delivery backlog
at the end is printed too."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.bench_engine import _campaign, _done
from benchmarks.common import drop_database, scratch_database
from outdial.clock import SystemClock
from outdial.services.container import Services
from outdial.storage.db import Database
from outdial.storage.tables import events, webhook_deliveries

ADMIN = os.environ.get("OUTDIAL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
OUTDIAL = str(Path(sys.executable).with_name("outdial"))


class _Slow(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        time.sleep(0.05)
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class _Receiver(ThreadingHTTPServer):
    request_queue_size = 1024  # the default 5 resets concurrent connections
    daemon_threads = True


async def run(
    targets: int, seconds: float, warmup: float, hook: str | None, separate: bool = False
) -> float:
    url = await scratch_database(ADMIN)
    db = Database(url)
    proc = None
    worker = None
    try:
        campaign, _ = await _campaign(db, targets, run=False)
        services = Services.build(db, SystemClock())
        me, cid = campaign.customer_id, campaign.id  # type: ignore[attr-defined]
        if hook:
            await services.events.set_webhook(None, me, {"webhook_uri": hook})
        await services.campaigns.set_status(me, cid, {"status": "run"})
        engine = [OUTDIAL, "engine", "--database-url", url, "--telephony", "sim"]
        engine += ["--sim-ring-ms", "0"] + (["--no-webhooks"] if separate else [])
        if separate:
            worker = subprocess.Popen(  # noqa: ASYNC220 (the benchmark waits for nothing else)
                [OUTDIAL, "webhooks", "--database-url", url],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        proc = subprocess.Popen(  # noqa: ASYNC220
            engine,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        start = time.monotonic()
        await asyncio.sleep(warmup)
        first, t0 = await _done(db), time.monotonic()
        last, t1 = first, t0
        while time.monotonic() - start < seconds:
            await asyncio.sleep(1.0)
            last, t1 = await _done(db), time.monotonic()
            if last >= targets:
                break
        rate = (last - first) / (t1 - t0)
        mode = "off" if not hook else ("on, own process" if separate else "on, in the engine")
        async with db.read() as conn:
            written = (await conn.execute(sa.select(sa.func.count()).select_from(events))).scalar()
            sent = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(webhook_deliveries)
                    .where(webhook_deliveries.c.ok)
                )
            ).scalar()
            failed = (
                await conn.execute(
                    sa.select(sa.func.count(), sa.func.max(webhook_deliveries.c.error))
                    .select_from(webhook_deliveries)
                    .where(sa.not_(webhook_deliveries.c.ok))
                )
            ).one()
        print(
            f"webhooks {mode}: {rate:,.0f} attempts/s "
            f"(finished {last:,}; events written {written:,}; delivered {sent:,}; "
            f"failed attempts {failed[0]:,} {failed[1] or ''})",
            flush=True,
        )
        return rate
    finally:
        for p in (proc, worker):
            if p is not None:
                p.terminate()
                p.wait(30)
        await db.dispose()
        await drop_database(ADMIN, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--targets", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", choices=["off", "on", "apart"], default=None)
    args = parser.parse_args()
    server = _Receiver(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
    off, on, apart = [], [], []
    for _ in range(args.repeat):
        if args.only in (None, "off"):
            off.append(asyncio.run(run(args.targets, args.seconds, args.warmup, None)))
        if args.only in (None, "on"):
            on.append(asyncio.run(run(args.targets, args.seconds, args.warmup, hook)))
        if args.only in (None, "apart"):
            apart.append(asyncio.run(run(args.targets, args.seconds, args.warmup, hook, True)))
    if args.only is not None:
        server.shutdown()
        return
    a, b, c = (sum(x) / len(x) for x in (off, on, apart))
    print(
        f"mean: off {a:,.0f}/s; on in the engine {b:,.0f}/s ({b / a:.1%}); "
        f"on in its own process {c:,.0f}/s ({c / a:.1%})",
        flush=True,
    )
    server.shutdown()


if __name__ == "__main__":
    main()
