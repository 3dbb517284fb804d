"""console-ops figures, in CPU time of this process (time.process_time: the machine is shared,
so wall-clock latencies say little): what a key lookup per request costs now that there is no
per-process cache of working keys, and what a filtered page of targets costs against an
unfiltered one on a large list (the filter rides the list index, scanning until a page is
full).

    python -m benchmarks.bench_console_ops --targets 200000 --requests 2000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from benchmarks.common import add_targets, run
from outdial.api.app import create_app
from outdial.clock import SystemClock
from outdial.domain.limits import Limits
from outdial.services.container import Services
from outdial.services.customers import hash_token
from outdial.storage.db import Database
from outdial.storage.migrate import upgrade


async def cpu_per_call(n: int, call: Callable[[], Awaitable[object]]) -> float:
    """CPU microseconds per call, after 50 warm-up calls."""
    for _ in range(50):
        await call()
    started = time.process_time()
    for _ in range(n):
        await call()
    return (time.process_time() - started) / n * 1e6


async def main_async(targets: int, n: int, url: str) -> None:
    db = Database(url)
    await upgrade(db)
    limits = Limits(requests_per_second=1e9, request_burst=1e9)  # measure, do not throttle
    services = Services.build(db, SystemClock(), limits=limits)
    customer = await services.customers.create("bench")
    _, token = await services.customers.create_accesskey(customer.id, "bench")
    outdial = await services.outdials.create(customer.id, {"name": "bench"})
    took = await add_targets(db, outdial.id, targets, services.ctx.now_us())
    print(f"  {targets:,} targets written in {took:.1f} s", flush=True)
    digest = hash_token(token)
    app = create_app(services)
    app.state.ready = True
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench", headers=headers
    ) as client:
        path = f"/v1.0/outdials/{outdial.id}/targets"

        async def get(params: dict[str, str]) -> int:
            response = await client.get(path, params={"page_size": "100", **params})
            response.raise_for_status()
            return len(response.json()["result"])

        def page(params: dict[str, str]) -> Callable[[], Awaitable[object]]:
            return lambda: get(params)

        async def lookup() -> object:
            return await services.customers.identify(digest)

        async def keys() -> object:
            return await client.get("/v1.0/accesskeys")

        rows: list[tuple[str, Callable[[], Awaitable[object]], int]] = [
            ("key lookup (identify): one indexed query", lookup, n),
            ("GET /accesskeys (auth + a page of 1 key)", keys, n),
        ]
        for params in (
            {},
            {"status": "idle"},
            {"status": "done"},
            {"q": "5550000123"},
            {"q": "t1999"},
        ):
            found = await get(params)
            label = "targets page " + ("&".join(f"{k}={v}" for k, v in params.items()) or "(none)")
            scans = found < 100  # fewer than a page: the scan went through the whole list
            count = max(5, n // 100) if scans else n
            rows.append(
                (
                    f"{label}: {found} rows{' (whole list scanned)' if scans else ''}",
                    page(params),
                    count,
                )
            )
        print("| what | CPU per call (us) |")
        print("|---|---|")
        for label, call, count in rows:
            print(f"| {label} | {await cpu_per_call(count, call):,.0f} (n={count}) |", flush=True)
    await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--targets", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        run(main_async(args.targets, args.requests, url))


if __name__ == "__main__":
    main()
