"""Dialer throughput with webhooks off and on (issue 5). A script that measures and prints.

    python -m benchmarks.bench_events --targets 20000 --seconds 20 --repeat 2

Like bench_engine's throughput: one `outdial engine --telephony sim --sim-ring-ms 0` process on
a scratch PostgreSQL database, a campaign with no actions, attempts finished per second after
a warm-up. Events are always written (the outbox is part of every transaction); "webhooks on"
also points the customer's webhook at a receiver on 127.0.0.1 that answers each POST after
50 ms, so the engine process's webhook worker delivers while it dials. The delivery backlog
at the end is printed too."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.bench_engine import _campaign
from benchmarks.common import drop_database, finished_rate, relative, scratch_database
from outdial.clock import SystemClock
from outdial.domain.netpolicy import NetworkPolicy
from outdial.services.container import Services
from outdial.storage.db import Database
from outdial.storage.tables import events, webhook_deliveries

LOOPBACK = "127.0.0.0/8"
ADMIN = os.environ.get("OUTDIAL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
OUTDIAL = str(Path(sys.executable).with_name("outdial"))


RECEIVER_DELAY_S = 0.05


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """HTTP/1.1 with keep-alive: read a request, wait the receiver's delay, answer 200."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            await asyncio.sleep(RECEIVER_DELAY_S)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _receiver(port: Any) -> None:
    """The webhook receiver, in its own process and event loop: every POST is answered after
    50 ms, any number at once (the standard library's threading server topped out near 100
    requests/s, which measured the receiver rather than the worker)."""

    async def serve() -> None:
        server = await asyncio.start_server(_answer, "127.0.0.1", 0, backlog=1024)
        port.value = server.sockets[0].getsockname()[1]
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


async def run(
    targets: int, seconds: float, warmup: float, hook: str | None, separate: bool = False
) -> float:
    url = await scratch_database(ADMIN)
    db = Database(url)
    proc = None
    worker = None
    try:
        campaign, _ = await _campaign(db, targets, run=False)
        # The receiver is on loopback: open it, as an operator would for an inside receiver.
        services = Services.build(db, SystemClock(), network=NetworkPolicy.from_text(LOOPBACK))
        me, cid = campaign.customer_id, campaign.id  # type: ignore[attr-defined]
        if hook:
            await services.events.set_webhook(None, me, {"webhook_uri": hook})
        await services.campaigns.set_status(me, cid, {"status": "run"})
        engine = [OUTDIAL, "engine", "--database-url", url, "--telephony", "sim"]
        engine += ["--allow-private-networks", LOOPBACK]
        engine += ["--sim-ring-ms", "0"] + (["--no-webhooks"] if separate else [])
        if separate:
            worker = subprocess.Popen(  # noqa: ASYNC220 (the benchmark waits for nothing else)
                [OUTDIAL, "webhooks", "--database-url", url, "--allow-private-networks", LOOPBACK],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        proc = subprocess.Popen(  # noqa: ASYNC220
            engine,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        start = time.monotonic()
        rate, last, took = await finished_rate(db, targets, seconds, warmup, start)
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
            f"(finished {last:,}; events written {written:,}; delivered {sent:,}, "
            f"{sent / (took):,.0f}/s; "
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
    port = multiprocessing.Value("i", 0)
    receiver = multiprocessing.Process(target=_receiver, args=(port,), daemon=True)
    receiver.start()
    while port.value == 0:  # type: ignore[attr-defined]
        time.sleep(0.01)
    hook = f"http://127.0.0.1:{port.value}/hook"  # type: ignore[attr-defined]
    off, on, apart = [], [], []
    for _ in range(args.repeat):
        if args.only in (None, "off"):
            off.append(asyncio.run(run(args.targets, args.seconds, args.warmup, None)))
        if args.only in (None, "on"):
            on.append(asyncio.run(run(args.targets, args.seconds, args.warmup, hook)))
        if args.only in (None, "apart"):
            apart.append(asyncio.run(run(args.targets, args.seconds, args.warmup, hook, True)))
    if args.only is not None:
        receiver.terminate()
        return
    a, b, c = (sum(x) / len(x) for x in (off, on, apart))
    print(
        f"mean: off {a:,.0f}/s; on in the engine {b:,.0f}/s ({relative(b, a)}); "
        f"on in its own process {c:,.0f}/s ({relative(c, a)})",
        flush=True,
    )
    receiver.terminate()


if __name__ == "__main__":
    main()
