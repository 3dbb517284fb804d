"""Use cases of the dialing engine; each method is one transaction."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial import wire_format
from outdial.domain.errors import OutdialError
from outdial.domain.ids import NIL_UUID
from outdial.domain.models import Campaign, Outplan
from outdial.domain.outcome import CallOutcome, HangupReason
from outdial.domain.states import CampaigncallStatus, CampaignStatus
from outdial.services import campaign_rules, events
from outdial.services.context import Context
from outdial.services.recordings import recording_of
from outdial.storage import attempt_end as ends
from outdial.storage import claim as claims
from outdial.storage import conversations, quota, repo, rows
from outdial.storage.claim import Claim
from outdial.storage.tables import (
    campaigncalls,
    campaigns,
    customers,
    engines,
    outdial_targets,
    outdials,
    outplans,
)

log = logging.getLogger("outdial.engine")


@dataclass(frozen=True, slots=True)
class Running:
    campaign: Campaign
    outplan: Outplan
    in_flight: int
    pace_next_us: int
    calling_codes: tuple[str, ...] = ()  # the customer's toll-fraud guard, read each round


class DialingService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def running(self) -> list[Running]:
        """Campaigns in run, with their outplans; stops those whose list or plan is gone."""
        stmt = (
            sa.select(
                campaigns,
                outplans,
                outdials.c.tm_delete.label("outdial_deleted"),
                customers.c.allowed_calling_codes.label("calling_codes"),
            )
            .select_from(
                campaigns.outerjoin(outplans, outplans.c.id == campaigns.c.outplan_id)
                .outerjoin(outdials, outdials.c.id == campaigns.c.outdial_id)
                .outerjoin(customers, customers.c.id == campaigns.c.customer_id)
            )
            .where(campaigns.c.status == CampaignStatus.RUN.value, campaigns.c.tm_delete.is_(None))
        )
        async with self.ctx.db.read() as conn:
            found = (await conn.execute(stmt)).all()
        out, broken = [], []
        for row in found:
            mapping = row._mapping
            campaign = rows.campaign(_Prefixed(mapping, campaigns))
            if mapping[outplans.c.id] is None or mapping[outplans.c.tm_delete] is not None:
                broken.append((campaign, "its outplan is missing or deleted"))
                continue
            if mapping["outdial_deleted"] is not None or campaign.outdial_id == NIL_UUID:
                broken.append((campaign, "its outdial is missing or deleted"))
                continue
            plan = rows.outplan(_Prefixed(mapping, outplans))
            out.append(
                Running(
                    campaign,
                    plan,
                    mapping[campaigns.c.in_flight],
                    mapping[campaigns.c.pace_next],
                    quota.codes_of(mapping["calling_codes"]),
                )
            )
        for campaign, why in broken:
            log.warning(
                "stopping campaign %s: %s", campaign.id, why, extra={"campaign_id": campaign.id}
            )
            await self.stop(campaign.id)
        return out

    async def stop(self, campaign_id: uuid.UUID) -> None:
        async with self.ctx.db.write() as conn:
            row = await repo.get(conn, campaigns, campaign_id)
            if row is not None:
                change = await campaign_rules.request_stop(conn, row, self.ctx.now_us())
                await _status_event(conn, change.before, change.row)

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
                ids = [a.campaigncall_id for a in claim.attempts]
                await _call_events(conn, ids, None, events.CAMPAIGNCALL_CREATED)
                # done without an attempt: no campaigncall event names these targets
                await events.emit_many(
                    conn,
                    run.campaign.customer_id,
                    events.TARGET_UPDATED,
                    (wire_format.target(t) for t in claim.finished),
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
    ) -> int:
        """Record answers and ends of attempts in one transaction (answers first); returns how
        many ended attempts were still open."""
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            await ends.mark_answered(conn, sorted(answered), now)
            closed = await ends.finish(conn, ended, now) if ended else []
            # opt-outs join the do-not-call list in the transaction that ends the call
            written = await conversations.record_heard(conn, ended, set(closed), now)
            if written:
                await events.emit_rows(
                    conn,
                    [
                        {
                            "customer_id": r["customer_id"],
                            "type": events.RECORDING_FINISHED,
                            "data": wire_format.recording(recording_of(r)),
                        }
                        for r in written
                    ],
                )
            await _changes(conn, [*answered, *closed], now)
            return len(closed)

    async def recover(self, stale_after_us: int, limit: int = 500) -> int:
        """Close attempts whose engine died or whose lease ran out as fail/lost."""
        now = self.ctx.now_us()
        lost = CallOutcome(HangupReason.LOST, detail="engine lost")
        async with self.ctx.db.write() as conn:
            query = ends.lost_attempts(now, now - stale_after_us, limit)
            found = (await conn.execute(query)).all()
            closed = set(await ends.finish(conn, [(row.id, lost) for row in found], now))
            await _changes(conn, sorted(closed), now)
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
            closed = await ends.finish(conn, [(cid, lost) for cid in orphans], now)
            await _changes(conn, closed, now)
        for cid in closed:
            log.warning(
                "closed unplaced attempt campaigncall=%s", cid, extra={"campaigncall_id": cid}
            )
        return len(closed)

    async def end_if_done(self, run: Running) -> bool:
        """end_handle stop: stop when every live target is done, then start the next campaign."""
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            if await ends.unfinished_targets_left(conn, run.campaign):
                return False
            if not await ends.stop_when_done(conn, run.campaign.id, now):
                return False
            await _stopped_events(conn, [run.campaign.id], now)
        log.info(
            "campaign %s finished: every target is done",
            run.campaign.id,
            extra={"campaign_id": run.campaign.id},
        )
        following = run.campaign.next_campaign_id
        if following != NIL_UUID:
            try:
                async with self.ctx.db.write() as conn:
                    row = await repo.get(conn, campaigns, following)
                    if row is not None and row.customer_id == run.campaign.customer_id:
                        change = await campaign_rules.start(conn, row, now)
                        await _status_event(conn, change.before, change.row)
                        log.info("started next campaign %s after %s", following, run.campaign.id)
            except OutdialError as exc:
                log.warning("next campaign %s not started: %s", following, exc.message)
        return True

    async def trunk_event(self, engine_id: str, down: bool, why: str) -> int:
        """`trunk_down` / `trunk_up` for every customer with a campaign in run (their attempts
        pause or resume); returns how many customers were told."""
        data = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"outdial:trunk:{engine_id}")),
            "engine_id": engine_id,
            "status": "down" if down else "up",
            "detail": why,
            "tm_create": wire_format.ts(self.ctx.clock.now()),
        }
        kind = events.TRUNK_DOWN if down else events.TRUNK_UP
        async with self.ctx.db.write() as conn:
            found = await conn.execute(
                sa.select(campaigns.c.customer_id)
                .where(
                    campaigns.c.status == CampaignStatus.RUN.value,
                    campaigns.c.tm_delete.is_(None),
                )
                .distinct()
            )
            customers_ = sorted({row.customer_id for row in found})
            await events.emit_rows(
                conn, [{"customer_id": c, "type": kind, "data": data} for c in customers_]
            )
        return len(customers_)

    async def register(self, engine_id: str) -> None:
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            await conn.execute(
                engines.insert().values(
                    id=engine_id,
                    host=socket.gethostname()[:255],
                    pid=os.getpid(),
                    started=now,
                    heartbeat=now,
                    stopped=None,
                )
            )

    async def heartbeat(self, engine_id: str) -> None:
        async with self.ctx.db.write() as conn:
            await conn.execute(
                sa.update(engines)
                .where(engines.c.id == engine_id)
                .values(heartbeat=self.ctx.now_us())
            )

    async def unregister(self, engine_id: str) -> None:
        async with self.ctx.db.write() as conn:
            await conn.execute(
                sa.update(engines)
                .where(engines.c.id == engine_id)
                .values(stopped=self.ctx.now_us())
            )


async def _call_events(
    conn: AsyncConnection,
    ids: Sequence[uuid.UUID],
    now_us: int | None,
    type_: str,
) -> list[sa.Row[Any]]:
    """One event per campaigncall in `ids` (those changed at `now_us`, when given), rendered
    from the rows as this transaction sees them; returns the rows."""
    if not ids:
        return []
    stmt = sa.select(campaigncalls).where(campaigncalls.c.id.in_(sorted(set(ids))))
    if now_us is not None:
        stmt = stmt.where(campaigncalls.c.tm_update == now_us)
    found = (await conn.execute(stmt.order_by(campaigncalls.c.id))).all()
    await events.emit_rows(
        conn,
        [
            {
                "customer_id": r.customer_id,
                "type": type_,
                "data": wire_format.campaigncall(rows.campaigncall(r)),
            }
            for r in found
        ],
    )
    return list(found)


async def _changes(conn: AsyncConnection, ids: Sequence[uuid.UUID], now_us: int) -> None:
    """campaigncall_updated for the attempts changed at `now_us`, then campaign_status_stop
    for the campaigns that went stopping -> stop in this transaction (the storage gives a
    campaign that change's `tm_update`, and nothing else in the transaction touches it)."""
    changed = await _call_events(conn, ids, now_us, events.CAMPAIGNCALL_UPDATED)
    await _stopped_events(conn, sorted({r.campaign_id for r in changed}), now_us)


async def _stopped_events(
    conn: AsyncConnection, campaign_ids: Sequence[uuid.UUID], now_us: int
) -> None:
    if not campaign_ids:
        return
    found = (
        await conn.execute(
            sa.select(campaigns).where(
                campaigns.c.id.in_(campaign_ids),
                campaigns.c.status == CampaignStatus.STOP.value,
                campaigns.c.tm_update == now_us,
            )
        )
    ).all()
    for row in found:
        await events.emit(
            conn,
            row.customer_id,
            events.STATUS_EVENTS[CampaignStatus.STOP.value],
            wire_format.campaign(rows.campaign(row)),
        )


async def _status_event(conn: AsyncConnection, before: str, after: sa.Row[Any]) -> None:
    await events.emit_status(
        conn, before, after.customer_id, wire_format.campaign(rows.campaign(after))
    )


class _Prefixed:
    """Attribute access to one table's columns inside a joined row."""

    def __init__(self, mapping: sa.RowMapping, table: sa.Table) -> None:
        self._m = mapping
        self._t = table

    def __getattr__(self, name: str) -> object:
        if name not in self._t.c:
            raise AttributeError(name)
        return self._m[self._t.c[name]]
