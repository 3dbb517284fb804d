"""The statements that give targets their tries back (issue 17): a reset of one target and a
recycle pass over an outdial, each ONE guarded UPDATE (`docs/recycling.md`), and the target
history they write. Nothing here commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.recycle import RecycleFilter
from outdial.domain.states import TARGET_TRANSITIONS, TargetStatus
from outdial.storage.bulk import insert_rows
from outdial.storage.pagination import Cursor, page_query
from outdial.storage.tables import (
    TARGET_TRY_COUNTS,
    accesskeys,
    campaigncalls,
    outdial_targets,
    target_history,
)
from outdial.storage.timeconv import to_us
from outdial.storage.transitions import moves_to

T = outdial_targets
CC = campaigncalls
H = target_history
FRESH = {f"try_count_{n}": 0 for n in range(5)}


def _back_to_idle(now_us: int) -> dict[str, Any]:
    return {"status": TargetStatus.IDLE.value, **FRESH, "tm_update": now_us}


async def reset(
    conn: AsyncConnection, target_id: uuid.UUID, seen: TargetStatus, now_us: int
) -> sa.Row[Any] | None:
    """Tries back to 0 and status idle, if the target is still in the status `seen` (idle,
    or done: the move the transition table allows) and not deleted; the row after, or None
    when it changed meanwhile (an attempt started on it)."""
    guard = (
        T.c.status == TargetStatus.IDLE.value  # staying idle is no transition
        if seen is TargetStatus.IDLE
        else moves_to(T.c.status, TARGET_TRANSITIONS, TargetStatus.IDLE, from_=[seen])
    )
    stmt = (
        sa.update(T)
        .where(T.c.id == target_id, T.c.tm_delete.is_(None), guard)
        .values(**_back_to_idle(now_us))
        .returning(*T.c)
    )
    return (await conn.execute(stmt)).first()


def _last_attempt(column: sa.Column[Any]) -> sa.ScalarSelect[Any]:
    """`column` of the target's latest campaigncall (any campaign), NULL when never tried."""
    return (
        sa.select(column)
        .where(CC.c.outdial_target_id == T.c.id)
        .order_by(CC.c.tm_create.desc(), CC.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


async def recycle(
    conn: AsyncConnection, outdial_id: uuid.UUID, where: RecycleFilter, now_us: int
) -> list[uuid.UUID]:
    """Every done, live target of the outdial that matches the filter back to idle with
    fresh tries, in one UPDATE guarded by `status = 'done'`; the ids it moved."""
    conds: list[sa.ColumnElement[bool]] = [
        T.c.outdial_id == outdial_id,
        T.c.tm_delete.is_(None),
        moves_to(T.c.status, TARGET_TRANSITIONS, TargetStatus.IDLE, from_=[TargetStatus.DONE]),
    ]
    if where.tries_below is not None:
        total = sum(TARGET_TRY_COUNTS[1:], TARGET_TRY_COUNTS[0])
        conds.append(total < where.tries_below)
    if where.last_attempt_before is not None:
        before = to_us(where.last_attempt_before)
        conds.append(sa.or_(T.c.last_attempt_end.is_(None), T.c.last_attempt_end < before))
    if where.results:
        conds.append(_last_attempt(CC.c.result).in_(where.results))
    if where.hangup_reasons:
        conds.append(_last_attempt(CC.c.hangup_reason).in_(where.hangup_reasons))
    stmt = sa.update(T).where(*conds).values(**_back_to_idle(now_us)).returning(T.c.id)
    return list((await conn.execute(stmt)).scalars())


async def record(conn: AsyncConnection, entries: Sequence[dict[str, Any]]) -> None:
    """History rows (every column), COPY on PostgreSQL for a large recycle pass."""
    await insert_rows(conn, H, entries)


async def accesskey_id(conn: AsyncConnection, digest: str | None) -> uuid.UUID | None:
    """The id of the access key with this hash (who asked), None when unknown."""
    if not digest:
        return None
    stmt = sa.select(accesskeys.c.id).where(accesskeys.c.token_hash == digest)
    found: uuid.UUID | None = (await conn.execute(stmt)).scalar()
    return found


async def history_page(
    conn: AsyncConnection, target_id: uuid.UUID, cursor: Cursor | None, limit: int
) -> list[sa.Row[Any]]:
    stmt = page_query(H, [H.c.outdial_target_id == target_id], cursor, limit)
    return list((await conn.execute(stmt)).all())
