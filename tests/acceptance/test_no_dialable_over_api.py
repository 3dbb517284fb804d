"""Issue 19 through `outdial serve`: a target that no destination can dial ends `done`, with
its reason in the compliance log, and the campaign stops."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.acceptance.server import Server, cli


@pytest.mark.slow
def test_target_no_slot_can_dial_is_done_over_the_api(
    isolated_database_url: str, tmp_path: Path
) -> None:
    db = ("--database-url", isolated_database_url)
    customer = cli("customers", "create", "--name", "acme", *db)
    key = cli("accesskeys", "create", "--customer-id", customer["id"], *db)["token"]
    server = Server(isolated_database_url, tmp_path / "serve.log", "--sim-ring-ms", "50")
    api = httpx.Client(base_url=f"{server.url}/v1.0", params={"token": key}, timeout=10)
    try:
        plan = api.post(
            "/outplans",
            json={
                "source": {"type": "tel", "target": "+15559876543"},
                "dial_timeout": 800,
                "max_try_count_0": 1,
                "max_try_count_1": 0,
            },
        ).json()
        outdial = api.post("/outdials", json={"name": "list"}).json()
        targets = f"/outdials/{outdial['id']}/targets"
        tel = {"type": "tel", "target": "+15550000001"}
        dialed = api.post(targets, json={"destination_0": tel}).json()["id"]
        never = api.post(targets, json={"destination_1": tel}).json()["id"]
        campaign = api.post(
            "/campaigns",
            json={
                "outplan_id": plan["id"],
                "outdial_id": outdial["id"],
                "actions": [{"type": "talk", "option": {"text": "hi"}}],
            },
        ).json()
        preview = api.get(f"/campaigns/{campaign['id']}/preview").json()
        assert preview["never"] == {"no_dialable_destination": 1}
        r = api.put(f"/campaigns/{campaign['id']}/status", json={"status": "run"})
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if api.get(f"/campaigns/{campaign['id']}").json()["status"] == "stop":
                break
            time.sleep(0.2)
        assert api.get(f"/campaigns/{campaign['id']}").json()["status"] == "stop"
        assert api.get(f"{targets}/{never}").json()["status"] == "done"
        assert api.get(f"{targets}/{dialed}").json()["status"] == "done"
        calls = api.get(f"/campaigns/{campaign['id']}/campaigncalls").json()["result"]
        assert [c["outdial_target_id"] for c in calls] == [dialed]
        log = api.get(f"/campaigns/{campaign['id']}/compliance").json()["result"]
        [skip] = [i for i in log if i["type"] == "skip"]
        assert (skip["outdial_target_id"], skip["reason"], skip["destination_index"]) == (
            never,
            "no_dialable_destination",
            1,
        )
        assert "max_try_count_1 0" in skip["detail"]
    finally:
        api.close()
        assert server.stop() == 0
