"""Writes attempt progress (answered, ended) in batches, in order, never dropping one.

While the database is away the records are held in memory and written first when it is back
(docs/operations.md, "The database goes away"): the engine starts no attempts meanwhile, so
what is held is bounded by the calls that were in flight (at most two records each)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass

from outdial.domain.errors import Unavailable
from outdial.domain.outcome import CallOutcome
from outdial.metrics import ATTEMPTS_FINISHED, LEDGER_HELD
from outdial.services.attempts import AttemptService

log = logging.getLogger("outdial.engine.ledger")
MAX_BATCH = 500


@dataclass(frozen=True, slots=True)
class _Entry:
    campaigncall_id: uuid.UUID
    outcome: CallOutcome | None  # None: the call was answered


class Ledger:
    def __init__(
        self, attempts: AttemptService, retry_s: float = 0.5, max_retry_s: float = 5.0
    ) -> None:
        self.attempts = attempts
        self.retry_s = retry_s
        self.max_retry_s = max_retry_s
        # The engine whose attempts these are (Engine.id): every write is fenced by it
        # (services/attempts.py record). None: unfenced (tests that drive a ledger alone).
        self.owner: str | None = None
        self.held = 0  # records queued or being written, not yet committed
        self.failing = False  # the last write failed (the database is away)
        self.ending: set[uuid.UUID] = set()  # attempts whose end is queued, not yet written
        self._queue: asyncio.Queue[_Entry] = asyncio.Queue()
        self._wake = asyncio.Event()

    def answered(self, campaigncall_id: uuid.UUID) -> None:
        self._put(_Entry(campaigncall_id, None))

    def ended(self, campaigncall_id: uuid.UUID, outcome: CallOutcome) -> None:
        ATTEMPTS_FINISHED.labels(outcome.result.value, outcome.reason.value).inc()
        self.ending.add(campaigncall_id)
        self._put(_Entry(campaigncall_id, outcome))

    def _put(self, entry: _Entry) -> None:
        self.held += 1
        LEDGER_HELD.inc()
        self._queue.put_nowait(entry)

    def wake(self) -> None:
        """Try a held write again now (the engine saw the database come back)."""
        self._wake.set()

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
                self.held -= len(batch)
                LEDGER_HELD.dec(len(batch))
                self.ending.difference_update(
                    e.campaigncall_id for e in batch if e.outcome is not None
                )
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[_Entry]) -> None:
        answered = [e.campaigncall_id for e in batch if e.outcome is None]
        ended = [(e.campaigncall_id, e.outcome) for e in batch if e.outcome is not None]
        delay = self.retry_s
        while True:
            try:
                await self.attempts.record(answered, ended, owner=self.owner)
            except Unavailable:
                if not self.failing:
                    log.warning(
                        "database unavailable: holding %d attempt updates in memory until it "
                        "is back",
                        self.held,
                    )
                self.failing = True
            except Exception:  # a fault of ours: keep the records and try again
                log.exception("could not record %d attempt updates; retrying", len(batch))
            else:
                if self.failing:
                    log.warning("database back: writing the held attempt updates")
                    self.failing = False
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            delay = min(self.max_retry_s, delay * 2)
