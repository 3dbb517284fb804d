"""One supervised shape for every long-running process (serve, engine, webhooks).

A process has a stop event, one main task and side tasks (the webhook worker, the retention
pruner, the dialer beside the API). Every task runs until the stop event is set. A task that
raises, or returns while the process is not stopping, has died: the supervisor logs it once
with its name and traceback, sets the stop event so that every other task winds down, and
`run` then raises `TaskDied`, which the CLI turns into an error and a non-zero exit. This is
procrastinate's worker shape; `gather(..., return_exceptions=True)` would swallow the death
and leave a process that looks alive but delivers or prunes nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from outdial.domain.errors import ErrorStatus, OutdialError

log = logging.getLogger("outdial")

Job = Callable[[asyncio.Event], Awaitable[None]]


class TaskDied(OutdialError):
    """A task of the process died; the process stopped because of it."""

    status = ErrorStatus.INTERNAL

    def __init__(self, name: str, cause: BaseException | None) -> None:
        why = "returned before the process was stopped" if cause is None else repr(cause)
        super().__init__(f"task {name!r} died: {why}; the process stopped", reason="TASK_DIED")
        self.name = name
        self.cause = cause


class Supervisor:
    def __init__(self, stop: asyncio.Event | None = None) -> None:
        self.stop = stop or asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.died: TaskDied | None = None
        self.main: asyncio.Task[None] | None = None

    def start(self, name: str, job: Job) -> asyncio.Task[None]:
        """Run `job(stop)` as a supervised task named `name`."""
        task = asyncio.create_task(_run(job, self.stop), name=name)
        task.add_done_callback(self._ended)
        self.tasks.append(task)
        return task

    def _ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        cause = task.exception()
        if cause is None and self.stop.is_set():
            return  # a clean end, after the stop
        if self.died is None:
            self.died = TaskDied(task.get_name(), cause)
            log.error(
                "%s: stopping the process",
                self.died.message,
                exc_info=(type(cause), cause, cause.__traceback__) if cause else None,
                extra={"action": "task_died", "task": task.get_name()},
            )
        self.stop.set()

    async def run(self, name: str, main: Job) -> None:
        """Run `main(stop)` as the main task, then stop and wait for every task; raises
        `TaskDied` if any task (the main one too) died."""
        self.main = self.start(name, main)
        try:
            await self.stop.wait()
        finally:
            await self.close()

    async def wind_down(self) -> None:
        """Stop and wait for the side tasks (not the main one: the API server's shutdown
        hook calls this while the server, the main task, waits for the hook)."""
        self.stop.set()
        side = [t for t in self.tasks if t is not self.main]
        await asyncio.gather(*side, return_exceptions=True)

    async def close(self) -> None:
        """Stop every task and wait for them; raises `TaskDied` if one died."""
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.died is not None:
            raise self.died


async def _run(job: Job, stop: asyncio.Event) -> None:
    await job(stop)
