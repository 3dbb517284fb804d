"""Issue 16 item 4: `outdial targets import` of 100,000 rows into a SQLite file while `outdial
serve` runs a campaign on the same file (the scenario of benchmarks/bench_import_beside_serve.py,
which reports the timings at 1,000,000 rows). Both finish; no "database is locked" reaches the
API's clients or serve's log, no request fails; every row is imported; the campaign went on
dialing while the import ran, and finishes."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.bench_import_beside_serve import scenario

ROWS = 100_000


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_large_import_beside_a_running_campaign_on_sqlite(tmp_path: Path) -> None:
    out = scenario(ROWS, tmp_path, campaign_targets=300)
    assert out.import_rc == 0, out.import_out[-2000:]
    assert out.imported == out.stored == ROWS
    assert sum(out.statuses.values()) > 0, "the API was not asked during the import"
    assert set(out.statuses) <= {200}, out.statuses  # no 503 DATABASE_BUSY, no 500
    assert out.bodies_locked == 0 and not out.log_locked and not out.log_unhandled
    assert out.calls_after > out.calls_before, "the campaign stood still during the import"
    assert out.campaign_status == "stop"
