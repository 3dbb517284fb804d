"""The retention task: prunes old events and delivery records once an hour, beside the
webhook worker of the same process (`serve`, `engine`, `webhooks`). Several processes may
prune one database at once; each deletion is idempotent."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from outdial.domain.errors import Unavailable
from outdial.services.recordings import RecordingService
from outdial.services.retention import RetentionService

log = logging.getLogger("outdial.retention")


class Pruner:
    def __init__(
        self,
        service: RetentionService,
        retention_days: float,
        every_s: float = 3600.0,
        first_after_s: float = 60.0,
        recordings: RecordingService | None = None,
        recordings_days: float = 0.0,
    ) -> None:
        self.service = service
        self.retention_days = retention_days
        self.recordings = recordings
        self.recordings_days = recordings_days if recordings is not None else 0.0
        self.every_s = every_s
        self.first_after_s = first_after_s

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: wait, prune, repeat. A retention of 0 days keeps everything."""
        if self.retention_days <= 0 and self.recordings_days <= 0:
            return
        wait = self.first_after_s
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
            if stop.is_set():
                return
            wait = self.every_s
            await self._recordings()
            if self.retention_days <= 0:
                continue
            try:
                pruned = await self.service.prune(self.retention_days)
            except Unavailable:  # the database is away: the next hour tries again
                log.warning("pruning old events skipped: the database is unavailable")
            except Exception:
                log.exception("pruning old events failed")
                continue
            if pruned.events or pruned.deliveries or pruned.kept_undelivered:
                log.info(
                    "pruned %d events and %d delivery records older than %g days "
                    "(%d old events kept for a webhook that has not had them)",
                    pruned.events,
                    pruned.deliveries,
                    self.retention_days,
                    pruned.kept_undelivered,
                )

    async def _recordings(self) -> None:
        if self.recordings is None or self.recordings_days <= 0:
            return
        try:
            count = await self.recordings.prune(self.recordings_days)
        except Exception:  # the database is away: the next hour tries again
            log.exception("pruning old recordings failed")
            return
        if count:
            log.info("deleted %d recordings older than %g days", count, self.recordings_days)
