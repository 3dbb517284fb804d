"""Rescheduling a target (issue 17, `PUT .../targets/{id}/schedule`): one guarded UPDATE."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.states import TargetStatus
from outdial.storage.tables import outdial_targets

T = outdial_targets


async def schedule(
    conn: AsyncConnection,
    outdial_id: uuid.UUID,
    target_id: uuid.UUID,
    *,
    at_us: int,
    destination: int | None,
    note: str,
    now_us: int,
) -> sa.Row[Any] | None:
    """An idle live target waits until `at_us` (in place of `try_interval` or a retry rule's
    interval) and, with `destination`, starts its next attempt there. A compliance sleep
    (`not_before`) is cleared: the claim checks the window and limits again at `at_us`.
    Returns the target as it now is, or None when it was not idle and live (the guard)."""
    result = await conn.execute(
        sa.update(T)
        .where(
            T.c.id == target_id,
            T.c.outdial_id == outdial_id,
            T.c.status == TargetStatus.IDLE.value,
            T.c.tm_delete.is_(None),
        )
        .values(
            retry_at=at_us,
            retry_note=note,
            start_destination=destination,
            not_before=None,
            tm_update=now_us,
        )
        .returning(*T.c)
    )
    return result.first()
