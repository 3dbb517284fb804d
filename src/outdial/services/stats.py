"""A campaign's live numbers: targets by status, attempts by result and reason, calls in
flight, calls per minute over the last hour, answer rate. Reads only (one snapshot)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from outdial.domain.reports import CampaignStats
from outdial.services.context import Context
from outdial.services.lookup import owned
from outdial.storage.tables import campaigncalls, campaigns, outdial_targets

MINUTE_US = 60_000_000
WINDOW_MINUTES = 60


class StatsService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def campaign(self, customer_id: uuid.UUID, campaign_id: uuid.UUID) -> CampaignStats:
        T, CC = outdial_targets, campaigncalls
        now = self.ctx.now_us()
        first_minute = (now // MINUTE_US - (WINDOW_MINUTES - 1)) * MINUTE_US
        minute = (CC.c.tm_create // MINUTE_US).label("minute")
        async with self.ctx.db.read() as conn:
            row = await owned(
                conn, campaigns, customer_id, campaign_id, "CAMPAIGN_NOT_FOUND", "campaign"
            )
            by_status = (
                await conn.execute(
                    sa.select(T.c.status, sa.func.count())
                    .where(T.c.outdial_id == row.outdial_id, T.c.tm_delete.is_(None))
                    .group_by(T.c.status)
                )
            ).all()
            done = (
                await conn.execute(
                    sa.select(CC.c.status, CC.c.result, CC.c.hangup_reason, sa.func.count())
                    .where(CC.c.campaign_id == campaign_id)
                    .group_by(CC.c.status, CC.c.result, CC.c.hangup_reason)
                )
            ).all()
            agents = (
                await conn.execute(
                    sa.select(
                        # connected within 2 s; one connected later (a queue's longer
                        # wait_timeout) is an abandon for the campaign (FTC), counted once
                        sa.func.count(
                            sa.case(
                                (
                                    sa.and_(
                                        CC.c.tm_connect.is_not(None),
                                        CC.c.abandoned.is_(sa.false()),
                                    ),
                                    1,
                                )
                            )
                        ),
                        sa.func.count(sa.case((CC.c.abandoned.is_(sa.true()), 1))),
                    ).where(CC.c.campaign_id == campaign_id)
                )
            ).one()
            per_minute = (
                await conn.execute(
                    sa.select(minute, sa.func.count())
                    .where(CC.c.campaign_id == campaign_id, CC.c.tm_create >= first_minute)
                    .group_by(minute)
                )
            ).all()
        targets = {"idle": 0, "progressing": 0, "done": 0}
        targets.update({status: int(n) for status, n in by_status})
        results: dict[str, int] = {"success": 0, "fail": 0}
        reasons: dict[str, int] = {}
        attempts = finished = 0
        for status, result, reason, n in done:
            attempts += n
            if status != "done":
                continue
            finished += n
            results[result or "none"] = results.get(result or "none", 0) + n
            if reason:
                reasons[reason] = reasons.get(reason, 0) + n
        counts = {int(m): int(n) for m, n in per_minute}
        return CampaignStats(
            campaign_id=campaign_id,
            status=row.status,
            targets_by_status=targets,
            attempts_total=attempts,
            attempts_finished=finished,
            attempts_by_result=results,
            attempts_by_hangup_reason=reasons,
            calls_per_minute=[
                (datetime.fromtimestamp(start * 60, UTC), counts.get(start, 0))
                for start in range(first_minute // MINUTE_US, now // MINUTE_US + 1)
            ],
            at=datetime.fromtimestamp(now / 1_000_000, UTC),
            connected=int(agents[0] or 0),
            abandoned=int(agents[1] or 0),
        )
