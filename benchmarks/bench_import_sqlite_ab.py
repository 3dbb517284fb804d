"""Benchmark (issue 16 item 4): the SQLite import alone, staged and moved in slices (the
default) against one transaction (as before, and as on PostgreSQL), in-process, alternating.

Each round imports the same generated CSV into a fresh SQLite file once each way
(`importer.STAGE_ON_SQLITE`), and prints the wall and CPU time of each import.

    python -m benchmarks.bench_import_sqlite_ab --rows 200000 --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from benchmarks.bench_import import prepare, write_csv
from outdial.clock import SystemClock
from outdial.services import importer
from outdial.services.container import Services
from outdial.storage.db import Database


async def one(staged: bool, data: Path, workdir: Path, n: int) -> tuple[int, float, float]:
    url = f"sqlite:///{workdir}/{'staged' if staged else 'single'}-{n}.db"
    outdial_id = await prepare(url)
    importer.STAGE_ON_SQLITE = staged
    db = Database(url)
    try:
        services = Services.build(db, SystemClock())
        wall, cpu = time.perf_counter(), time.process_time()
        report = await importer.import_file(services.ctx, outdial_id, data)
        return report.imported, time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await db.dispose()


async def main(rows: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="outdial-bench-") as tmp:
        data = Path(tmp) / "targets.csv"
        write_csv(data, rows)
        n = 0
        for _ in range(rounds):
            for staged in (False, True):
                n += 1
                imported, wall, cpu = await one(staged, data, Path(tmp), n)
                how = "staged in slices" if staged else "one transaction "
                print(f"{how} rows {imported:,}: {wall:.2f} s wall, {cpu:.2f} s CPU "
                      f"(load {os.getloadavg()[0]:.2f})", flush=True)  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.rounds))
