"""Writes attempt progress (answered, ended) in batches, in order, never dropping one."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass

from outdial.domain.outcome import CallOutcome
from outdial.metrics import ATTEMPTS_FINISHED
from outdial.services.attempts import AttemptService

log = logging.getLogger("outdial.engine.ledger")
MAX_BATCH = 500


@dataclass(frozen=True, slots=True)
class _Entry:
    campaigncall_id: uuid.UUID
    outcome: CallOutcome | None  # None: the call was answered


class Ledger:
    def __init__(self, attempts: AttemptService, retry_s: float = 0.5) -> None:
        self.attempts = attempts
        self.retry_s = retry_s
        self._queue: asyncio.Queue[_Entry] = asyncio.Queue()

    def answered(self, campaigncall_id: uuid.UUID) -> None:
        self._queue.put_nowait(_Entry(campaigncall_id, None))

    def ended(self, campaigncall_id: uuid.UUID, outcome: CallOutcome) -> None:
        ATTEMPTS_FINISHED.labels(outcome.result.value, outcome.reason.value).inc()
        self._queue.put_nowait(_Entry(campaigncall_id, outcome))

    async def flush(self) -> None:
        """Wait until everything queued so far is written."""
        await self._queue.join()

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[_Entry]) -> None:
        answered = [e.campaigncall_id for e in batch if e.outcome is None]
        ended = [(e.campaigncall_id, e.outcome) for e in batch if e.outcome is not None]
        while True:
            try:
                await self.attempts.record(answered, ended)
                return
            except Exception:  # the database is away: keep the records and try again
                log.exception("could not record %d attempt updates; retrying", len(batch))
                await asyncio.sleep(self.retry_s)
