"""Issue 16 item 1: PostgreSQL crashes (`pg_ctl -m immediate stop`) for 10 s in the middle of a
campaign with calls in flight, run by `outdial serve` and a second `outdial engine`, then comes
back. Meanwhile the API answers 503 UNAVAILABLE with the error envelope and Retry-After and
`/health` is not ready; afterwards everything recovers by itself, the campaign finishes, no
target was dialed twice at once, none is stuck, and every call has its campaigncall (try counts
equal calls; no call that was alive was recovered as `lost`)."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from outdial.storage.db import Database
from outdial.storage.tables import campaigncalls
from tests.acceptance.server import OUTDIAL, Server, cli
from tests.faults.pgcluster import Cluster, need_cluster
from tests.integration.invariants import check_invariants

OUTAGE_S = 10.0


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    need_cluster()
    c = Cluster()
    try:
        c.start()
        yield c
    finally:
        c.destroy()


def _wait(check: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds  # a wait for progress, not a bound on speed
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_database_goes_away_mid_campaign_and_comes_back(cluster: Cluster, tmp_path: Path) -> None:
    url = cluster.url
    cli("migrate", "--database-url", url)
    customer = cli("customers", "create", "--name", "acme", "--database-url", url)
    key = cli("accesskeys", "create", "--customer-id", customer["id"], "--database-url", url)
    timing = ["--telephony", "sim", "--sim-ring-ms", "100", "--heartbeat", "0.5",
              "--stale-after", "3"]  # fmt: skip
    server = Server(url, tmp_path / "serve.log", *timing)
    engine_log = tmp_path / "engine.log"
    with engine_log.open("ab") as out:
        engine = subprocess.Popen(
            [OUTDIAL, "engine", "--database-url", url, *timing],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    api = httpx.Client(base_url=f"{server.url}/v1.0", params={"token": key["token"]}, timeout=10)
    try:
        plan = api.post(
            "/outplans",
            json={"source": {"type": "tel", "target": "+15559876543"}, "dial_timeout": 3000,
                  "try_interval": 500, "max_try_count_0": 2},
        ).json()  # fmt: skip
        outdial = api.post("/outdials", json={"name": "list"}).json()
        numbers = [f"+1555{i:07d}" if i % 5 else f"+4865{i:06d}" for i in range(120)]
        r = api.post(
            f"/outdials/{outdial['id']}/targets_bulk",
            json=[{"destination_0": {"type": "tel", "target": n}} for n in numbers],
        )
        assert r.status_code == 200, r.text
        campaign = api.post(
            "/campaigns",
            json={"name": "c", "end_handle": "stop", "outplan_id": plan["id"],
                  "outdial_id": outdial["id"], "calls_per_second": 10,
                  "max_concurrent_calls": 30,
                  # calls of 2-6 s: some end during the outage, some outlive it
                  "actions": [{"type": "sleep", "option": {"duration": 4000}}]},
        ).json()  # fmt: skip
        r = api.put(f"/campaigns/{campaign['id']}/status", json={"status": "run"})
        assert r.status_code == 200, r.text

        def calls() -> list[dict]:
            found: list[dict] = []
            token = ""
            while True:
                page = api.get(
                    f"/campaigns/{campaign['id']}/campaigncalls",
                    params={"page_size": 100, **({"page_token": token} if token else {})},
                ).json()
                found += page["result"]
                token = page.get("next_page_token") or ""
                if not token or not page["result"]:
                    return found

        _wait(lambda: sum(c["status"] == "done" for c in calls()) >= 10, 120, "first ends")
        assert any(c["status"] != "done" for c in calls()), "no call in flight"

        cluster.crash()
        crashed = time.monotonic()
        # The API: 503 UNAVAILABLE with the envelope and Retry-After, never a 500.
        _wait(lambda: api.get("/campaigns").status_code == 503, 30, "503 from the API")
        for path in ("/campaigns", f"/campaigns/{campaign['id']}", "/outdials"):
            r = api.get(path)
            assert r.status_code == 503, (path, r.status_code, r.text)
            error = r.json()["error"]
            assert error["status"] == "UNAVAILABLE" and error["reason"] == "DATABASE_UNAVAILABLE"
            assert error["request_id"] and "Traceback" not in r.text
            assert int(r.headers["Retry-After"]) >= 1
        r = api.post("/outdials", json={"name": "during"})
        assert r.status_code == 503 and r.json()["error"]["status"] == "UNAVAILABLE"
        health = httpx.get(f"{server.url}/health", timeout=10)
        assert health.status_code == 503 and health.json()["database"] == "unreachable"
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - crashed)))
        cluster.start()

        # Back by itself: health, the API, then the whole campaign.
        _wait(lambda: httpx.get(f"{server.url}/health", timeout=10).status_code == 200, 60,
              "/health ready again")  # fmt: skip
        assert api.get(f"/campaigns/{campaign['id']}").status_code == 200
        _wait(lambda: api.get(f"/campaigns/{campaign['id']}").json()["status"] == "stop", 240,
              "the campaign to finish")  # fmt: skip
        assert engine.poll() is None and server.proc.poll() is None
    finally:
        api.close()
        engine.terminate()
        engine.wait(60)
        server.stop()

    logs = (tmp_path / "serve.log").read_text() + engine_log.read_text()
    assert "database unavailable" in logs and "database back after" in logs
    assert "unhandled error" not in logs  # no request was answered 500

    async def check() -> tuple[dict, list[str]]:
        db = Database(url)
        try:
            counts = await check_invariants(db, uuid.UUID(outdial["id"]), uuid.UUID(campaign["id"]))
            async with db.read() as conn:
                reasons = [
                    r.hangup_reason
                    for r in await conn.execute(
                        sa.select(campaigncalls.c.hangup_reason).where(
                            campaigncalls.c.campaign_id == uuid.UUID(campaign["id"])
                        )
                    )
                ]
            return counts, reasons
        finally:
            await db.dispose()

    counts, reasons = asyncio.run(check())
    assert counts["targets"] == counts["done"] == 120
    unplaced = logs.count("closed unplaced attempt")
    # a call alive through the outage is never `lost`; only a claim whose COMMIT answer was
    # lost in the crash (never placed) may be, and the engine says so
    assert reasons.count("lost") == unplaced, (reasons.count("lost"), unplaced)
    assert set(reasons) <= {"normal", "busy", "lost"}
