"""Issue 10 through the operator interface: the network policy on `customers update` and
`targets import` (closed unless OUTDIAL_ALLOW_PRIVATE_NETWORKS opens it), calling codes and
secret rotation from the CLI, and `serve` with /metrics off the API port."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.acceptance.server import Server


def cli(*args: str, private: str | None = None) -> tuple[int, Any]:
    env = {k: v for k, v in os.environ.items() if k != "OUTDIAL_ALLOW_PRIVATE_NETWORKS"}
    if private is not None:
        env["OUTDIAL_ALLOW_PRIVATE_NETWORKS"] = private
    done = subprocess.run(
        [sys.executable, "-m", "outdial", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    return done.returncode, json.loads(done.stdout.splitlines()[-1])


# The CLI and `outdial serve` flags on one database: the services under them run on both in
# tests/api (docs/testing.md, one database where it does not matter).
def test_customers_update_and_rotation(sqlite_database_url: str) -> None:
    url = sqlite_database_url
    _, customer = cli("customers", "create", "--name", "acme", "--database-url", url)
    me = ["--id", customer["id"], "--database-url", url]
    rc, out = cli("customers", "update", *me, "--webhook-uri", "http://127.0.0.1:9/hook")
    assert rc == 2 and out["error"]["reason"] == "INVALID_URI", out  # closed by default
    rc, out = cli(
        "customers", "update", *me, "--webhook-uri", "http://127.0.0.1:9/hook",
        "--allowed-calling-codes", "1, 44", private="127.0.0.0/8",
    )  # fmt: skip
    assert rc == 0, out
    assert len(out["webhook_secret"]) == 64 and out["allowed_calling_codes"] == ["1", "44"]
    rc, again = cli("customers", "update", *me, "--webhook-method", "PUT")
    assert rc == 0 and "webhook_secret" not in again and again["webhook_method"] == "PUT"
    rc, rotated = cli("customers", "rotate-webhook-secret", *me)
    assert rc == 0 and rotated["webhook_secret"] not in ("", out["webhook_secret"])


def test_import_refuses_inside_sip_hosts_unless_opened(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    url = sqlite_database_url
    _, customer = cli("customers", "create", "--name", "acme", "--database-url", url)
    _, key = cli("accesskeys", "create", "--customer-id", customer["id"], "--database-url", url)
    server = Server(url, tmp_path / "serve.log", "--no-engine")
    try:
        api = httpx.Client(base_url=f"{server.url}/v1.0", params={"token": key["token"]})
        outdial = api.post("/outdials", json={"name": "l"}).json()
        api.close()
    finally:
        assert server.stop() == 0
    rows = tmp_path / "t.csv"
    rows.write_text("name,destination_0\na,tel:+15550001\nb,sip:bob@127.0.0.1:5070\n")
    args = ["targets", "import", str(rows), "--outdial-id", outdial["id"], "--no-progress"]
    rc, out = cli(*args, "--database-url", url)
    assert rc == 2 and out["error"]["errors"] == [
        "line 3: destination_0.target host 127.0.0.1 is a loopback address"
    ]
    rc, out = cli(*args, "--database-url", url, private="127.0.0.0/8")
    assert rc == 0 and out["imported"] == 2


METRICS_AT = re.compile(r"metrics on (http://127\.0\.0\.1:[0-9]+/metrics)")


def test_serve_moves_metrics_off_the_api_port(sqlite_database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    server = Server(sqlite_database_url, log, "--no-engine", "--metrics-bind", "127.0.0.1:0")
    try:
        assert httpx.get(f"{server.url}/metrics").status_code == 404
        [metrics_url] = METRICS_AT.findall(log.read_text())  # port 0: the log names the port
        moved = httpx.get(metrics_url)
        assert moved.status_code == 200 and "outdial_api_request_seconds" in moved.text
    finally:
        assert server.stop() == 0
    server = Server(sqlite_database_url, tmp_path / "off.log", "--no-engine", "--no-api-metrics")
    try:
        assert httpx.get(f"{server.url}/metrics").status_code == 404
        assert httpx.get(f"{server.url}/health").status_code == 200
    finally:
        assert server.stop() == 0
