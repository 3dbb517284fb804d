"""`outdial engine` and `outdial webhooks` serve GET /metrics on --metrics-bind."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from outdial.clock import SystemClock
from outdial.services.container import Services
from outdial.storage.db import Database
from tests.integration.test_engine_processes import OUTDIAL, make_campaign, wait_for
from tests.integration.test_import import one_json, outdial_cli

METRICS_AT = re.compile(r"metrics on (http://127\.0\.0\.1:[0-9]+/metrics)")


async def _metrics_url(log: Path, proc: subprocess.Popen[bytes]) -> str:
    """The process binds port 0 and logs the port it got: read it back from its log."""
    found: list[str] = []

    async def logged() -> bool:
        text = await asyncio.to_thread(log.read_text, errors="replace")
        assert proc.poll() is None, text[-2000:]
        found[:] = METRICS_AT.findall(text)
        return bool(found)

    await wait_for(logged, 30, "the metrics address in the log")
    return found[0]


def _metric(text: str, name: str) -> float:
    """The sum of a metric's samples (every label set) in the text format."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_engine_serves_its_metrics(isolated_database_url: str, tmp_path: Path) -> None:
    db = Database(isolated_database_url)
    services = Services.build(db, SystemClock())
    await make_campaign(services, 6)
    cmd = [OUTDIAL, "engine", "--database-url", isolated_database_url, "--telephony", "sim"]
    cmd += ["--sim-ring-ms", "50", "--metrics-bind", "127.0.0.1:0"]
    log = (tmp_path / "engine.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)  # noqa: ASYNC220
    try:
        url = await _metrics_url(tmp_path / "engine.log", proc)
        async with httpx.AsyncClient(timeout=1) as client:

            async def scrape() -> str:
                try:
                    return (await client.get(url)).text
                except httpx.HTTPError:
                    return ""

            async def finished_some() -> bool:
                return _metric(await scrape(), "outdial_attempts_finished_total") >= 3

            await wait_for(finished_some, 30, "attempts counted on the engine's /metrics")
            text = await scrape()
        assert _metric(text, "outdial_attempts_started_total") >= 3
        assert _metric(text, "outdial_claim_seconds_count") >= 1
        assert "outdial_calls_in_flight" in text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        log.close()
        await db.dispose()
    assert proc.returncode == 0, (tmp_path / "engine.log").read_text()


async def test_webhooks_process_serves_metrics(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hooks.db'}"
    assert outdial_cli("migrate", "--database-url", url).returncode == 0
    log_path = tmp_path / "webhooks.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(  # noqa: ASYNC220
            [OUTDIAL, "webhooks", "--database-url", url, "--metrics-bind", "127.0.0.1:0"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        metrics = await _metrics_url(log_path, proc)
        async with httpx.AsyncClient(timeout=5) as client:
            text = (await client.get(metrics)).text
        assert "outdial_webhook_deliveries_total" in text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0, log_path.read_text()[-2000:]


@pytest.mark.parametrize("bind", ["nonsense", "127.0.0.1:99999", "127.0.0.1:"])
def test_a_bad_metrics_bind_is_a_clear_error(tmp_path: Path, bind: str) -> None:
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    result = outdial_cli("engine", "--database-url", url, "--metrics-bind", bind)
    assert result.returncode == 2
    error = one_json(result)["error"]
    assert error["status"] == "INVALID_ARGUMENT" and "metrics-bind" in error["message"]
