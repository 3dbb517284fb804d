"""Use cases of the dialing engine; each method is one transaction."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from outdial.domain.errors import OutdialError
from outdial.domain.ids import NIL_UUID
from outdial.domain.models import Campaign, Outplan
from outdial.domain.outcome import CallOutcome, HangupReason
from outdial.domain.states import CampaignStatus
from outdial.services import campaign_rules
from outdial.services.context import Context
from outdial.storage import claim as claims
from outdial.storage import repo, rows
from outdial.storage.claim import Claim
from outdial.storage.tables import campaigns, engines, outdials, outplans

log = logging.getLogger("outdial.engine")


@dataclass(frozen=True, slots=True)
class Running:
    campaign: Campaign
    outplan: Outplan
    in_flight: int
    pace_next_us: int


class DialingService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def running(self) -> list[Running]:
        """Campaigns in run, with their outplans; stops those whose list or plan is gone."""
        stmt = (
            sa.select(campaigns, outplans, outdials.c.tm_delete.label("outdial_deleted"))
            .select_from(
                campaigns.outerjoin(outplans, outplans.c.id == campaigns.c.outplan_id).outerjoin(
                    outdials, outdials.c.id == campaigns.c.outdial_id
                )
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
                    campaign, plan, mapping[campaigns.c.in_flight], mapping[campaigns.c.pace_next]
                )
            )
        for campaign, why in broken:
            log.warning("stopping campaign %s: %s", campaign.id, why)
            await self.stop(campaign.id)
        return out

    async def stop(self, campaign_id: uuid.UUID) -> None:
        async with self.ctx.db.write() as conn:
            row = await repo.get(conn, campaigns, campaign_id)
            if row is not None:
                await campaign_rules.request_stop(conn, row, self.ctx.now_us())

    async def claim(
        self, run: Running, *, limit: int, pace_step_us: int, lease_us: int, engine_id: str
    ) -> Claim | None:
        """Start attempts in one transaction; None when the campaign could not take them."""
        try:
            async with self.ctx.db.write() as conn:
                return await claims.claim(
                    conn,
                    run.campaign,
                    run.outplan,
                    limit=limit,
                    now_us=self.ctx.now_us(),
                    pace_step_us=pace_step_us,
                    lease_us=lease_us,
                    engine_id=engine_id,
                )
        except claims.NotReserved:
            return None

    async def record(
        self,
        answered: Sequence[uuid.UUID],
        ended: Sequence[tuple[uuid.UUID, CallOutcome]],
    ) -> int:
        """Record answers and ends of attempts in one transaction (answers first); returns how
        many ended attempts were still open."""
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            await claims.mark_answered(conn, sorted(answered), now)
            return len(await claims.finish(conn, ended, now)) if ended else 0

    async def recover(self, stale_after_us: int, limit: int = 500) -> int:
        """Close attempts whose engine died or whose lease ran out as fail/lost."""
        now = self.ctx.now_us()
        lost = CallOutcome(HangupReason.LOST, detail="engine lost")
        async with self.ctx.db.write() as conn:
            query = claims.lost_attempts(now, now - stale_after_us, limit)
            found = (await conn.execute(query)).all()
            closed = set(await claims.finish(conn, [(row.id, lost) for row in found], now))
        for row in found:
            if row.id in closed:
                log.warning(
                    "closed lost attempt campaigncall=%s campaign=%s engine=%s",
                    row.id,
                    row.campaign_id,
                    row.engine_id,
                )
        return len(closed)

    async def end_if_done(self, run: Running) -> bool:
        """end_handle stop: stop when every live target is done, then start the next campaign."""
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            if await claims.unfinished_targets_left(conn, run.campaign, run.outplan):
                return False
            if not await claims.stop_when_done(conn, run.campaign.id, now):
                return False
        log.info("campaign %s finished: every target is done", run.campaign.id)
        following = run.campaign.next_campaign_id
        if following != NIL_UUID:
            try:
                async with self.ctx.db.write() as conn:
                    row = await repo.get(conn, campaigns, following)
                    if row is not None and row.customer_id == run.campaign.customer_id:
                        await campaign_rules.start(conn, row, now)
                        log.info("started next campaign %s after %s", following, run.campaign.id)
            except OutdialError as exc:
                log.warning("next campaign %s not started: %s", following, exc.message)
        return True

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


class _Prefixed:
    """Attribute access to one table's columns inside a joined row."""

    def __init__(self, mapping: sa.RowMapping, table: sa.Table) -> None:
        self._m = mapping
        self._t = table

    def __getattr__(self, name: str) -> object:
        if name not in self._t.c:
            raise AttributeError(name)
        return self._m[self._t.c[name]]
