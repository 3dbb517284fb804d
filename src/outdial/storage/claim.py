"""The atomic start and end of attempts (SPEC 3.3, 3.5, 3.8).

Every state change here is a guarded UPDATE. On PostgreSQL the due targets are locked with
`FOR UPDATE SKIP LOCKED`, so any number of engines can claim at once and never share a target;
on SQLite the one writer at a time gives the same guarantee.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.address import Address
from outdial.domain.eligibility import (
    DAY_US,
    Reason,
    destination_zones,
    dial_number,
    local_times,
    number_blocks,
    window_block,
)
from outdial.domain.ids import NIL_UUID, new_id
from outdial.domain.models import Campaign, Outplan
from outdial.domain.outcome import CallOutcome, CallResult
from outdial.domain.rules import next_destination, status_after_attempt
from outdial.domain.states import CampaigncallStatus, CampaignStatus, ReferenceType, TargetStatus
from outdial.storage import compliance
from outdial.storage.bulk import insert_rows
from outdial.storage.codec import dump_address, dump_window, load_address
from outdial.storage.tables import (
    campaigncalls,
    campaigns,
    dial_skips,
    engines,
    outdial_targets,
    outplans,
)
from outdial.storage.timeconv import from_us, to_us

T = outdial_targets
CC = campaigncalls
DEST_COLS = tuple(T.c[f"destination_{n}"] for n in range(5))
TRY_COLS = tuple(T.c[f"try_count_{n}"] for n in range(5))


def _address(text: str) -> Address:
    address = load_address(text)
    assert address is not None
    return address


@dataclass(frozen=True, slots=True)
class Claimed:
    """An attempt that has started: the target is progressing and a campaigncall exists."""

    campaigncall_id: uuid.UUID
    reference_id: uuid.UUID
    campaign_id: uuid.UUID
    customer_id: uuid.UUID
    target_id: uuid.UUID
    destination: Address
    destination_index: int
    try_count: int
    source: Address | None
    dial_timeout_ms: int
    lease_expires_us: int


class NotReserved(Exception):
    """The campaign could not take the attempts; roll the claim's transaction back."""


@dataclass(frozen=True, slots=True)
class Claim:
    attempts: list[Claimed]
    in_flight: int  # the campaign's attempts in flight after this claim
    pace_next_us: int  # and its pacing clock
    skipped: int = 0  # targets put to sleep or made done by the compliance rules


def dialable(outplan: Outplan) -> sa.ColumnElement[bool]:
    """Some destination is set and has tries left under this outplan."""
    slots = [
        sa.and_(T.c[f"destination_{n}"].is_not(None), T.c[f"try_count_{n}"] < limit)
        for n, limit in enumerate(outplan.max_try_counts)
        if limit > 0
    ]
    return sa.or_(*slots) if slots else sa.false()


def eligible(campaign: Campaign, outplan: Outplan, cutoff_us: int) -> list[sa.ColumnElement[bool]]:
    return [
        T.c.outdial_id == campaign.outdial_id,
        T.c.status == TargetStatus.IDLE.value,
        T.c.tm_delete.is_(None),
        sa.or_(T.c.last_attempt_end.is_(None), T.c.last_attempt_end <= cutoff_us),
        dialable(outplan),
    ]


async def reserve(
    conn: AsyncConnection, campaign_id: uuid.UUID, count: int, now_us: int, step_us: int
) -> tuple[int, int] | None:
    """Take `count` slots of the campaign's concurrency and its pacing budget in one guarded
    UPDATE: the campaign must run, have the room, and be due (`pace_next <= now`); its pacing
    clock moves `count` intervals past max(pace_next, now). Returns (in_flight, pace_next)."""
    due = sa.case((campaigns.c.pace_next > now_us, campaigns.c.pace_next), else_=now_us)
    result = await conn.execute(
        sa.update(campaigns)
        .where(
            campaigns.c.id == campaign_id,
            campaigns.c.status == CampaignStatus.RUN.value,
            campaigns.c.tm_delete.is_(None),
            campaigns.c.in_flight + count <= campaigns.c.max_concurrent_calls,
            campaigns.c.pace_next <= now_us,
        )
        .values(in_flight=campaigns.c.in_flight + count, pace_next=due + count * step_us)
        .returning(campaigns.c.in_flight, campaigns.c.pace_next)
    )
    row = result.first()
    return None if row is None else (int(row.in_flight), int(row.pace_next))


async def release(conn: AsyncConnection, campaign_id: uuid.UUID, count: int, now_us: int) -> None:
    """Give back slots; a stopping campaign with nothing left in flight becomes stop."""
    if count <= 0:
        return
    left = campaigns.c.in_flight - count
    await conn.execute(
        sa.update(campaigns)
        .where(campaigns.c.id == campaign_id)
        .values(
            in_flight=sa.case((left < 0, 0), else_=left),
            status=sa.case(
                (
                    sa.and_(campaigns.c.status == CampaignStatus.STOPPING.value, left <= 0),
                    CampaignStatus.STOP.value,
                ),
                else_=campaigns.c.status,
            ),
            tm_update=sa.case(
                (
                    sa.and_(campaigns.c.status == CampaignStatus.STOPPING.value, left <= 0),
                    now_us,
                ),
                else_=campaigns.c.tm_update,
            ),
        )
    )


async def claim(
    conn: AsyncConnection,
    campaign: Campaign,
    outplan: Outplan,
    *,
    limit: int,
    now_us: int,
    pace_step_us: int,
    lease_us: int,
    engine_id: str,
) -> Claim:
    """Start up to `limit` attempts for a campaign in the caller's transaction.

    The due targets are locked first (skipping any another engine holds) and checked against
    the compliance rules (docs/compliance.md): a destination on a live do-not-call entry is
    used up and the next one tried; a destination outside its calling window, or whose number
    is over a per-number limit, puts the target to sleep (`not_before`) so later rounds pass
    it by. Every such skip is logged in `dial_skips`. The rest are started; the campaign is
    reserved for exactly that many at the end, so its row stays locked only briefly. Raises
    NotReserved when the campaign cannot take them (stopped, full, or not due yet): the caller
    must roll the transaction back. Otherwise returns the attempts started (maybe none) and
    the campaign's pacing state."""
    if limit <= 0:
        return Claim([], -1, -1)
    cutoff = now_us - outplan.try_interval * 1000
    stmt = (
        sa.select(T.c.id, *DEST_COLS, *TRY_COLS, T.c.timezone)
        .where(*eligible(campaign, outplan, cutoff), _awake(now_us))
        .order_by(T.c.tm_update, T.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=T)
    )
    found = (await conn.execute(stmt)).all()
    if not found:
        return Claim([], -1, -1)
    plan = _Plan(conn, campaign, outplan, now_us)
    await plan.prepare(found)
    for row in found:
        plan.decide(row)
    await plan.write()
    picked = plan.started
    if not picked:
        return Claim([], -1, -1, skipped=plan.skipped)
    started = [
        Claimed(
            campaigncall_id=new_id(),
            reference_id=new_id(),
            campaign_id=campaign.id,
            customer_id=campaign.customer_id,
            target_id=tid,
            destination=dest,
            destination_index=n,
            try_count=tries + 1,
            source=outplan.source,
            dial_timeout_ms=outplan.dial_timeout,
            lease_expires_us=now_us + lease_us,
        )
        for tid, n, dest, tries in picked
    ]
    window = dump_window(outplan.call_window)
    rows = [_campaigncall_row(c, campaign, outplan, now_us, engine_id, window) for c in started]
    await insert_rows(conn, CC, rows)
    # The campaign row is taken last, so it stays locked only until the commit that follows.
    reserved = await reserve(conn, campaign.id, len(started), now_us, pace_step_us)
    if reserved is None:
        raise NotReserved(campaign.id)
    in_flight, pace_next = reserved
    return Claim(started, in_flight, pace_next, skipped=plan.skipped)


def _awake(now_us: int) -> sa.ColumnElement[bool]:
    return sa.or_(T.c.not_before.is_(None), T.c.not_before <= now_us)


class _Plan:
    """The decisions of one claim over its locked rows, then written set-wise."""

    def __init__(
        self, conn: AsyncConnection, campaign: Campaign, outplan: Outplan, now_us: int
    ) -> None:
        self.conn, self.campaign, self.outplan, self.now_us = conn, campaign, outplan, now_us
        self.now = from_us(now_us)
        self.limits_on = outplan.max_attempts_per_number_24h > 0 or outplan.min_number_gap > 0
        self.listed: dict[str, str] = {}
        self.calls: dict[str, list[int]] = {}
        self.started: list[tuple[uuid.UUID, int, Address, int]] = []
        # target updates, grouped so that each group is one UPDATE:
        # (slot started or -1, burned slots) / (burned slots) / (not_before, burned slots)
        self.start_groups: dict[tuple[int, tuple[int, ...]], list[uuid.UUID]] = defaultdict(list)
        self.done_groups: dict[tuple[int, ...], list[uuid.UUID]] = defaultdict(list)
        self.sleep_groups: dict[tuple[int, tuple[int, ...]], list[uuid.UUID]] = defaultdict(list)
        self.skips: list[dict[str, Any]] = []

    @property
    def skipped(self) -> int:
        return sum(len(v) for v in self.done_groups.values()) + sum(
            len(v) for v in self.sleep_groups.values()
        )

    async def prepare(self, found: Sequence[Any]) -> None:
        """One DNC lookup (and, with per-number limits, one lock and one count) for every
        number the batch might dial."""
        numbers: set[str] = set()
        limits = self.outplan.max_try_counts
        for row in found:
            for n in range(5):
                text = row[1 + n]
                if text is not None and row[6 + n] < limits[n] and '"tel"' in text:
                    number = dial_number(_address(text))
                    if number is not None:
                        numbers.add(number)
        cid = self.campaign.customer_id
        self.listed = await compliance.listed_numbers(self.conn, cid, numbers, self.now_us)
        if self.limits_on:
            await compliance.lock_numbers(self.conn, cid, numbers)
            lookback = max(DAY_US, self.outplan.min_number_gap * 1000)
            found_calls = await compliance.calls_to(self.conn, cid, numbers, self.now_us - lookback)
            self.calls = dict(found_calls)

    def _skip(
        self, tid: uuid.UUID, n: int, number: str, reason: Reason, detail: str, clears: int | None
    ) -> None:
        self.skips.append(
            compliance.skip_row(
                skip_id=new_id(),
                customer_id=self.campaign.customer_id,
                campaign_id=self.campaign.id,
                target_id=tid,
                index=n,
                number=number,
                reason=reason.value,
                detail=detail,
                clears_at=clears,
                now_us=self.now_us,
            )
        )

    def decide(self, row: Any) -> None:
        tid, dests, counts = row[0], row[1:6], list(row[6:11])
        zone = row[11]
        plan = self.outplan
        burned: list[int] = []
        while True:
            n = next_destination(dests, counts, plan.max_try_counts)
            if n is None:
                self.done_groups[tuple(burned)].append(tid)
                return
            dest = _address(dests[n])
            number = dial_number(dest)
            if number is not None and number in self.listed:
                self._skip(
                    tid,
                    n,
                    number,
                    Reason.DNC_LISTED,
                    f"on do-not-call list {self.listed[number]}",
                    None,
                )
                burned.append(n)
                counts[n] = plan.max_try_counts[n]
                continue
            break
        label = number or dest.target
        window = plan.call_window
        if window is not None:
            zones = destination_zones(dest, zone, window)
            closed, opens = window_block(window, self.now, zones)
            if closed:
                wake = to_us(opens) if opens is not None else self.now_us + DAY_US
                detail = f"outside the calling window in {local_times(self.now, zones)}"
                clears = None if opens is None else wake
                self._skip(tid, n, label, Reason.WINDOW_CLOSED, detail, clears)
                self.sleep_groups[(wake, tuple(burned))].append(tid)
                return
        if self.limits_on and number is not None:
            history = self.calls.setdefault(number, [])
            blocks = number_blocks(
                history, self.now_us, plan.max_attempts_per_number_24h, plan.min_number_gap
            )
            if blocks:
                wake = max(clears for _, clears, _ in blocks)
                for reason, clears, detail in blocks:
                    self._skip(tid, n, number, reason, detail, clears)
                self.sleep_groups[(wake, tuple(burned))].append(tid)
                return
            history.append(self.now_us)  # a later target of this batch sees this call
        self.started.append((tid, n, dest, counts[n]))
        self.start_groups[(n, tuple(burned))].append(tid)

    def _burn(self, burned: tuple[int, ...]) -> dict[str, Any]:
        return {f"try_count_{k}": self.outplan.max_try_counts[k] for k in burned}

    async def write(self) -> None:
        idle = T.c.status == TargetStatus.IDLE.value
        now = self.now_us
        for (n, burned), ids in sorted(self.start_groups.items()):
            col = TRY_COLS[n]
            await self.conn.execute(
                sa.update(T)
                .where(T.c.id.in_(ids), idle)
                .values(
                    status=TargetStatus.PROGRESSING.value,
                    tm_update=now,
                    **self._burn(burned),
                    **{col.name: col + 1},
                )
            )
        for burned, ids in sorted(self.done_groups.items()):
            await self.conn.execute(
                sa.update(T)
                .where(T.c.id.in_(ids), idle)
                .values(status=TargetStatus.DONE.value, tm_update=now, **self._burn(burned))
            )
        for (wake, burned), ids in sorted(self.sleep_groups.items()):
            await self.conn.execute(
                sa.update(T)
                .where(T.c.id.in_(ids), idle)
                .values(not_before=wake, tm_update=now, **self._burn(burned))
            )
        await insert_rows(self.conn, dial_skips, self.skips)


def _campaigncall_row(
    c: Claimed, campaign: Campaign, outplan: Outplan, now_us: int, engine_id: str, window: str
) -> dict[str, Any]:
    return {
        "id": c.campaigncall_id,
        "customer_id": campaign.customer_id,
        "campaign_id": campaign.id,
        "outplan_id": outplan.id,
        "outdial_id": campaign.outdial_id,
        "outdial_target_id": c.target_id,
        "queue_id": campaign.queue_id,
        "activeflow_id": new_id(),
        "flow_id": NIL_UUID,
        "reference_type": ReferenceType.CALL.value,
        "reference_id": c.reference_id,
        "status": CampaigncallStatus.DIALING.value,
        "result": CallResult.NONE.value,
        "source": dump_address(outplan.source),
        "destination": dump_address(c.destination),
        "destination_index": c.destination_index,
        "try_count": c.try_count,
        "hangup_reason": "",
        "sip_code": None,
        "lease_expires": c.lease_expires_us,
        "engine_id": engine_id,
        "tm_create": now_us,
        "tm_update": now_us,
        "tm_delete": None,
        "destination_number": dial_number(c.destination),
        "call_window": window,
    }


async def mark_answered(
    conn: AsyncConnection, campaigncall_ids: Sequence[uuid.UUID], now_us: int
) -> int:
    """dialing -> progressing for answered calls (guarded; already ended ones stay)."""
    if not campaigncall_ids:
        return 0
    result = await conn.execute(
        sa.update(CC)
        .where(CC.c.id.in_(campaigncall_ids), CC.c.status == CampaigncallStatus.DIALING.value)
        .values(status=CampaigncallStatus.PROGRESSING.value, tm_update=now_us)
    )
    return int(result.rowcount)


async def finish(
    conn: AsyncConnection,
    ended: Sequence[tuple[uuid.UUID, CallOutcome]],
    now_us: int,
) -> list[uuid.UUID]:
    """End attempts exactly once, set-wise: campaigncalls done, targets idle or done, campaign
    slots given back. Returns the campaigncalls that were still open (the rest were already
    ended, by recovery say, and are left alone)."""
    by_outcome: dict[CallOutcome, list[uuid.UUID]] = defaultdict(list)
    for cid, outcome in ended:
        by_outcome[outcome].append(cid)
    closed: list[Any] = []
    results: dict[uuid.UUID, CallResult] = {}
    for outcome, ids in by_outcome.items():
        done = await conn.execute(
            sa.update(CC)
            .where(CC.c.id.in_(sorted(ids)), CC.c.status != CampaigncallStatus.DONE.value)
            .values(
                status=CampaigncallStatus.DONE.value,
                result=outcome.result.value,
                hangup_reason=outcome.reason.value,
                sip_code=outcome.sip_code,
                tm_update=now_us,
                lease_expires=None,
            )
            .returning(CC.c.id, CC.c.outdial_target_id, CC.c.campaign_id, CC.c.outplan_id)
        )
        for row in done.all():
            closed.append(row)
            results[row.outdial_target_id] = outcome.result
    if not closed:
        return []
    plan_ids = sorted({row.outplan_id for row in closed})
    plans = {
        p.id: tuple(p._mapping[f"max_try_count_{n}"] for n in range(5))
        for p in (await conn.execute(sa.select(outplans).where(outplans.c.id.in_(plan_ids)))).all()
    }
    plan_of = {row.outdial_target_id: row.outplan_id for row in closed}
    present = [sa.case((c.is_(None), 0), else_=1) for c in DEST_COLS]
    targets = (
        await conn.execute(
            sa.select(T.c.id, *present, *TRY_COLS)
            .where(T.c.id.in_(sorted(plan_of)))
            .order_by(T.c.id)
            .with_for_update()
        )
    ).all()
    next_status: dict[TargetStatus, list[uuid.UUID]] = defaultdict(list)
    for target in targets:
        dests = [True if flag else None for flag in target[1:6]]
        limits = plans.get(plan_of[target[0]], (0,) * 5)
        status = status_after_attempt(results[target[0]], dests, target[6:11], limits)
        next_status[status].append(target[0])
    for status, ids in next_status.items():
        await conn.execute(
            sa.update(T)
            .where(T.c.id.in_(ids), T.c.status == TargetStatus.PROGRESSING.value)
            .values(status=status.value, last_attempt_end=now_us, tm_update=now_us)
        )
    per_campaign: dict[uuid.UUID, int] = defaultdict(int)
    for row in closed:
        per_campaign[row.campaign_id] += 1
    for campaign_id in sorted(per_campaign):
        await release(conn, campaign_id, per_campaign[campaign_id], now_us)
    return [row.id for row in closed]


def lost_attempts(now_us: int, stale_before_us: int, limit: int) -> sa.Select[Any]:
    """Open attempts whose lease ran out or whose engine stopped beating."""
    live_engines = sa.select(engines.c.id).where(
        engines.c.heartbeat >= stale_before_us, engines.c.stopped.is_(None)
    )
    return (
        sa.select(CC.c.id, CC.c.campaign_id, CC.c.engine_id)
        .where(
            CC.c.status != CampaigncallStatus.DONE.value,
            sa.or_(CC.c.lease_expires < now_us, CC.c.engine_id.not_in(live_engines)),
        )
        .limit(limit)
        .with_for_update(skip_locked=True, of=CC)
    )


async def unfinished_targets_left(
    conn: AsyncConnection, campaign: Campaign, outplan: Outplan
) -> bool:
    """Whether any live target of the campaign's outdial is in flight or still dialable."""
    stmt = (
        sa.select(T.c.id)
        .where(
            T.c.outdial_id == campaign.outdial_id,
            T.c.tm_delete.is_(None),
            sa.or_(
                T.c.status == TargetStatus.PROGRESSING.value,
                sa.and_(T.c.status == TargetStatus.IDLE.value, dialable(outplan)),
            ),
        )
        .limit(1)
    )
    return (await conn.execute(stmt)).first() is not None


async def stop_when_done(conn: AsyncConnection, campaign_id: uuid.UUID, now_us: int) -> bool:
    """run -> stop for a campaign whose targets are all done and that has nothing in flight."""
    result = await conn.execute(
        sa.update(campaigns)
        .where(
            campaigns.c.id == campaign_id,
            campaigns.c.status == CampaignStatus.RUN.value,
            campaigns.c.in_flight <= 0,
        )
        .values(status=CampaignStatus.STOP.value, tm_update=now_us)
    )
    return result.rowcount == 1
