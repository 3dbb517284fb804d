"""Recordings (issue 12): the customer's call recordings, their WAV files, deletion and
retention. Rows are written by the engine when an attempt ends (storage/conversations.py);
the files live under OUTDIAL_RECORDINGS_DIR and their paths never leave the server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from outdial.domain.errors import NotFound
from outdial.domain.models import Page
from outdial.domain.recording import Recording, RecordingStatus
from outdial.services import events
from outdial.services.context import Context
from outdial.storage.pagination import Cursor, page_query
from outdial.storage.tables import recordings
from outdial.storage.timeconv import from_us, opt_from_us
from outdial.wire import recording as wire_recording

log = logging.getLogger("outdial.recordings")
NOT_FOUND = "RECORDING_NOT_FOUND"
FILE_NOT_FOUND = "RECORDING_FILE_NOT_FOUND"
R = recordings
DAY_US = 86_400 * 1_000_000


def recording_of(row: Any) -> Recording:
    """A recording from a row (attributes) or the dict written for one."""
    if isinstance(row, dict):
        row = SimpleNamespace(**row)
    return Recording(
        id=row.id,
        customer_id=row.customer_id,
        campaign_id=row.campaign_id,
        campaigncall_id=row.campaigncall_id,
        reference_type=row.reference_type,
        reference_id=row.reference_id,
        status=row.status,
        format=row.format,
        channels=row.channels,
        duration_ms=row.duration_ms,
        detail=row.detail,
        tm_start=opt_from_us(row.tm_start),
        tm_end=opt_from_us(row.tm_end),
        tm_create=from_us(row.tm_create),
        tm_update=from_us(row.tm_update),
        tm_delete=opt_from_us(row.tm_delete),
    )


def remove_file(path: str) -> None:
    """Remove a recording's file; one already gone (or never written) is not an error."""
    if not path:
        return
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:  # the row is deleted either way; the operator sees why
        log.warning("could not remove recording file %s: %s", path, exc)


class RecordingService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def _row(self, customer_id: uuid.UUID, recording_id: uuid.UUID) -> Any:
        async with self.ctx.db.query() as conn:
            row = (await conn.execute(sa.select(R).where(R.c.id == recording_id))).first()
        if row is None or row.customer_id != customer_id:
            raise NotFound(f"recording {recording_id} not found", reason=NOT_FOUND)
        return row

    async def get(self, customer_id: uuid.UUID, recording_id: uuid.UUID) -> Recording:
        return recording_of(await self._row(customer_id, recording_id))

    async def list(
        self,
        customer_id: uuid.UUID,
        cursor: Cursor | None,
        limit: int,
        campaigncall_id: uuid.UUID | None = None,
    ) -> Page:
        where = [R.c.customer_id == customer_id, R.c.tm_delete.is_(None)]
        if campaigncall_id is not None:
            where.append(R.c.campaigncall_id == campaigncall_id)
        async with self.ctx.db.query() as conn:
            found = (await conn.execute(page_query(R, where, cursor, limit))).all()
        items = [recording_of(r) for r in found]
        return Page(items, (items[-1].tm_create, items[-1].id) if items else None)

    async def file(self, customer_id: uuid.UUID, recording_id: uuid.UUID) -> str:
        """The path of the WAV file to stream: 404 for a deleted or failed recording, or one
        whose file is gone."""
        row = await self._row(customer_id, recording_id)
        usable = row.tm_delete is None and row.status == RecordingStatus.ENDED.value
        if not usable or not row.path or not await asyncio.to_thread(os.path.isfile, row.path):
            raise NotFound(f"recording {recording_id} has no file", reason=FILE_NOT_FOUND)
        return str(row.path)

    async def delete(self, customer_id: uuid.UUID, recording_id: uuid.UUID) -> Recording:
        """Soft-delete the row (still readable by id) and remove its file."""
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            row = (await conn.execute(sa.select(R).where(R.c.id == recording_id))).first()
            if row is None or row.customer_id != customer_id:
                raise NotFound(f"recording {recording_id} not found", reason=NOT_FOUND)
            if row.tm_delete is None:
                changed = await conn.execute(
                    sa.update(R)
                    .where(R.c.id == recording_id, R.c.tm_delete.is_(None))
                    .values(tm_delete=now, tm_update=now)
                    .returning(*R.c)
                )
                row = changed.first() or row
                await events.emit(
                    conn,
                    customer_id,
                    events.RECORDING_DELETED,
                    wire_recording.render(recording_of(row)),
                )
        # after the commit: a rolled-back delete keeps its file
        await asyncio.to_thread(remove_file, row.path)
        return recording_of(row)

    async def prune(self, older_than_days: float, batch: int = 1_000) -> int:
        """Retention: recordings created more than `older_than_days` ago are deleted (rows
        soft-deleted, files removed), oldest first, `batch` at a time. Returns how many."""
        if not older_than_days > 0:
            return 0
        cutoff = self.ctx.now_us() - int(older_than_days * DAY_US)
        done = 0
        while True:
            now = self.ctx.now_us()
            async with self.ctx.db.write() as conn:
                old = (
                    await conn.execute(
                        sa.update(R)
                        .where(
                            R.c.id.in_(
                                sa.select(R.c.id)
                                .where(R.c.tm_delete.is_(None), R.c.tm_create < cutoff)
                                .order_by(R.c.tm_create)
                                .limit(batch)
                                .scalar_subquery()
                            ),
                            R.c.tm_delete.is_(None),
                        )
                        .values(tm_delete=now, tm_update=now)
                        .returning(R.c.path)
                    )
                ).all()
            for row in old:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(remove_file, row.path)
            done += len(old)
            if len(old) < batch:
                return done
