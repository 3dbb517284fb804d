"""Benchmarks cannot rot: each script runs at a tiny size, as docs/benchmarks.md runs it
(`python -m benchmarks.X`), and prints its figures. The figures themselves are not checked
here (speed belongs in docs/benchmarks.md); only that the script ran and printed them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import toolcheck
from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"[0-9][0-9,.]*"

# (module and arguments, a line every run prints: its figures)
RUNS = {
    "api": (
        "bench_api --sizes 300 --databases sqlite,postgres --requests 5",
        [rf"sqlite +300 GET target +{NUMBER}", rf"postgres +300 list deep page +{NUMBER}"],
    ),
    "import": (
        "bench_import --rows 300 --databases sqlite,postgres",
        [rf"sqlite +300 +{NUMBER} +{NUMBER}", rf"postgres +300 +{NUMBER} +{NUMBER}"],
    ),
    "import-http": (
        "bench_import_http --rows 300 --databases sqlite,postgres",
        [
            rf"sqlite +300 +{NUMBER} +{NUMBER} +{NUMBER} MB +{NUMBER} MB",
            rf"postgres +300 +{NUMBER}",
        ],
    ),
    "import-beside-serve": (
        "bench_import_beside_serve --rows 3000 --campaign-targets 30",
        [rf"rows 3,000: import {NUMBER} s \(exit 0, imported 3,000, stored 3,000\)"],
    ),
    "import-sqlite-ab": (
        "bench_import_sqlite_ab --rows 2000 --rounds 1",
        [
            rf"one transaction +rows 2,000: {NUMBER} s wall",
            rf"staged in slices rows 2,000: {NUMBER} s wall",
        ],
    ),
    "engine-throughput": (
        "bench_engine throughput --engines 1 --targets 200 --seconds 1 --warmup 0.5",
        [rf"engines=1 targets=200: {NUMBER} attempts/s"],
    ),
    "engine-claim": (
        "bench_engine claim --sizes 300 --rounds 5",
        [rf"claim with 300 targets in the table: median {NUMBER} ms, p95 {NUMBER} ms"],
    ),
    "engine-empty-claim": (
        "bench_engine empty-claim --sizes 300 --rounds 2",
        [rf"empty claim with 300 targets asleep: median {NUMBER} ms"],
    ),
    "retry": (
        "bench_retry --targets 300 --rounds 3",
        [
            rf"ratio rules/today: median {NUMBER}",
            r"-- order priority \(rules outdial\) --",
        ],
    ),
    "events": (
        "bench_events --targets 200 --seconds 1 --warmup 0.5 --repeat 1",
        [rf"mean: off {NUMBER}/s; on in the engine {NUMBER}/s"],
    ),
    "compliance": (
        "bench_compliance --targets 200 --seconds 1 --warmup 0.5 --dnc 1000 --rounds 1",
        [rf"off: {NUMBER} attempts/s", rf"window\+dnc: {NUMBER} attempts/s"],
    ),
    "decision": (
        "bench_decision --rounds 3",
        [
            rf"off: decisions of 200 targets: min {NUMBER} ms",
            rf"window: decisions of 200 targets: min {NUMBER} ms",
        ],
    ),
    "compliance-claims": (
        "bench_compliance --targets 200 --dnc 1000 --claims 5",
        [rf"window\+dnc: claim of 200 median {NUMBER} ms"],
    ),
    "listen-calls": (
        "bench_listen_calls --calls 3 --hold-ms 3000",
        [rf'"phase": "listen", "calls": 3, "answered": 3, .*"sent_within_5ms_pct": {NUMBER}'],
    ),
    "relay": (
        "bench_relay --calls 3 --seconds 1",
        [rf"relayed and received {NUMBER}, lost {NUMBER}", rf"within 5 ms: {NUMBER} %"],
    ),
    "soak": (
        "bench_soak --seconds 6 --rate 20 --sample 0.5 --warmup 1",
        [
            rf"soak 6 s at 20/s .*: {NUMBER} attempts/s",
            rf"rss slope [-+]{NUMBER} MiB/min",
            rf"fds slope [-+]{NUMBER} /min",
            rf"tasks slope [-+]{NUMBER} /min",
        ],
    ),
    "agents": (
        "bench_agents --agents 2 --minutes 1 --tick 1 --modes power:100",
        [rf"\| 2 agents, 1 min \| power 100 \| {NUMBER}% \| {NUMBER}% \|"],
    ),
    "sip": (
        "sip_bench --duration 1 --rate 10 --hold-ms 200 --concurrent 5 "
        "--concurrent-hold-ms 500 --ramp-rate 20",
        [r'"phase": "rate", .*"placed": 10', r'"phase": "hold", .*"calls": 5', r'"sipp-uac"'],
    ),
}


@pytest.mark.slow
@pytest.mark.serial  # the benchmarks take both cores: not beside another test (docs/testing.md)
@pytest.mark.parametrize("name", list(RUNS))
def test_benchmark_runs_and_prints_its_figures(name: str, pg_template: str) -> None:
    del pg_template  # PostgreSQL must be there (the fixture skips, or fails under CI=true)
    command, figures = RUNS[name]
    if name == "sip" and shutil.which("sipp") is None:
        (pytest.fail if toolcheck.in_ci() else pytest.skip)("sipp is not installed")
    env = {**os.environ, "OUTDIAL_TEST_PG_URL": PG_URL}
    run = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{command.split()[0]}", *command.split()[1:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, (run.stdout[-2000:], run.stderr[-3000:])
    for figure in figures:
        assert re.search(figure, run.stdout), (figure, run.stdout[-3000:])


def test_usage_lines_say_python_m() -> None:
    """Every script's usage (its docstring) and docs/benchmarks.md run it as a module."""
    scripts = sorted((ROOT / "benchmarks").glob("*bench*.py"))
    assert scripts
    docs = (ROOT / "docs" / "benchmarks.md").read_text()
    for script in scripts:
        text = script.read_text()
        name = script.stem
        assert f"python -m benchmarks.{name}" in text, f"{script.name}: no `python -m` usage"
        assert f"python benchmarks/{name}.py" not in text + docs, name
        assert f"python -m benchmarks.{name}" in docs, f"docs/benchmarks.md does not run {name}"
