"""The attempt lifecycle: start attempts (the claim), record answers and ends, close the
attempts of dead engines. Each method is one transaction; its events are derived from what
the storage says it changed (`UPDATE ... RETURNING`), never from a second query."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.outcome import CallOutcome, HangupReason
from outdial.domain.states import CampaigncallStatus
from outdial.services import events
from outdial.services.campaign_lifecycle import Running, stopped_events
from outdial.services.context import Context
from outdial.services.recordings import recording_of
from outdial.storage import attempt_end as ends
from outdial.storage import claim as claims
from outdial.storage import conversations, rows
from outdial.storage.claim import Claim
from outdial.storage.tables import campaigncalls, outdial_targets
from outdial.wire import campaigncall as wire_campaigncall
from outdial.wire import recording as wire_recording
from outdial.wire import target as wire_target

log = logging.getLogger("outdial.engine")
Row = sa.Row[Any]


class AttemptService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def claim(
        self, run: Running, *, limit: int, pace_step_us: int, lease_us: int, engine_id: str
    ) -> Claim | None:
        """Start attempts in one transaction; None when the campaign could not take them."""
        try:
            async with self.ctx.db.write() as conn:
                claim = await claims.claim(
                    conn,
                    run.campaign,
                    run.outplan,
                    limit=limit,
                    now_us=self.ctx.now_us(),
                    pace_step_us=pace_step_us,
                    lease_us=lease_us,
                    engine_id=engine_id,
                    calling_codes=run.calling_codes,
                )
                created = await _created(conn, [a.campaigncall_id for a in claim.attempts])
                await _call_events(conn, created, events.CAMPAIGNCALL_CREATED)
                # done without an attempt: no campaigncall event names these targets
                await events.emit_many(
                    conn,
                    run.campaign.customer_id,
                    events.TARGET_UPDATED,
                    (wire_target.render(t) for t in claim.finished),
                )
                return claim
        except claims.NotReserved:
            return None

    async def target_data(self, target_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
        """name, detail and data of the targets just claimed (one read per claim), for the
        calls' `${voipbin.outdial_target.*}` variables."""
        if not target_ids:
            return {}
        T = outdial_targets
        async with self.ctx.db.read() as conn:
            found = await conn.execute(
                sa.select(T.c.id, T.c.name, T.c.detail, T.c.data).where(
                    T.c.id.in_(sorted(set(target_ids)))
                )
            )
            return {row.id: row for row in found.all()}

    async def record(
        self,
        answered: Sequence[uuid.UUID],
        ended: Sequence[tuple[uuid.UUID, CallOutcome]],
        *,
        owner: str | None = None,
    ) -> int:
        """Record answers and ends of attempts in one transaction (answers first); returns how
        many ended attempts were still open. `owner`: the engine writing its own attempts;
        the writes are fenced (attempt_end.held_by): an attempt it no longer holds (recovered
        by another engine while this one was cut off) is left as it is, and the refused
        writes are logged and counted (`outdial_engine_fenced_writes_total`)."""
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            progressing = await ends.mark_answered(conn, sorted(answered), now, owner=owner)
            done = await ends.finish(conn, ended, now, owner=owner) if ended else ends.Ended([], [])
            missed = set(answered) - {row.id for row in progressing}
            fenced = set(done.fenced) | set(await ends.not_ours(conn, sorted(missed), owner))
            # opt-outs join the do-not-call list in the transaction that ends the call
            closed = {row.id for row in done.calls}
            written = await conversations.record_heard(conn, ended, closed, now)
            await events.emit_rows(
                conn,
                [
                    {
                        "customer_id": r["customer_id"],
                        "type": events.RECORDING_FINISHED,
                        "data": wire_recording.render(recording_of(r)),
                    }
                    for r in written
                ],
            )
            await _call_events(conn, [*progressing, *done.calls], events.CAMPAIGNCALL_UPDATED)
            await stopped_events(conn, done.stopped)
        if fenced:  # counted by the storage (outdial_engine_fenced_writes_total)
            log.warning(
                "fenced: %d attempt writes of engine %s refused (the attempts were recovered "
                "by another engine): campaigncalls %s",
                len(fenced),
                owner,
                ",".join(str(cid) for cid in sorted(fenced)[:20]),
                extra={"action": "fenced_write", "engine_id": owner},
            )
        return len(done.calls)

    async def close_orphans(self, engine_id: str, running: set[uuid.UUID]) -> int:
        """After the database was away: this engine's open attempts that none of its tasks
        runs (the claim's COMMIT went through but its answer was lost, so they were never
        placed) are closed as `lost` at once, rather than when their lease runs out."""
        now = self.ctx.now_us()
        lost = CallOutcome(HangupReason.LOST, detail="not placed: the database went away")
        async with self.ctx.db.write() as conn:
            found = (
                await conn.execute(
                    sa.select(campaigncalls.c.id).where(
                        campaigncalls.c.engine_id == engine_id,
                        campaigncalls.c.status != CampaigncallStatus.DONE.value,
                    )
                )
            ).all()
            orphans = sorted(row.id for row in found if row.id not in running)
            done = await ends.finish(conn, [(cid, lost) for cid in orphans], now, owner=engine_id)
            await _call_events(conn, done.calls, events.CAMPAIGNCALL_UPDATED)
            await stopped_events(conn, done.stopped)
        for row in done.calls:
            log.warning(
                "closed unplaced attempt campaigncall=%s", row.id, extra={"campaigncall_id": row.id}
            )
        return len(done.calls)

    async def recover(self, stale_after_us: int, limit: int = 500, *, by: str = "") -> int:
        """Close attempts whose engine died or whose lease ran out as fail/lost (`by`: the
        recovering engine, kept in `ended_by`). An engine whose attempts are taken for its
        silence is fenced in the same transaction (attempt_end.fence): when it comes back,
        its heartbeat, claims and writes to those attempts are refused."""
        now = self.ctx.now_us()
        lost = CallOutcome(HangupReason.LOST, detail="engine lost")
        async with self.ctx.db.write() as conn:
            query = ends.lost_attempts(now, now - stale_after_us, limit)
            found = (await conn.execute(query)).all()
            fenced = await ends.fence(conn, [row.engine_id for row in found if row.dead], now)
            done = await ends.finish(conn, [(row.id, lost) for row in found], now, by=by or None)
            await _call_events(conn, done.calls, events.CAMPAIGNCALL_UPDATED)
            await stopped_events(conn, done.stopped)
        for engine_id in fenced:
            log.warning(
                "fenced engine %s: it stopped beating; its attempts are recovered as lost and "
                "its writes refused from now on",
                engine_id,
                extra={"action": "engine_fenced", "engine_id": engine_id},
            )
        closed = {row.id for row in done.calls}
        for row in found:
            if row.id in closed:
                log.warning(
                    "closed lost attempt campaigncall=%s campaign=%s engine=%s",
                    row.id,
                    row.campaign_id,
                    row.engine_id,
                    extra={
                        "campaigncall_id": row.id,
                        "campaign_id": row.campaign_id,
                        "engine_id": row.engine_id,
                    },
                )
        return len(closed)


async def _created(conn: AsyncConnection, ids: Sequence[uuid.UUID]) -> list[Row]:
    """The campaigncalls the claim just inserted, as this transaction sees them."""
    if not ids:
        return []
    stmt = sa.select(campaigncalls).where(campaigncalls.c.id.in_(sorted(set(ids))))
    return list((await conn.execute(stmt)).all())


async def _call_events(conn: AsyncConnection, changed: Iterable[Row], type_: str) -> None:
    """One event per campaigncall, in id order, rendered from its last changed row (an
    attempt answered and ended in one transaction gets one event, with its end)."""
    last = {row.id: row for row in changed}
    await events.emit_rows(
        conn,
        [
            {
                "customer_id": r.customer_id,
                "type": type_,
                "data": wire_campaigncall.render(rows.campaigncall(r)),
            }
            for r in (last[key] for key in sorted(last))
        ],
    )
