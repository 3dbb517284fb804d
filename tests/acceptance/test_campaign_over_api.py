"""A whole campaign through `outdial serve` and its REST API, as a VoIPBIN client drives it."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.acceptance.server import Server, cli

NUMBERS = {
    "+15550000001": ("success", "normal"),
    "+4865550002": ("fail", "busy"),
    "+4805550003": ("fail", "noanswer"),
    "+6035550004": ("fail", "busy"),
    "+5035550005": ("fail", "failed"),
    "+4085550006": ("fail", "dialout"),
}


@pytest.mark.slow
def test_whole_campaign_over_the_api(isolated_database_url: str, tmp_path: Path) -> None:
    customer = cli("customers", "create", "--name", "acme", "--database-url", isolated_database_url)
    key = cli(
        "accesskeys",
        "create",
        "--customer-id",
        customer["id"],
        "--database-url",
        isolated_database_url,
    )["token"]
    server = Server(
        isolated_database_url, tmp_path / "serve.log", "--telephony", "sim", "--sim-ring-ms", "50"
    )
    api = httpx.Client(base_url=f"{server.url}/v1.0", params={"token": key}, timeout=10)
    try:
        plan = api.post(
            "/outplans",
            json={
                "name": "plan",
                "source": {"type": "tel", "target": "+15559876543"},
                "dial_timeout": 800,
                "try_interval": 200,
                "max_try_count_0": 2,
            },
        ).json()
        outdial = api.post("/outdials", json={"name": "list", "detail": "d", "data": "x"}).json()
        for number in NUMBERS:
            r = api.post(
                f"/outdials/{outdial['id']}/targets",
                json={"name": number, "destination_0": {"type": "tel", "target": number}},
            )
            assert r.status_code == 200, r.text
        campaign = api.post(
            "/campaigns",
            json={
                "name": "c",
                "type": "call",
                "end_handle": "stop",
                "service_level": 100,
                "outplan_id": plan["id"],
                "outdial_id": outdial["id"],
                "actions": [{"type": "talk", "option": {"text": "hi", "language": "en-US"}}],
                "calls_per_second": 50,
            },
        ).json()
        assert campaign["status"] == "stop"
        r = api.put(f"/campaigns/{campaign['id']}/status", json={"status": "run"})
        assert r.status_code == 200 and r.json()["status"] == "run", r.text
        run_at = r.json()["tm_update"]
        deadline = time.monotonic() + 60  # a wait for the end, not a bound on speed
        while time.monotonic() < deadline:
            if api.get(f"/campaigns/{campaign['id']}").json()["status"] == "stop":
                break
            time.sleep(0.2)
        assert api.get(f"/campaigns/{campaign['id']}").json()["status"] == "stop"
        targets = api.get(f"/outdials/{outdial['id']}/targets").json()["result"]
        assert {t["status"] for t in targets} == {"done"}
        calls = api.get(f"/campaigns/{campaign['id']}/campaigncalls").json()["result"]
        by_number: dict[str, list[dict]] = {}
        for call in calls:
            by_number.setdefault(call["destination"]["target"], []).append(call)
        for number, (result, reason) in NUMBERS.items():
            mine = by_number[number]
            assert {(c["result"], c["hangup_reason"]) for c in mine} == {(result, reason)}
            assert len(mine) == (1 if result == "success" else 2)
            assert sorted(c["try_count"] for c in mine) == list(range(1, len(mine) + 1))
            assert all(c["status"] == "done" and c["reference_type"] == "call" for c in mine)
        assert min(c["tm_create"] for c in calls) >= run_at  # dialing began after `run`, not before
        assert len(calls) == sum(1 if r == "success" else 2 for r, _ in NUMBERS.values())
        target = next(t for t in targets if t["name"] == "+4865550002")
        assert target["try_count_0"] == 2
        # another customer sees none of it
        other = cli(
            "customers", "create", "--name", "other", "--database-url", isolated_database_url
        )
        other_key = cli(
            "accesskeys",
            "create",
            "--customer-id",
            other["id"],
            "--database-url",
            isolated_database_url,
        )["token"]
        with httpx.Client(
            base_url=f"{server.url}/v1.0",
            headers={"Authorization": f"Bearer {other_key}"},
            timeout=10,
        ) as spy:
            assert spy.get(f"/campaigns/{campaign['id']}").status_code == 404
            assert spy.get("/campaigncalls").json()["result"] == []
    finally:
        api.close()
        assert server.stop() == 0
