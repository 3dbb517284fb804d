"""The campaign lifecycle as the engine sees it: which campaigns run (a read, nothing more),
stopping those that can no longer run, stopping a finished campaign and starting the next."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.errors import OutdialError
from outdial.domain.ids import NIL_UUID
from outdial.domain.models import Campaign, Outplan
from outdial.domain.states import CampaignStatus
from outdial.services import campaign_rules, events
from outdial.services.context import Context
from outdial.storage import attempt_end as ends
from outdial.storage import quota, repo, rows
from outdial.storage.tables import campaigns, customers, outdials, outplans
from outdial.wire import campaign as wire_campaign
from outdial.wire.common import ts

log = logging.getLogger("outdial.engine")
Row = sa.Row[Any]


@dataclass(frozen=True, slots=True)
class Running:
    campaign: Campaign
    outplan: Outplan
    in_flight: int
    pace_next_us: int
    calling_codes: tuple[str, ...] = ()  # the customer's toll-fraud guard, read each round


@dataclass(frozen=True, slots=True)
class Broken:
    """A campaign in run that cannot dial: its outplan or outdial is missing or deleted."""

    campaign: Campaign
    why: str


@dataclass(frozen=True, slots=True)
class Roster:
    """The campaigns in run, as one read found them."""

    runnable: list[Running] = field(default_factory=list)
    broken: list[Broken] = field(default_factory=list)


class CampaignLifecycle:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def trunk_event(self, engine_id: str, down: bool, why: str) -> int:
        """`trunk_down` / `trunk_up` for every customer with a campaign in run (their attempts
        pause or resume); returns how many customers were told."""
        data = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"outdial:trunk:{engine_id}")),
            "engine_id": engine_id,
            "status": "down" if down else "up",
            "detail": why,
            "tm_create": ts(self.ctx.clock.now()),
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

    async def running(self) -> Roster:
        """Campaigns in run with their outplans, and those that cannot run (a read only: the
        engine stops the broken ones with `stop_broken`)."""
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
        roster = Roster()
        for row in found:
            mapping = row._mapping
            campaign = rows.campaign(_Prefixed(mapping, campaigns))
            if mapping[outplans.c.id] is None or mapping[outplans.c.tm_delete] is not None:
                roster.broken.append(Broken(campaign, "its outplan is missing or deleted"))
                continue
            if mapping["outdial_deleted"] is not None or campaign.outdial_id == NIL_UUID:
                roster.broken.append(Broken(campaign, "its outdial is missing or deleted"))
                continue
            plan = rows.outplan(_Prefixed(mapping, outplans))
            roster.runnable.append(
                Running(
                    campaign,
                    plan,
                    mapping[campaigns.c.in_flight],
                    mapping[campaigns.c.pace_next],
                    quota.codes_of(mapping["calling_codes"]),
                )
            )
        return roster

    async def stop_broken(self, broken: Sequence[Broken]) -> None:
        for b in broken:
            log.warning(
                "stopping campaign %s: %s",
                b.campaign.id,
                b.why,
                extra={"campaign_id": b.campaign.id},
            )
            await self.stop(b.campaign.id)

    async def stop(self, campaign_id: uuid.UUID) -> None:
        async with self.ctx.db.write() as conn:
            row = await repo.get(conn, campaigns, campaign_id)
            if row is not None:
                change = await campaign_rules.request_stop(conn, row, self.ctx.now_us())
                await _status_event(conn, change.before, change.row)

    async def end_if_done(self, run: Running) -> bool:
        """end_handle stop: stop when every live target is done, then start the next campaign."""
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            if await ends.unfinished_targets_left(conn, run.campaign):
                return False
            stopped = await ends.stop_when_done(conn, run.campaign.id, now)
            if stopped is None:
                return False
            await stopped_events(conn, [stopped])
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


async def stopped_events(conn: AsyncConnection, stopped: Sequence[Row]) -> None:
    """campaign_status_stop for campaigns a storage transition just stopped (its rows)."""
    for row in sorted(stopped, key=lambda r: r.id):
        await events.emit(
            conn,
            row.customer_id,
            events.STATUS_EVENTS[CampaignStatus.STOP.value],
            wire_campaign.render(rows.campaign(row)),
        )


async def _status_event(conn: AsyncConnection, before: str, after: Row) -> None:
    await events.emit_status(
        conn, before, after.customer_id, wire_campaign.render(rows.campaign(after))
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
