"""Benchmark: import targets from a generated CSV file with `outdial targets import`.

Runs the real CLI as a child process on a fresh database (SQLite file and/or a new PostgreSQL
database) and prints wall time, rows per second and the child's peak RSS, read from the
kernel's accounting of that child (`os.wait4`, the same figure `resource.getrusage
(RUSAGE_CHILDREN)` reports for the largest child). Targets (issue 2): 1,000,000 rows in at
most 60 s, peak RSS under 500 MB.

    python -m benchmarks.bench_import --rows 1000000 --databases sqlite,postgres

Duplicates (issue 17): `--dedupe within_file` (or `within_outdial`) passes `--dedupe MODE
--dedupe-action skip` to the import; `--existing N` first loads N other targets into the
outdial (not timed), so that `within_outdial` checks against them.

    python -m benchmarks.bench_import --rows 1000000 --dedupe within_file
    python -m benchmarks.bench_import --rows 1000000 --existing 1000000 --dedupe within_outdial
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from outdial.clock import SystemClock
from outdial.services.container import Services
from outdial.storage.db import Database
from outdial.storage.migrate import upgrade

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def write_csv(path: Path, rows: int, first: int = 0) -> None:
    """name, detail, data and two destinations; every tenth row has a SIP fallback. Numbers
    start at `first` (files with distinct numbers for `--existing`)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["name", "detail", "data", "destination_0", "destination_1"])
        for n in range(first, first + rows):
            fallback = f"sip:u{n}@pbx.example.com:5060" if n % 10 == 0 else ""
            out.writerow([f"target {n}", "", f"crm:{n}", f"tel:+1555{n:07d}", fallback])


async def prepare(url: str) -> uuid.UUID:
    """Schema, a customer and an empty outdial; returns the outdial's id."""
    db = Database(url)
    try:
        await upgrade(db)
        services = Services.build(db, SystemClock())
        customer = await services.customers.create("bench")
        outdial = await services.outdials.create(customer.id, {"name": "bench"})
        return outdial.id
    finally:
        await db.dispose()


async def count(url: str, outdial_id: uuid.UUID) -> int:
    import sqlalchemy as sa

    from outdial.storage.tables import outdial_targets

    db = Database(url)
    try:
        stmt = sa.select(sa.func.count()).where(outdial_targets.c.outdial_id == outdial_id)
        async with db.read() as conn:
            return int((await conn.execute(stmt)).scalar_one())
    finally:
        await db.dispose()


async def pg_database(admin: str, name: str, *, drop: bool = False) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin.replace("postgresql://", "postgres://"))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if not drop:
            await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()


def run_import(
    url: str, outdial_id: uuid.UUID, csv_path: Path, dedupe: str = "none"
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "outdial",
        "targets",
        "import",
        str(csv_path),
        "--outdial-id",
        str(outdial_id),
        "--database-url",
        url,
        "--no-progress",
    ]
    if dedupe != "none":
        cmd += ["--dedupe", dedupe, "--dedupe-action", "skip"]
    started = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    out = child.stdout.read().decode() if child.stdout else ""
    err = child.stderr.read().decode() if child.stderr else ""
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"import failed ({child.returncode}): {out}\n{err}")
    return {
        "seconds": elapsed,
        "max_rss_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "result": json.loads(out),
    }


def bench(
    kind: str,
    rows: int,
    csv_path: Path,
    work: Path,
    pg_admin: str,
    dedupe: str = "none",
    existing: Path | None = None,
    existing_rows: int = 0,
) -> dict[str, Any]:
    name = f"outdial_bench_{uuid.uuid4().hex[:8]}"
    if kind == "sqlite":
        url = f"sqlite:///{work / (name + '.db')}"
    else:
        asyncio.run(pg_database(pg_admin, name))
        url = f"{pg_admin.rsplit('/', 1)[0]}/{name}"
    try:
        outdial_id = asyncio.run(prepare(url))
        if existing is not None:
            run_import(url, outdial_id, existing)
        figures = run_import(url, outdial_id, csv_path, dedupe)
        stored = asyncio.run(count(url, outdial_id))
        assert stored == rows + existing_rows, (stored, figures)
        assert rows == figures["result"]["imported"], figures
        return {"database": kind, "rows": rows, **figures}
    finally:
        if kind == "postgres":
            asyncio.run(pg_database(pg_admin, name, drop=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--pg-admin-url", default=os.environ.get("OUTDIAL_TEST_PG_URL", PG_ADMIN))
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary dir")
    parser.add_argument("--dedupe", default="none", help="none, within_file, within_outdial")
    parser.add_argument("--existing", type=int, default=0, help="targets loaded beforehand")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        csv_path = work / "targets.csv"
        started = time.perf_counter()
        write_csv(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        took = time.perf_counter() - started
        print(f"generated {args.rows:,} rows ({size_mb:.1f} MB) in {took:.1f} s")
        existing = None
        if args.existing:
            existing = work / "existing.csv"
            write_csv(existing, args.existing, first=args.rows)
            print(f"and {args.existing:,} existing targets, loaded first (not timed)")
        print(f"dedupe: {args.dedupe} (dedupe_action skip)")
        head = ("database", "rows", "seconds", "rows/s", "peak RSS", "CPU s")
        print("{:<10} {:>10} {:>8} {:>9} {:>9} {:>7}".format(*head))
        for kind in args.databases.split(","):
            r = bench(
                kind.strip(),
                args.rows,
                csv_path,
                work,
                args.pg_admin_url,
                args.dedupe,
                existing,
                args.existing,
            )
            rate = r["rows"] / r["seconds"]
            print(
                f"{r['database']:<10} {r['rows']:>10,} {r['seconds']:>8.1f} {rate:>9,.0f} "
                f"{r['max_rss_mb']:>6.0f} MB {r['cpu_seconds']:>7.1f}",
                flush=True,
            )
        print(f"load average at the end: {os.getloadavg()[0]:.2f} (on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
