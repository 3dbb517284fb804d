"""Benchmark (issue 16 item 4): `outdial targets import` of a large CSV file into a SQLite
database while `outdial serve` runs a campaign on the same file.

Starts the real `outdial serve --telephony sim` on a fresh SQLite file, runs a campaign of
`--campaign-targets` targets on it, and imports `--rows` rows into another outdial of the same
file with the real CLI meanwhile. While the import runs, a client asks the API in a loop (a
campaign read, a page of campaigncalls, and a write: an outdial created) and records each
answer's time and status. Prints the import's time, the API's p50/p99/max per kind of request
during the import, the statuses seen, how far the campaign got during the import, and whether
"database is locked" reached anyone.

    python -m benchmarks.bench_import_beside_serve --rows 1000000

tests/faults/test_sqlite_import_beside_serve.py runs the same scenario at 100,000 rows and
checks the outcome (not the timings).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

OUTDIAL = str(Path(sys.executable).with_name("outdial"))


def _cli(*args: str) -> dict[str, Any]:
    out = subprocess.run([OUTDIAL, *args], capture_output=True, text=True, timeout=120, check=True)
    return dict(json.loads(out.stdout))


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["name", "data", "destination_0"])
        for n in range(rows):
            out.writerow([f"target {n}", f"crm:{n}", f"tel:+1555{n:07d}"])


@dataclass
class Outcome:
    rows: int
    import_s: float = 0.0
    import_rc: int = -1
    import_out: str = ""
    imported: int = -1  # as the CLI reported it
    stored: int = -1  # rows of the outdial in the file afterwards
    latencies: dict[str, list[float]] = field(default_factory=dict)  # kind -> seconds
    statuses: dict[int, int] = field(default_factory=dict)
    bodies_locked: int = 0  # answers that mention "locked"
    calls_before: int = 0  # the campaign's campaigncalls when the import started
    calls_after: int = 0  # and when it ended
    campaign_status: str = ""  # at the end (after waiting for it to finish)
    log_locked: bool = False  # "database is locked" in serve's log
    log_unhandled: bool = False  # "unhandled error" (a 500) in serve's log


class _Serve:
    def __init__(self, url: str, log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [OUTDIAL, "serve", "--port", "0", "--database-url", url, "--telephony", "sim",
                 "--sim-ring-ms", "100"],
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.url = ""
        deadline = time.monotonic() + 60  # a wait for start-up, not a bound on speed
        while time.monotonic() < deadline and not self.url:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited: {log.read_text()[-2000:]}")
            text = log.read_text(errors="replace")
            marker = "outdial serving on http://127.0.0.1:"
            if marker in text:
                port = text.split(marker, 1)[1].split()[0].rstrip(".,")
                self.url = f"http://127.0.0.1:{int(port)}"
            time.sleep(0.1)
        if not self.url:
            self.stop()
            raise RuntimeError("serve did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def scenario(rows: int, workdir: Path, campaign_targets: int = 300) -> Outcome:
    db_file = workdir / "outdial.db"
    url = f"sqlite:///{db_file}"
    outcome = Outcome(rows)
    _cli("migrate", "--database-url", url)
    customer = _cli("customers", "create", "--name", "acme", "--database-url", url)
    key = _cli("accesskeys", "create", "--customer-id", customer["id"], "--database-url", url)
    data = workdir / "targets.csv"
    write_csv(data, rows)
    serve = _Serve(url, workdir / "serve.log")
    api = httpx.Client(base_url=f"{serve.url}/v1.0", params={"token": key["token"]}, timeout=120)
    try:
        plan = api.post(
            "/outplans",
            json={"source": {"type": "tel", "target": "+15559876543"}, "dial_timeout": 3000,
                  "try_interval": 500, "max_try_count_0": 1},
        ).json()  # fmt: skip
        dialed = api.post("/outdials", json={"name": "dialed"}).json()
        numbers = [f"+1666{i:07d}" for i in range(campaign_targets)]
        r = api.post(
            f"/outdials/{dialed['id']}/targets_bulk",
            json=[{"destination_0": {"type": "tel", "target": n}} for n in numbers],
        )
        r.raise_for_status()
        campaign = api.post(
            "/campaigns",
            json={"name": "c", "end_handle": "stop", "outplan_id": plan["id"],
                  "outdial_id": dialed["id"], "calls_per_second": 10,
                  "max_concurrent_calls": 20,
                  "actions": [{"type": "sleep", "option": {"duration": 500}}]},
        ).json()  # fmt: skip
        api.put(f"/campaigns/{campaign['id']}/status", json={"status": "run"}).raise_for_status()
        imported = api.post("/outdials", json={"name": "imported"}).json()

        def calls() -> int:
            page = api.get(f"/campaigns/{campaign['id']}/campaigncalls",
                           params={"page_size": 100}).json()  # fmt: skip
            total = len(page["result"])
            while page.get("next_page_token") and page["result"]:
                page = api.get(
                    f"/campaigns/{campaign['id']}/campaigncalls",
                    params={"page_size": 100, "page_token": page["next_page_token"]},
                ).json()
                total += len(page["result"])
            return total

        while calls() < 5:  # the campaign is under way
            time.sleep(0.1)
        outcome.calls_before = calls()
        began = time.perf_counter()
        child = subprocess.Popen(
            [OUTDIAL, "targets", "import", str(data), "--outdial-id", imported["id"],
             "--database-url", url, "--no-progress"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        requests = [
            ("read", "GET", f"/campaigns/{campaign['id']}", None),
            ("list", "GET", f"/campaigns/{campaign['id']}/campaigncalls", None),
            ("write", "POST", "/outdials", {"name": "during the import"}),
        ]
        n = 0
        while child.poll() is None:
            kind, method, path, body = requests[n % len(requests)]
            n += 1
            t0 = time.perf_counter()
            r = api.request(method, path, json=body)
            outcome.latencies.setdefault(kind, []).append(time.perf_counter() - t0)
            outcome.statuses[r.status_code] = outcome.statuses.get(r.status_code, 0) + 1
            if "locked" in r.text:
                outcome.bodies_locked += 1
            time.sleep(0.02)
        outcome.import_s = time.perf_counter() - began
        outcome.import_out = child.communicate()[0].decode(errors="replace")
        outcome.import_rc = child.returncode
        if child.returncode == 0:
            outcome.imported = int(json.loads(outcome.import_out.splitlines()[-1])["imported"])
        outcome.calls_after = calls()
        deadline = time.monotonic() + 300  # a wait for the campaign, not a bound on speed
        while time.monotonic() < deadline:
            outcome.campaign_status = api.get(f"/campaigns/{campaign['id']}").json()["status"]
            if outcome.campaign_status == "stop":
                break
            time.sleep(0.5)
    finally:
        api.close()
        serve.stop()
    with sqlite3.connect(db_file) as conn:
        outcome.stored = conn.execute(
            "SELECT count(*) FROM outdial_targets WHERE outdial_id = ?",
            (imported["id"].replace("-", ""),),
        ).fetchone()[0]
    log = (workdir / "serve.log").read_text(errors="replace")
    outcome.log_locked = "database is locked" in log
    outcome.log_unhandled = "unhandled error" in log
    return outcome


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--campaign-targets", type=int, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outdial-bench-") as tmp:
        out = scenario(args.rows, Path(tmp), args.campaign_targets)
    print(f"rows {out.rows:,}: import {out.import_s:.1f} s (exit {out.import_rc}, "
          f"imported {out.imported:,}, stored {out.stored:,})")  # fmt: skip
    for kind, values in out.latencies.items():
        print(f"  API {kind:5s} during the import: n={len(values)} p50 {_pct(values, 0.5):.1f} ms "
              f"p99 {_pct(values, 0.99):.1f} ms max {max(values) * 1000:.1f} ms")  # fmt: skip
    print(f"  statuses {dict(sorted(out.statuses.items()))}; 'locked' in answers: "
          f"{out.bodies_locked}; in serve's log: {out.log_locked}")  # fmt: skip
    print(f"  campaign: {out.calls_before} campaigncalls when the import began, "
          f"{out.calls_after} when it ended; finally {out.campaign_status}")  # fmt: skip
    print(f"  load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
