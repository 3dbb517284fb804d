"""Benchmark: in-process API latency of reading targets as the table grows.

For each database and table size: a fresh database holding one outdial with SIZE targets
(created in groups that share a tm_create, as bulk loads make them), then, through the real
app over httpx's ASGI transport (no network), the median and p95 latency of
  - GET /v1.0/outdials/{id}/targets/{target_id}   (random targets)
  - GET /v1.0/outdials/{id}/targets?page_size=100  (the first page)
  - the same list from a page token in the middle of the table (a deep page),
with every request type on every size interleaved, so that other load on the machine (and its
changes of speed) hits all figures alike.
Targets (issue 2): every median under 5 ms, and at 1,000,000 targets no slower than 1.5 times
the figure at 10,000. `--explain` also prints the plan of the deep-page query.

    python -m benchmarks.bench_api --sizes 10000,1000000 --databases sqlite,postgres

The per-key rate limit is on, at a rate the benchmark never reaches (`--rate-limit-rps`, 0: off).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from outdial.api.app import create_app
from outdial.clock import SystemClock
from outdial.domain.address import Address, AddressType
from outdial.domain.ids import new_id
from outdial.domain.limits import Limits
from outdial.services.container import Services
from outdial.storage.codec import dump_address
from outdial.storage.db import Database
from outdial.storage.migrate import upgrade
from outdial.storage.pagination import page_query
from outdial.storage.tables import outdial_targets
from outdial.storage.targets import ChunkWriter
from outdial.storage.timeconv import from_us, to_us

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

# httpx's ASGITransport tries `import sniffio` on every request; where sniffio is not
# installed, that failed import costs the client ~0.2 ms a request. Marking it absent up
# front keeps that client-side cost out of the app's figures.
try:
    import sniffio  # noqa: F401
except ImportError:
    sys.modules["sniffio"] = None  # type: ignore[assignment]
Figures = tuple[float, float, float]  # wall median, wall p95, CPU median (ms)
GROUP = 10_000  # rows per shared tm_create, like one bulk load
CHUNK = 20_000


async def fill(db: Database, outdial_id: uuid.UUID, size: int) -> None:
    start = to_us(datetime.now(UTC) - timedelta(days=1))
    async with db.write() as conn:
        await conn.execute(sa.text("SELECT 1"))
        writer = ChunkWriter(conn)
        chunk: list[dict[str, Any]] = []
        for n in range(size):
            at = start + n // GROUP * 1_000_000
            chunk.append(
                {
                    "id": new_id(),
                    "outdial_id": outdial_id,
                    "name": f"target {n}",
                    "detail": "",
                    "data": f"crm:{n}",
                    "status": "idle",
                    "destination_0": dump_address(Address(AddressType.TEL, f"+1555{n:07d}")),
                    **{f"destination_{k}": None for k in range(1, 5)},
                    **{f"try_count_{k}": 0 for k in range(5)},
                    "last_attempt_end": None,
                    "tm_create": at,
                    "tm_update": at,
                    "tm_delete": None,
                    "timezone": None,
                    "not_before": None,
                    "priority": 0,
                }
            )
            if len(chunk) == CHUNK:
                await writer.write(chunk)
                chunk = []
        await writer.write(chunk)
        await writer.close()


async def analyze(db: Database) -> None:
    if db.is_sqlite:
        async with db.write() as conn:
            await conn.exec_driver_sql("ANALYZE")
    else:  # VACUUM cannot run in a transaction block
        async with db.engine.connect() as conn:
            ac = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await ac.exec_driver_sql("VACUUM ANALYZE outdial_targets")


async def sample(db: Database, outdial_id: uuid.UUID, size: int) -> tuple[list[str], str]:
    """Random target ids, and the page token of the row in the middle of the list order."""
    t = outdial_targets
    async with db.read() as conn:
        ids = (await conn.execute(sa.select(t.c.id).order_by(sa.func.random()).limit(500))).all()
        middle = (
            await conn.execute(
                sa.select(t.c.tm_create, t.c.id)
                .where(t.c.outdial_id == outdial_id, t.c.tm_delete.is_(None))
                .order_by(t.c.tm_create.desc(), t.c.id.desc())
                .offset(size // 2)
                .limit(1)
            )
        ).one()
    at = from_us(middle.tm_create).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [str(r.id) for r in ids], f"{at}_{middle.id}"


async def explain(db: Database, outdial_id: uuid.UUID, token: str) -> str:
    at_text, _, id_text = token.partition("_")
    at = datetime.fromisoformat(at_text.replace("Z", "+00:00"))
    t = outdial_targets
    where = [t.c.outdial_id == outdial_id, t.c.tm_delete.is_(None)]
    query = page_query(t, where, (at, uuid.UUID(id_text)), 100)
    async with db.read() as conn:
        sql = str(query.compile(conn.sync_connection, compile_kwargs={"literal_binds": True}))
        prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
        rows = (await conn.exec_driver_sql(prefix + sql)).all()
    if db.is_sqlite:
        return "\n".join(f"  {r[-1]}" for r in rows)
    return "\n".join(f"  {r[0]}" for r in rows)


class Subject:
    """One database of one size, its app and a client, ready for requests."""

    def __init__(self, db: Database, client: httpx.AsyncClient, base: str, ids: list[str]):
        self.db, self.client, self.base, self.ids = db, client, base, ids
        self.deep = ""
        self.rng = random.Random(7)

    def requests(self) -> dict[str, Callable[[], Awaitable[httpx.Response]]]:
        first = {"page_size": "100"}
        deep = {"page_size": "100", "page_token": self.deep}
        return {
            "GET target": lambda: self.client.get(f"{self.base}/{self.rng.choice(self.ids)}"),
            "list first page": lambda: self.client.get(self.base, params=first),
            "list deep page": lambda: self.client.get(self.base, params=deep),
        }


async def prepare(url: str, size: int, show_plan: bool, limits: Limits) -> Subject:
    db = Database(url)
    await upgrade(db)
    services = Services.build(db, SystemClock(), limits=limits)
    customer = await services.customers.create("bench")
    _, token = await services.customers.create_accesskey(customer.id, "bench")
    outdial = await services.outdials.create(customer.id, {"name": "bench"})
    started = time.perf_counter()
    await fill(db, outdial.id, size)
    await analyze(db)
    print(f"  filled {size:,} targets in {time.perf_counter() - started:.1f} s", flush=True)
    ids, deep = await sample(db, outdial.id, size)
    if show_plan:
        print(await explain(db, outdial.id, deep))
    app = create_app(services)
    app.state.ready = True
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://bench",
        headers={"Authorization": f"Bearer {token}"},
    )
    subject = Subject(db, client, f"/v1.0/outdials/{outdial.id}/targets", ids)
    subject.deep = deep
    page = await subject.requests()["list deep page"]()
    assert len(page.json()["result"]) == 100
    return subject


async def measure(subjects: list[Subject], n: int) -> list[dict[str, Figures]]:
    """Every request type on every subject, interleaved round by round (GET on A, GET on B,
    first page on A, ...), so that whatever else runs on the machine, and the machine's own
    changes of speed, slow every figure alike and their ratios stay fair."""
    plan = [
        (k, label, call) for k, s in enumerate(subjects) for label, call in s.requests().items()
    ]
    for _, _, call in plan:  # warm up
        for _ in range(20):
            (await call()).raise_for_status()
    walls: dict[tuple[int, str], list[float]] = {(k, label): [] for k, label, _ in plan}
    cpus: dict[tuple[int, str], list[float]] = {(k, label): [] for k, label, _ in plan}
    for _ in range(n):
        for k, label, call in plan:
            wall, cpu = time.perf_counter(), time.process_time()
            response = await call()
            cpus[(k, label)].append((time.process_time() - cpu) * 1000)
            walls[(k, label)].append((time.perf_counter() - wall) * 1000)
            assert response.status_code == 200, response.text
    out: list[dict[str, Figures]] = [{} for _ in subjects]
    for (k, label), ws in walls.items():
        ws.sort()
        cpu = statistics.median(cpus[(k, label)])
        out[k][label] = (statistics.median(ws), ws[int(len(ws) * 0.95) - 1], cpu)
    return out


async def pg_database(admin: str, name: str, *, drop: bool = False) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin.replace("postgresql://", "postgres://"))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if not drop:
            await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()


async def run(args: argparse.Namespace, work: Path) -> None:
    results: dict[tuple[str, int], dict[str, Figures]] = {}
    sizes = [int(s) for s in args.sizes.split(",")]
    for kind in [k.strip() for k in args.databases.split(",")]:
        names = [f"outdial_bench_{uuid.uuid4().hex[:8]}" for _ in sizes]
        subjects: list[Subject] = []
        try:
            for name, size in zip(names, sizes, strict=True):
                print(f"{kind}, {size:,} targets", flush=True)
                if kind == "sqlite":
                    url = f"sqlite:///{work / (name + '.db')}"
                else:
                    await pg_database(args.pg_admin_url, name)
                    url = f"{args.pg_admin_url.rsplit('/', 1)[0]}/{name}"
                limits = Limits(
                    requests_per_second=args.rate_limit_rps, request_burst=args.rate_limit_burst
                )
                subjects.append(await prepare(url, size, args.explain, limits))
            for size, figures in zip(sizes, await measure(subjects, args.requests), strict=True):
                results[(kind, size)] = figures
        finally:
            for subject in subjects:
                await subject.client.aclose()
                await subject.db.dispose()
            if kind == "postgres":
                for name in names:
                    await pg_database(args.pg_admin_url, name, drop=True)
    print()
    head = ("database", "targets", "request", "median ms", "p95 ms", "CPU ms", "vs first")
    print("{:<9} {:>10} {:<16} {:>9} {:>7} {:>7} {:>8}".format(*head))
    for (kind, size), figures in results.items():
        for label, (median, p95, cpu) in figures.items():
            ratio = median / results[(kind, sizes[0])][label][0]
            print(
                f"{kind:<9} {size:>10,} {label:<16} {median:>9.2f} {p95:>7.2f} {cpu:>7.2f} "
                f"{ratio:>7.2f}x"
            )
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (on {os.cpu_count()} CPUs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--requests", type=int, default=500, help="timed requests per figure")
    parser.add_argument("--explain", action="store_true", help="print the deep-page query plan")
    parser.add_argument("--pg-admin-url", default=os.environ.get("OUTDIAL_TEST_PG_URL", PG_ADMIN))
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary dir")
    # The per-key rate limit is on (issue 10): every request takes a token from its key's
    # bucket. The default rate is one the benchmark never reaches, so that the figures show
    # what the limiter costs, not 429s; 0 turns it off (to compare).
    parser.add_argument("--rate-limit-rps", type=float, default=1e9)
    parser.add_argument("--rate-limit-burst", type=int, default=1_000_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
