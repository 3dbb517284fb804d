"""Why is a target (not) dialed: eligibility, campaign preview and the compliance log (issue 6).

Computed without dialing: the service reads what the claim would read (the target, the outplan,
DNC entries and the calls made to the numbers) and asks the one dial decision,
`outdial.domain.decision.decide`, which the claim applies (issue 15).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.address import Address
from outdial.domain.agents import ABANDON_HOLD_US
from outdial.domain.callwindow import is_open
from outdial.domain.decision import Decision, Facts, decide
from outdial.domain.eligibility import (
    DAY_US,
    NEVER,
    SKIPS_DESTINATION,
    Blocker,
    Reason,
    destination_zones,
    dial_number,
)
from outdial.domain.errors import InvalidArgument, NotFound
from outdial.domain.ids import NIL_UUID
from outdial.domain.models import Campaign, Outplan, Target
from outdial.domain.retry import order_detail
from outdial.domain.states import CampaignStatus
from outdial.services.context import Context
from outdial.services.lookup import owned
from outdial.storage import compliance, quota, repo, rows
from outdial.storage import targets as target_rows
from outdial.storage.codec import load_address, load_call_window
from outdial.storage.pagination import Cursor
from outdial.storage.tables import (
    campaigncalls,
    campaigns,
    dial_skips,
    dnc_entries,
    outdial_targets,
    outdials,
    outplans,
)
from outdial.storage.timeconv import from_us, to_us
from outdial.wire.common import ts

PREVIEW_CHUNK = 2000
T = outdial_targets


@dataclass(frozen=True, slots=True)
class Eligibility:
    dialable_now: bool
    reasons: list[Blocker]
    campaign_id: uuid.UUID | None
    decision: Decision | None = None  # None: no campaign or outplan to decide under
    priority: int = 0  # the target's (issue 17)
    order: str = ""  # the outplan's `order` ("" without one) and what it means for the target
    order_detail: str = ""


@dataclass(frozen=True, slots=True)
class Preview:
    campaign_id: uuid.UUID
    campaign_status: str
    pacing_full: bool
    total: int
    dialable_now: int
    later: dict[str, int]
    never: dict[str, int]
    at: datetime


def _numbers(targets: Iterable[Target]) -> set[str]:
    out: set[str] = set()
    for t in targets:
        for dest in t.destinations:
            number = None if dest is None else dial_number(dest)
            if number is not None:
                out.add(number)
    return out


class EligibilityService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def _facts(
        self,
        conn: AsyncConnection,
        campaign: Campaign,
        plan: Outplan,
        targets: Sequence[Target],
        in_flight: int,
    ) -> Facts:
        now_us = self.ctx.now_us()
        numbers = _numbers(targets)
        listed = await compliance.listed_numbers(conn, campaign.customer_id, numbers, now_us)
        lookback = max(DAY_US, plan.min_number_gap * 1000)
        calls: dict[str, list[int]] = {}
        if plan.max_attempts_per_number_24h > 0 or plan.min_number_gap > 0:
            calls = await compliance.calls_to(
                conn, campaign.customer_id, numbers, now_us - lookback
            )
        since = now_us - ABANDON_HOLD_US
        abandoned = await compliance.abandoned_numbers(conn, campaign.customer_id, numbers, since)
        return Facts(
            listed=listed,
            calls=calls,
            abandoned=abandoned,
            calling_codes=await quota.calling_codes(conn, campaign.customer_id),
            campaign_running=campaign.status is CampaignStatus.RUN,
            pacing_full=in_flight >= campaign.max_concurrent_calls,
        )

    async def _campaign(
        self, conn: AsyncConnection, customer_id: uuid.UUID, campaign_id: uuid.UUID
    ) -> tuple[Campaign, Outplan | None, int]:
        row = await owned(
            conn, campaigns, customer_id, campaign_id, "CAMPAIGN_NOT_FOUND", "campaign"
        )
        campaign = rows.campaign(row)
        plan_row = await repo.get(conn, outplans, campaign.outplan_id)
        plan = None
        if plan_row is not None and plan_row.tm_delete is None:
            plan = rows.outplan(plan_row)
        return campaign, plan, int(row.in_flight)

    async def target(
        self,
        customer_id: uuid.UUID,
        outdial_id: uuid.UUID,
        target_id: uuid.UUID,
        campaign_id: uuid.UUID | None,
    ) -> Eligibility:
        async with self.ctx.db.read() as conn:
            outdial = await owned(
                conn, outdials, customer_id, outdial_id, "OUTDIAL_NOT_FOUND", "outdial"
            )
            found = await target_rows.get_owned(conn, customer_id, outdial_id, target_id)
            if found is None:
                raise NotFound(f"target {target_id} not found", reason="OUTDIAL_TARGET_NOT_FOUND")
            target = rows.target(found)
            chosen = campaign_id if campaign_id is not None else outdial.campaign_id
            if chosen == NIL_UUID:
                why = "the outdial is not attached to a campaign (give campaign_id)"
                blocker = Blocker(Reason.CAMPAIGN_NOT_RUNNING, None, why)
                return Eligibility(False, [blocker], None, priority=target.priority)
            campaign, plan, in_flight = await self._campaign(conn, customer_id, chosen)
            if campaign.outdial_id != outdial_id:
                raise InvalidArgument(
                    f"campaign {chosen} does not dial outdial {outdial_id}",
                    reason="INVALID_REFERENCE",
                )
            if plan is None:
                why = "the campaign's outplan is missing or deleted"
                blocker = Blocker(Reason.CAMPAIGN_NOT_RUNNING, None, why)
                return Eligibility(False, [blocker], campaign.id, priority=target.priority)
            facts = await self._facts(conn, campaign, plan, [target], in_flight)
        decision = decide(target, plan, facts, self.ctx.now())
        return Eligibility(
            decision.dialable_now,
            list(decision.reasons),
            campaign.id,
            decision,
            priority=target.priority,
            order=plan.order.value,
            order_detail=order_detail(plan.order, target.priority),
        )

    async def preview(self, customer_id: uuid.UUID, campaign_id: uuid.UUID) -> Preview:
        """Counts over the live targets of the campaign's outdial: dialable now, later (by the
        first reason) and never (by reason), as if the campaign were running with room."""
        now = self.ctx.now()
        later: Counter[str] = Counter()
        never: Counter[str] = Counter()
        total = dialable = 0
        async with self.ctx.db.read() as conn:
            campaign, plan, in_flight = await self._campaign(conn, customer_id, campaign_id)
            if plan is not None and campaign.outdial_id != NIL_UUID:
                last: uuid.UUID | None = None
                while True:
                    stmt = sa.select(T).where(
                        T.c.outdial_id == campaign.outdial_id, T.c.tm_delete.is_(None)
                    )
                    if last is not None:
                        stmt = stmt.where(T.c.id > last)
                    found = (await conn.execute(stmt.order_by(T.c.id).limit(PREVIEW_CHUNK))).all()
                    if not found:
                        break
                    chunk = [rows.target(r) for r in found]
                    last = chunk[-1].id
                    facts = await self._facts(conn, campaign, plan, chunk, 0)
                    facts = Facts(
                        facts.listed, facts.calls, calling_codes=facts.calling_codes, windows={}
                    )
                    for target in chunk:
                        total += 1
                        kind, reason = _classify(decide(target, plan, facts, now).reasons)
                        if kind == "now":
                            dialable += 1
                        elif kind == "never":
                            never[reason] += 1
                        else:
                            later[reason] += 1
        return Preview(
            campaign_id=campaign.id,
            campaign_status=campaign.status,
            pacing_full=in_flight >= campaign.max_concurrent_calls,
            total=total,
            dialable_now=dialable,
            later=dict(sorted(later.items())),
            never=dict(sorted(never.items())),
            at=now,
        )

    async def compliance(
        self, customer_id: uuid.UUID, campaign_id: uuid.UUID, cursor: Cursor | None, limit: int
    ) -> tuple[list[dict[str, Any]], tuple[datetime, uuid.UUID] | None]:
        """The campaign's attempts and skips, newest first, each with the proof it needs."""
        async with self.ctx.db.read() as conn:
            campaign, plan, _ = await self._campaign(conn, customer_id, campaign_id)
            page = await _log_page(conn, campaign.id, cursor, limit)
            calls = [r for r in page if r.kind == "attempt"]
            skips = [r for r in page if r.kind == "skip"]
            call_rows = await _by_id(conn, campaigncalls, [r.id for r in calls])
            skip_rows = await _by_id(conn, dial_skips, [r.id for r in skips])
            target_ids = {r.outdial_target_id for r in call_rows.values()}
            zones_of = await _target_zones(conn, target_ids)
            numbers = {r.destination_number for r in call_rows.values() if r.destination_number}
            history = await _dnc_history(conn, customer_id, numbers)
        current = None if plan is None else plan.call_window
        out: list[dict[str, Any]] = []
        for ref in page:
            if ref.kind == "skip":
                s = skip_rows[ref.id]
                out.append(_skip_json(s))
                continue
            c = call_rows[ref.id]
            at = from_us(c.tm_create)
            dest = load_address(c.destination)
            zones: tuple[str, ...] = ()
            # The window the claim checked; attempts from before it was kept: today's.
            window = current if c.call_window is None else load_call_window(c.call_window)
            inside = True
            if window is not None and dest is not None:
                zones = destination_zones(dest, zones_of.get(c.outdial_target_id), window)
                inside = is_open(window, at, zones)
            number = c.destination_number
            listed = number is not None and any(
                _live_at(e, c.tm_create) for e in history.get(number, ())
            )
            out.append(_attempt_json(c, dest, at, zones, inside, listed))
        last = page[-1] if page else None
        return out, (None if last is None else (from_us(last.tm_create), last.id))


def _classify(found: Sequence[Blocker]) -> tuple[str, str]:
    reasons = [b for b in found if b.blocking]
    if not reasons:
        return "now", ""
    kinds = {r.reason for r in reasons}
    for skip in (Reason.DESTINATION_NOT_ALLOWED, Reason.DNC_LISTED):
        if skip in kinds:  # blocking only when no destination is left
            return "never", skip.value
    for b in reasons:
        if b.reason in NEVER:
            return "never", b.reason.value
        if b.reason is Reason.WINDOW_CLOSED and b.clears_at is None:
            return "never", b.reason.value
    first = next((b for b in reasons if b.reason not in SKIPS_DESTINATION), reasons[0])
    return "later", first.reason.value


@dataclass(frozen=True, slots=True)
class _Ref:
    id: uuid.UUID
    tm_create: int
    kind: str


async def _log_page(
    conn: AsyncConnection, campaign_id: uuid.UUID, cursor: Cursor | None, limit: int
) -> list[_Ref]:
    cc, sk = campaigncalls, dial_skips
    union = sa.union_all(
        sa.select(cc.c.id, cc.c.tm_create, sa.literal("attempt").label("kind")).where(
            cc.c.campaign_id == campaign_id
        ),
        sa.select(sk.c.id, sk.c.tm_create, sa.literal("skip").label("kind")).where(
            sk.c.campaign_id == campaign_id
        ),
    ).subquery()
    stmt = sa.select(union.c.id, union.c.tm_create, union.c.kind)
    if cursor is not None:
        at_us = to_us(cursor[0])
        if cursor[1] is None:
            stmt = stmt.where(union.c.tm_create < at_us)
        else:
            stmt = stmt.where(
                sa.or_(
                    union.c.tm_create < at_us,
                    sa.and_(union.c.tm_create == at_us, union.c.id < cursor[1]),
                )
            )
    stmt = stmt.order_by(union.c.tm_create.desc(), union.c.id.desc()).limit(limit)
    return [_Ref(r.id, int(r.tm_create), r.kind) for r in (await conn.execute(stmt)).all()]


async def _by_id(conn: AsyncConnection, table: sa.Table, ids: list[uuid.UUID]) -> dict[Any, Any]:
    if not ids:
        return {}
    found = (await conn.execute(sa.select(table).where(table.c.id.in_(ids)))).all()
    return {r.id: r for r in found}


async def _target_zones(conn: AsyncConnection, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    stmt = sa.select(T.c.id, T.c.timezone).where(T.c.id.in_(sorted(ids)))
    return {r.id: r.timezone for r in (await conn.execute(stmt)).all() if r.timezone}


async def _dnc_history(
    conn: AsyncConnection, customer_id: uuid.UUID, numbers: set[str]
) -> dict[str, list[Any]]:
    if not numbers:
        return {}
    e = dnc_entries
    stmt = sa.select(e.c.number, e.c.tm_create, e.c.expire, e.c.tm_delete).where(
        e.c.customer_id == customer_id, e.c.number.in_(sorted(numbers))
    )
    out: dict[str, list[Any]] = defaultdict(list)
    for r in (await conn.execute(stmt)).all():
        out[r.number].append(r)
    return out


def _live_at(entry: Any, at_us: int) -> bool:
    return bool(
        entry.tm_create <= at_us
        and (entry.expire is None or entry.expire > at_us)
        and (entry.tm_delete is None or entry.tm_delete > at_us)
    )


def _skip_json(s: Any) -> dict[str, Any]:
    return {
        "type": "skip",
        "id": str(s.id),
        "time": ts(from_us(s.tm_create)),
        "outdial_target_id": str(s.outdial_target_id),
        "destination_index": s.destination_index,
        "number": s.number,
        "reason": s.reason,
        "detail": s.detail,
        "clears_at": None if s.clears_at is None else ts(from_us(s.clears_at)),
    }


def _attempt_json(
    c: Any,
    dest: Address | None,
    at: datetime,
    zones: Sequence[str],
    inside: bool,
    listed: bool,
) -> dict[str, Any]:
    return {
        "type": "attempt",
        "id": str(c.id),
        "time": ts(at),
        "outdial_target_id": str(c.outdial_target_id),
        "destination_index": c.destination_index,
        "number": c.destination_number or ("" if dest is None else dest.target),
        "zones": list(zones),
        "local_time": {
            z: at.astimezone(ZoneInfo(z)).strftime("%Y-%m-%d %H:%M:%S %a") for z in zones
        },
        "inside_window": inside,
        "dnc_listed": listed,
        "status": c.status,
        "result": c.result,
        "hangup_reason": c.hangup_reason,
        **_agent_fields(c),
    }


def _agent_fields(c: Any) -> dict[str, Any]:
    """The agent's part of an attempt, each key only when set (docs/compliance.md): who
    talked (`agent_id`), the disposition, its `note` and the `callback_at` asked for."""
    out: dict[str, Any] = {}
    if c.agent_id is not None and c.agent_id != NIL_UUID:
        out["agent_id"] = str(c.agent_id)
    if c.disposition:
        out["disposition"] = c.disposition
    if c.disposition_note:
        out["note"] = c.disposition_note
    if c.callback_at is not None:
        out["callback_at"] = ts(from_us(c.callback_at))
    return out
