"""Benchmark: import targets over HTTP, `POST /v1.0/outdials/{id}/targets_import`.

Starts the real server (`outdial serve --no-engine`) as a child process on a fresh database,
generates the same CSV as benchmarks/bench_import.py, and uploads it as one streamed
`text/csv` body (1 MiB chunks). Prints the wall time of the request, rows per second, and the
server's memory: its RSS before the upload and its peak RSS (VmHWM from /proc) after, so a
flat-memory import shows a small difference however large the file; and the server's CPU
seconds for the request (all threads), a figure a loaded machine changes less than the wall
time. Target (issue 14):
1,000,000 rows in at most 30 s on PostgreSQL, memory flat.

    python -m benchmarks.bench_import_http --rows 1000000 --databases postgres,sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from benchmarks.bench_import import PG_ADMIN, count, pg_database, write_csv
from outdial.clock import SystemClock
from outdial.services.container import Services
from outdial.storage.db import Database
from outdial.storage.migrate import upgrade

CHUNK = 1024 * 1024


async def prepare(url: str) -> tuple[uuid.UUID, str]:
    """Schema, a customer with an access key and an empty outdial: (outdial id, key)."""
    db = Database(url)
    try:
        await upgrade(db)
        services = Services.build(db, SystemClock())
        customer = await services.customers.create("bench")
        _, token = await services.customers.create_accesskey(customer.id, "bench")
        outdial = await services.outdials.create(customer.id, {"name": "bench"})
        return outdial.id, token
    finally:
        await db.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def memory_kib(pid: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            yield block


def run_upload(url: str, outdial_id: uuid.UUID, token: str, csv_path: Path) -> dict[str, Any]:
    port = free_port()
    cmd = [sys.executable, "-m", "outdial", "serve", "--no-engine", "--port", str(port)]
    env = {**os.environ, "OUTDIAL_DATABASE_URL": url, "OUTDIAL_LOG_FORMAT": "text"}
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
        before = memory_kib(server.pid)
        cpu_before = cpu_seconds(server.pid)
        started = time.perf_counter()
        response = httpx.post(
            f"{base}/v1.0/outdials/{outdial_id}/targets_import",
            content=chunks(csv_path),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
            timeout=600,
        )
        elapsed = time.perf_counter() - started
        after = memory_kib(server.pid)
        cpu = cpu_seconds(server.pid) - cpu_before
        if response.status_code != 200:
            raise SystemExit(f"import failed: {response.status_code} {response.text[:2000]}")
        return {
            "seconds": elapsed,
            "rss_before_mb": before["VmRSS"] / 1024,
            "peak_rss_mb": after["VmHWM"] / 1024,
            "cpu_seconds": cpu,
            "result": response.json(),
        }
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def bench(kind: str, rows: int, csv_path: Path, work: Path, pg_admin: str) -> dict[str, Any]:
    name = f"outdial_bench_{uuid.uuid4().hex[:8]}"
    if kind == "sqlite":
        url = f"sqlite:///{work / (name + '.db')}"
    else:
        asyncio.run(pg_database(pg_admin, name))
        url = f"{pg_admin.rsplit('/', 1)[0]}/{name}"
    try:
        outdial_id, token = asyncio.run(prepare(url))
        figures = run_upload(url, outdial_id, token, csv_path)
        stored = asyncio.run(count(url, outdial_id))
        assert stored == rows == figures["result"]["imported"], (stored, figures)
        return {"database": kind, "rows": rows, **figures}
    finally:
        if kind == "postgres":
            asyncio.run(pg_database(pg_admin, name, drop=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--databases", default="postgres,sqlite")
    parser.add_argument("--pg-admin-url", default=os.environ.get("OUTDIAL_TEST_PG_URL", PG_ADMIN))
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        csv_path = work / "targets.csv"
        write_csv(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows ({size_mb:.1f} MB)")
        head = ("database", "rows", "seconds", "rows/s", "RSS before", "peak RSS", "server CPU s")
        print("{:<10} {:>10} {:>8} {:>9} {:>11} {:>9} {:>13}".format(*head))
        for kind in args.databases.split(","):
            r = bench(kind.strip(), args.rows, csv_path, work, args.pg_admin_url)
            rate = r["rows"] / r["seconds"]
            print(
                f"{r['database']:<10} {r['rows']:>10,} {r['seconds']:>8.1f} {rate:>9,.0f} "
                f"{r['rss_before_mb']:>8.0f} MB {r['peak_rss_mb']:>6.0f} MB "
                f"{r['cpu_seconds']:>13.1f}",
                flush=True,
            )
        print(f"load average at the end: {os.getloadavg()[0]:.2f} (on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
