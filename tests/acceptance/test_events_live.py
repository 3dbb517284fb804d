"""Issue 5 end to end through `outdial serve`: the SSE stream with Last-Event-ID resume,
webhooks to a receiver on 127.0.0.1, /metrics, and JSON log lines with the ids."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from outdial.signatures import verify
from tests.acceptance.server import Server, cli


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _read_sse(
    client: httpx.Client, headers: dict[str, str], until: str, limit_s: float = 30
) -> list[dict[str, Any]]:
    """Read events until one of type `until` (or the time limit); then hang up."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + limit_s
    with client.stream("GET", "/events", headers=headers, timeout=limit_s) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        current: dict[str, str] = {}
        for line in r.iter_lines():
            if line.startswith(("id:", "event:", "data:")):
                key, _, value = line.partition(":")
                current[key] = value.strip()
            elif line == "" and "data" in current:
                event = json.loads(current["data"])
                assert str(event["id"]) == current["id"] and event["type"] == current["event"]
                seen.append(event)
                current = {}
                if event["type"] == until or time.monotonic() > deadline:
                    break
    return seen


@pytest.mark.slow
def test_events_stream_webhooks_metrics_and_json_logs(
    isolated_database_url: str, tmp_path: Path
) -> None:
    url = isolated_database_url
    customer = cli("customers", "create", "--name", "acme", "--database-url", url)
    key = cli("accesskeys", "create", "--customer-id", customer["id"], "--database-url", url)
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{hook.server_address[1]}/hook"
    updated = cli(
        "customers", "update", "--id", customer["id"], "--webhook-uri", hook_url,
        "--webhook-method", "POST", "--database-url", url,
    )  # fmt: skip
    secret = updated["webhook_secret"]
    log = tmp_path / "serve.log"
    server = Server(url, log, "--telephony", "sim", "--sim-ring-ms", "50", "--log-format", "json")
    api = httpx.Client(base_url=f"{server.url}/v1.0", params={"token": key["token"]}, timeout=10)
    try:
        plan = api.post(
            "/outplans",
            json={
                "source": {"type": "tel", "target": "+15559876543"},
                "dial_timeout": 800,
                "max_try_count_0": 1,
            },
        ).json()
        outdial = api.post("/outdials", json={"name": "list"}).json()
        for number in ("+15550000001", "+4865550002", "+15550000003"):
            r = api.post(
                f"/outdials/{outdial['id']}/targets",
                json={"destination_0": {"type": "tel", "target": number}},
            )
            assert r.status_code == 200, r.text
        campaign = api.post(
            "/campaigns",
            json={"name": "c", "outplan_id": plan["id"], "outdial_id": outdial["id"]},
        ).json()
        assert api.put(f"/campaigns/{campaign['id']}/status", json={"status": "run"}).is_success
        seen = _read_sse(api, {"Last-Event-ID": "0"}, until="campaign_status_stop")
        types = [e["type"] for e in seen]
        assert types[0] == "outplan_created" and types[-1] == "campaign_status_stop"
        assert types.count("campaigncall_created") == 3
        ids = [e["id"] for e in seen]
        assert ids == sorted(ids)
        # Resume: the stream goes on right after the event named in Last-Event-ID.
        resumed = _read_sse(api, {"Last-Event-ID": str(ids[2])}, until="campaign_status_stop")
        assert [e["id"] for e in resumed] == ids[3:]

        stats = api.get(f"/campaigns/{campaign['id']}/stats").json()
        assert stats["targets_by_status"]["done"] == 3 and stats["answer_rate"] > 0.6

        deadline = time.monotonic() + 15
        while len(_Hook.received) < len(seen) and time.monotonic() < deadline:
            time.sleep(0.1)
        bodies = [json.loads(body) for _, body in _Hook.received]
        assert sorted(b["id"] for b in bodies) == ids  # every event, once
        per_resource: dict[str, list[int]] = {}
        for b in bodies:
            per_resource.setdefault(b["data"]["id"], []).append(b["id"])
        assert all(got == sorted(got) for got in per_resource.values())  # in order per resource
        for headers, body in _Hook.received:
            verify(headers["x-outdial-signature"], body, secret)  # t=...,v1=... over t.body

        metrics = httpx.get(f"{server.url}/metrics").text
        assert "outdial_attempts_started_total 3.0" in metrics
        assert 'outdial_attempts_finished_total{hangup_reason="busy",result="fail"} 1.0' in metrics
    finally:
        api.close()
        assert server.stop() == 0
        hook.shutdown()
        hook.server_close()
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    ended = [x for x in lines if x["message"].startswith("attempt ended")]
    assert len(ended) == 3
    assert all(
        x["campaign_id"] == campaign["id"] and x["target_id"] and x["campaigncall_id"]
        for x in ended
    )
