"""One supervised process shape (supervisor.py): a side task that dies stops the process with
a clear log line and an error; a clean stop ends every task quietly."""

from __future__ import annotations

import asyncio
import logging

import pytest

from outdial.supervisor import Supervisor, TaskDied


async def _until_stopped(stop: asyncio.Event) -> None:
    await stop.wait()


async def test_a_side_task_that_raises_stops_the_process(caplog: pytest.LogCaptureFixture) -> None:
    ended: list[str] = []

    async def main(stop: asyncio.Event) -> None:
        await stop.wait()
        ended.append("main")

    async def broken(stop: asyncio.Event) -> None:
        await asyncio.sleep(0)
        raise RuntimeError("database away")

    sup = Supervisor()
    sup.start("retention", broken)
    with caplog.at_level(logging.ERROR, logger="outdial"), pytest.raises(TaskDied) as died:
        await sup.run("engine", main)
    assert ended == ["main"]  # the main task was stopped, not abandoned
    assert died.value.name == "retention"
    assert died.value.reason == "TASK_DIED"
    assert "RuntimeError('database away')" in died.value.message
    [record] = [r for r in caplog.records if "retention" in r.getMessage()]
    assert "stopping the process" in record.getMessage()
    assert record.exc_info is not None


async def test_a_task_that_returns_before_the_stop_has_died() -> None:
    async def quits(stop: asyncio.Event) -> None:
        return None

    sup = Supervisor()
    sup.start("webhooks", quits)
    with pytest.raises(TaskDied, match="returned before the process was stopped"):
        await sup.run("engine", _until_stopped)


async def test_a_clean_stop_ends_every_task_without_error() -> None:
    sup = Supervisor()
    sup.start("webhooks", _until_stopped)
    sup.start("retention", _until_stopped)
    asyncio.get_running_loop().call_soon(sup.stop.set)
    await sup.run("engine", _until_stopped)
    assert all(t.done() and not t.cancelled() for t in sup.tasks)
    assert sup.died is None
