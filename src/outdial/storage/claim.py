"""The atomic start of attempts (SPEC 3.3): due targets locked, checked and started, and the
campaign's slots and pacing taken, in the caller's transaction.

Every state change here is a guarded UPDATE. On PostgreSQL the due targets are locked with
`FOR UPDATE SKIP LOCKED`, so any number of engines can claim at once and never share a target;
on SQLite the one writer at a time gives the same guarantee. The SQL pre-filters the targets a
claim meets (`eligible`, for speed); what happens to each is `outdial.domain.decision.decide`,
applied by `storage/claim_plan.py`; the end of attempts is `storage/attempt_end.py`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.address import Address
from outdial.domain.eligibility import dial_number
from outdial.domain.ids import NIL_UUID, new_id
from outdial.domain.models import Campaign, Outplan, Target
from outdial.domain.outcome import CallResult
from outdial.domain.retry import Order
from outdial.domain.states import CampaigncallStatus, CampaignStatus, ReferenceType, TargetStatus
from outdial.storage.attempt_end import not_fenced
from outdial.storage.bulk import insert_rows
from outdial.storage.claim_plan import CANDIDATE_COLUMNS, ClaimPlan
from outdial.storage.codec import dump_address, dump_window
from outdial.storage.tables import (
    campaigncalls,
    campaigns,
    outdial_targets,
)

T = outdial_targets
CC = campaigncalls


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
    sip_headers: tuple[tuple[str, str], ...] = ()  # the outplan's, for the INVITE


class NotReserved(Exception):
    """The campaign could not take the attempts; roll the claim's transaction back."""


@dataclass(frozen=True, slots=True)
class Claim:
    attempts: list[Claimed]
    in_flight: int  # the campaign's attempts in flight after this claim
    pace_next_us: int  # and its pacing clock
    skipped: int = 0  # targets put to sleep or made done without an attempt
    # targets made done without an attempt (no destination left to dial), as they are now
    finished: list[Target] = field(default_factory=list)


def dialable(outplan: Outplan) -> sa.ColumnElement[bool]:
    """Some destination is set and has tries left under this outplan."""
    slots = [
        sa.and_(T.c[f"destination_{n}"].is_not(None), T.c[f"try_count_{n}"] < limit)
        for n, limit in enumerate(outplan.max_try_counts)
        if limit > 0
    ]
    return sa.or_(*slots) if slots else sa.false()


def eligible(
    campaign: Campaign, outplan: Outplan, cutoff_us: int, now_us: int
) -> list[sa.ColumnElement[bool]]:
    """The idle live targets of the outdial that a claim meets: those with a destination to
    dial that are due (the last attempt ended `try_interval` ago, any compliance sleep over),
    and, due or not, those that no destination can dial, which the claim marks done."""
    cooled = sa.or_(T.c.last_attempt_end.is_(None), T.c.last_attempt_end <= cutoff_us)
    due = sa.and_(
        # a retry rule's or a schedule's time replaces try_interval (issue 17)
        sa.or_(sa.and_(T.c.retry_at.is_(None), cooled), T.c.retry_at <= now_us),
        sa.or_(T.c.not_before.is_(None), T.c.not_before <= now_us),
    )
    return [
        T.c.outdial_id == campaign.outdial_id,
        T.c.status == TargetStatus.IDLE.value,
        T.c.tm_delete.is_(None),
        sa.or_(due, sa.not_(dialable(outplan))),
    ]


def claim_order(order: Order) -> tuple[sa.ColumnElement[Any], ...]:
    """The claim's ORDER BY under the outplan's `order` (SPEC 3.10), each the key of a
    partial index on idle live targets (`tables.py`), so the claim stays one range scan."""
    if order is Order.FIFO:
        return (T.c.tm_create, T.c.id)  # ix_outdial_targets_idle_fifo
    if order is Order.PRIORITY:
        return (T.c.priority.desc(), T.c.tm_update, T.c.id)  # ix_outdial_targets_idle_priority
    return (T.c.tm_update, T.c.id)  # ix_outdial_targets_idle


def candidates(campaign: Campaign, outplan: Outplan, limit: int, now_us: int) -> sa.Select[Any]:
    """The claim's one statement that finds and locks its batch: a range scan of the partial
    index of the outplan's order, due targets first in that order (EXPLAIN plans at 1 M
    targets: docs/benchmarks.md, issue 17)."""
    cutoff = now_us - outplan.try_interval * 1000
    return (
        sa.select(*CANDIDATE_COLUMNS)
        .where(*eligible(campaign, outplan, cutoff, now_us))
        .order_by(*claim_order(outplan.order))
        .limit(limit)
        .with_for_update(skip_locked=True, of=T)
    )


async def reserve(
    conn: AsyncConnection,
    campaign_id: uuid.UUID,
    count: int,
    now_us: int,
    step_us: int,
    engine_id: str | None = None,
) -> tuple[int, int] | None:
    """Take `count` slots of the campaign's concurrency and its pacing budget in one guarded
    UPDATE: the campaign must run, have the room, and be due (`pace_next <= now`); its pacing
    clock moves `count` intervals past max(pace_next, now); with `engine_id`, that engine must
    not be fenced (attempt_end.not_fenced). Returns (in_flight, pace_next)."""
    fence = [] if engine_id is None else [not_fenced(engine_id)]
    due = sa.case((campaigns.c.pace_next > now_us, campaigns.c.pace_next), else_=now_us)
    result = await conn.execute(
        sa.update(campaigns)
        .where(
            campaigns.c.id == campaign_id,
            campaigns.c.status == CampaignStatus.RUN.value,
            campaigns.c.tm_delete.is_(None),
            campaigns.c.in_flight + count <= campaigns.c.max_concurrent_calls,
            campaigns.c.pace_next <= now_us,
            *fence,
        )
        .values(in_flight=campaigns.c.in_flight + count, pace_next=due + count * step_us)
        .returning(campaigns.c.in_flight, campaigns.c.pace_next)
    )
    row = result.first()
    return None if row is None else (int(row.in_flight), int(row.pace_next))


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
    calling_codes: tuple[str, ...] = (),
) -> Claim:
    """Start up to `limit` attempts for a campaign in the caller's transaction.
    `calling_codes`: the customer's allowed calling codes (a tel destination outside them is
    used up with a `destination_not_allowed` skip, never dialed).

    The due targets are locked first (skipping any another engine holds) and checked against
    the compliance rules (docs/compliance.md): a destination on a live do-not-call entry is
    used up and the next one tried; a destination outside its calling window, or whose number
    is over a per-number limit, puts the target to sleep (`not_before`) so later rounds pass
    it by. A target that no destination can dial under the outplan (every set one disabled
    or used up, say after a `PUT dial_info`) is met whether due or not and made `done`, with
    the skip `no_dialable_destination`. Every such skip is logged in `dial_skips`. The rest
    are started; the campaign is reserved for exactly that many at the end, so its row stays
    locked only briefly. Raises NotReserved when the campaign cannot take them (stopped, full,
    or not due yet): the caller must roll the transaction back. Otherwise returns the attempts
    started (maybe none), the targets made done and the campaign's pacing state."""
    if limit <= 0:
        return Claim([], -1, -1)
    found = (await conn.execute(candidates(campaign, outplan, limit, now_us))).all()
    if not found:
        return Claim([], -1, -1)
    plan = ClaimPlan(conn, campaign, outplan, now_us, calling_codes)
    await plan.prepare(found)
    plan.decide_all()
    await plan.write()
    picked = plan.started
    if not picked:
        return Claim([], -1, -1, skipped=plan.skipped, finished=plan.finished)
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
            sip_headers=outplan.sip_headers,
        )
        for tid, n, dest, tries in picked
    ]
    window = dump_window(outplan.call_window)
    rows = [_campaigncall_row(c, campaign, outplan, now_us, engine_id, window) for c in started]
    await insert_rows(conn, CC, rows)
    # The campaign row is taken last, so it stays locked only until the commit that follows.
    reserved = await reserve(conn, campaign.id, len(started), now_us, pace_step_us, engine_id)
    if reserved is None:
        raise NotReserved(campaign.id)
    in_flight, pace_next = reserved
    return Claim(started, in_flight, pace_next, skipped=plan.skipped, finished=plan.finished)


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
        "reference_type": (  # issue 12: a flow campaign's attempt has no call
            ReferenceType.FLOW.value if campaign.type == "flow" else ReferenceType.CALL.value
        ),
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
        # issue 12: what the call heard (filled when it ends)
        "amd_result": "",
        "amd_ms": 0,
        "digits": "",
        "opted_out": False,
        "hangup_detail": "",
        "ended_by": None,
        # issue 13: agents (filled when the callee is connected or abandoned)
        "agent_id": None,
        "abandoned": False,
        "tm_abandon": None,
        "tm_connect": None,
        "disposition": "",
        "disposition_note": "",
        "callback_at": None,
        "callback_agent_id": None,
    }
