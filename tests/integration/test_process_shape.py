"""Every long-running process runs under the supervisor (runtime._process): a side task that
dies stops the process with a clear log line, and the CLI exits non-zero with the error."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from typing import Any

import pytest
import typer

from outdial import cli, runtime
from outdial.settings import Settings
from outdial.supervisor import TaskDied


class _BrokenPruner:
    async def run(self, stop: asyncio.Event) -> None:
        raise RuntimeError("disk full")


def _broken_pruner(_: Any) -> _BrokenPruner:
    return _BrokenPruner()


async def test_a_dying_side_task_stops_the_webhooks_process(
    sqlite_database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runtime, "build_pruner", _broken_pruner)
    with caplog.at_level(logging.ERROR, logger="outdial"), pytest.raises(TaskDied) as died:
        await asyncio.wait_for(runtime.run_webhooks(Settings(database_url=sqlite_database_url)), 60)
    assert died.value.name == "retention"
    assert any("task 'retention' died" in r.getMessage() for r in caplog.records)


def test_the_cli_exits_non_zero_with_the_error(
    sqlite_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`outdial engine`'s path after its options: the process under the CLI's runner."""
    monkeypatch.setattr(runtime, "build_pruner", _broken_pruner)
    settings = Settings(database_url=sqlite_database_url)
    with pytest.raises(typer.Exit) as exited:
        cli._run(runtime.run_engine(settings, webhooks=False))
    assert exited.value.exit_code == 2
    body = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert body["error"]["status"] == "INTERNAL"
    assert body["error"]["reason"] == "TASK_DIED"
    assert "retention" in body["error"]["message"]


async def test_a_dying_side_task_stops_the_api_server(
    sqlite_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "build_pruner", _broken_pruner)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with pytest.raises(TaskDied) as died:
            settings = Settings(database_url=sqlite_database_url)
            await asyncio.wait_for(runtime.serve(settings, "127.0.0.1", 0, engine=True), 60)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert died.value.name == "retention"
