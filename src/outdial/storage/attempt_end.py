"""The atomic end of attempts (SPEC 3.5, 3.7, 3.8): answered calls marked, ended ones closed
exactly once set-wise (campaigncalls done, targets idle or done, campaign slots given back),
lost ones found, and a finished campaign stopped. Every change is a guarded UPDATE."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.models import Campaign
from outdial.domain.outcome import CallOutcome, CallResult
from outdial.domain.retry import after_attempt
from outdial.domain.states import (
    CAMPAIGN_TRANSITIONS,
    CAMPAIGNCALL_TRANSITIONS,
    TARGET_TRANSITIONS,
    CampaigncallStatus,
    CampaignStatus,
    TargetStatus,
)
from outdial.metrics import FENCED_WRITES, IN_FLIGHT_DRIFT
from outdial.storage.codec import load_retry_rules
from outdial.storage.tables import (
    TARGET_DESTINATIONS,
    TARGET_TRY_COUNTS,
    campaigncalls,
    campaigns,
    engines,
    outdial_targets,
    outplans,
)
from outdial.storage.transitions import moves_to

T = outdial_targets
CC = campaigncalls
Row = sa.Row[Any]
DEST_COLS = TARGET_DESTINATIONS
TRY_COLS = TARGET_TRY_COUNTS
CC_MOVES = CAMPAIGNCALL_TRANSITIONS
CC_PROGRESSING, CC_DONE = CampaigncallStatus.PROGRESSING, CampaigncallStatus.DONE
STOP = CampaignStatus.STOP
IN_FLIGHT = [TargetStatus.PROGRESSING]
PLAN_LIMITS = tuple(outplans.c[f"max_try_count_{n}"] for n in range(5))
log = logging.getLogger("outdial.engine")
C_STATUS = campaigns.c.status


async def release(
    conn: AsyncConnection, campaign_id: uuid.UUID, count: int, now_us: int
) -> Row | None:
    """Give back slots; a stopping campaign with nothing left in flight becomes stop. Returns
    the campaign row when this release made it stop (so the caller says so), else None.

    A drift (more attempts ended than `in_flight` counted, say a row edited by hand) is never
    hidden: `in_flight` stops at 0, and the drift is logged and counted
    (`outdial_in_flight_drift`). The common case is one guarded UPDATE (`in_flight >= count`);
    only a drift takes the row's lock, and only a stopping campaign pays a second statement."""
    if count <= 0:
        return None
    C = campaigns
    given_back = (
        await conn.execute(
            sa.update(C)
            .where(C.c.id == campaign_id, C.c.in_flight >= count)
            .values(in_flight=C.c.in_flight - count)
            .returning(C.c.status, C.c.in_flight)
        )
    ).first()
    if given_back is None:
        row = (
            await conn.execute(
                sa.select(C.c.in_flight).where(C.c.id == campaign_id).with_for_update()
            )
        ).first()
        if row is None:
            return None
        had = int(row.in_flight)
        left = max(had - count, 0)
        await conn.execute(sa.update(C).where(C.c.id == campaign_id).values(in_flight=left))
        drift = max(count - had, 0)
        if drift:
            IN_FLIGHT_DRIFT.inc(drift)
            log.warning(
                "in_flight drift: %d attempts ended but %d counted in flight; set to %d",
                count,
                had,
                left,
                extra={"action": "in_flight_drift", "campaign_id": str(campaign_id)},
            )
    elif given_back.status != CampaignStatus.STOPPING.value or given_back.in_flight > 0:
        return None
    stopped = await conn.execute(
        sa.update(C)
        .where(
            C.c.id == campaign_id,
            moves_to(C_STATUS, CAMPAIGN_TRANSITIONS, STOP, from_=[CampaignStatus.STOPPING]),
            C.c.in_flight <= 0,
        )
        .values(status=STOP.value, tm_update=now_us)
        .returning(*C.c)
    )
    return stopped.first()


def held_by(owner: str | None) -> list[sa.ColumnElement[bool]]:
    """The fencing guard of an engine's write to its attempts: the attempt is still this
    engine's (`engine_id`, one registration of one process: `Engine.id`). With the status
    guards (an attempt recovered as `lost` is `done`, and `done` is final) a stale engine's
    write changes nothing. `owner` None: no owner guard (recovery, which takes over)."""
    return [] if owner is None else [CC.c.engine_id == owner]


async def not_ours(
    conn: AsyncConnection, campaigncall_ids: Sequence[uuid.UUID], owner: str | None
) -> list[uuid.UUID]:
    """Of the attempts whose write by `owner` changed nothing, those that `owner` had lost:
    held by another engine id, or ended by someone else (recovered as `lost`). An attempt
    `owner` had itself ended already (a retried write) is not among them. Counted in
    `outdial_engine_fenced_writes_total`."""
    if owner is None or not campaigncall_ids:
        return []
    found = await conn.execute(
        sa.select(CC.c.id).where(
            CC.c.id.in_(sorted(set(campaigncall_ids))),
            sa.or_(
                CC.c.engine_id != owner,
                sa.and_(
                    CC.c.status == CC_DONE.value,
                    sa.or_(CC.c.ended_by.is_(None), CC.c.ended_by != owner),
                ),
            ),
        )
    )
    lost = sorted(row.id for row in found)
    FENCED_WRITES.inc(len(lost))
    return lost


async def mark_answered(
    conn: AsyncConnection,
    campaigncall_ids: Sequence[uuid.UUID],
    now_us: int,
    *,
    owner: str | None = None,
) -> list[Row]:
    """dialing -> progressing for answered calls (guarded; already ended ones stay; with
    `owner`, only attempts still held by that engine). Returns the campaigncall rows it
    changed, as they now are."""
    if not campaigncall_ids:
        return []
    result = await conn.execute(
        sa.update(CC)
        .where(
            CC.c.id.in_(campaigncall_ids),
            moves_to(CC.c.status, CC_MOVES, CC_PROGRESSING),
            *held_by(owner),
        )
        .values(status=CampaigncallStatus.PROGRESSING.value, tm_update=now_us)
        .returning(*CC.c)
    )
    return list(result.all())


@dataclass(frozen=True, slots=True)
class Ended:
    """What `finish` changed: the campaigncalls it closed and the campaigns it stopped (a
    stopping campaign whose last call ended), each row as it now is."""

    calls: list[Row]
    stopped: list[Row]
    # ends refused by the fence: attempts the writing engine no longer held (`not_ours`)
    fenced: list[uuid.UUID] = field(default_factory=list)


async def finish(
    conn: AsyncConnection,
    ended: Sequence[tuple[uuid.UUID, CallOutcome]],
    now_us: int,
    *,
    owner: str | None = None,
    by: str | None = None,
) -> Ended:
    """End attempts exactly once, set-wise: campaigncalls done, targets idle or done, campaign
    slots given back. Returns the campaigncalls that were still open (the rest were already
    ended, by recovery say, and are left alone) and the campaigns that stopped.

    `owner`: the engine writing its own attempts' ends; only attempts it still holds are
    ended (`held_by`), and those it had lost are returned in `fenced`. `by`: the engine that
    writes the end, kept in `ended_by` (defaults to `owner`)."""
    by = by or owner
    by_outcome: dict[CallOutcome, list[uuid.UUID]] = defaultdict(list)
    for cid, outcome in ended:
        by_outcome[outcome].append(cid)
    closed: list[Row] = []
    counted: dict[uuid.UUID, Row] = {}  # target -> its ended attempt, when it counts as a try
    given_back: dict[int, list[uuid.UUID]] = defaultdict(list)
    for outcome, ids in by_outcome.items():
        done = await conn.execute(
            sa.update(CC)
            .where(
                CC.c.id.in_(sorted(ids)),
                moves_to(CC.c.status, CC_MOVES, CC_DONE),
                *held_by(owner),
            )
            .values(
                status=CampaigncallStatus.DONE.value,
                ended_by=by,
                result=outcome.result.value,
                hangup_reason=outcome.reason.value,
                sip_code=outcome.sip_code,
                amd_result=outcome.amd_result,
                amd_ms=outcome.amd_ms,
                digits=outcome.digits,
                opted_out=outcome.opted_out,
                # a detail the attempt got while it ran (service_timeout) is kept
                hangup_detail=outcome.public_detail or CC.c.hangup_detail,
                tm_update=now_us,
                lease_expires=None,
            )
            .returning(*CC.c)
        )
        for row in done.all():
            closed.append(row)
            if outcome.counts_as_try:
                counted[row.outdial_target_id] = row
            else:
                given_back[row.destination_index].append(row.outdial_target_id)
    refused = {cid for cid, _ in ended} - {row.id for row in closed}
    fenced = await not_ours(conn, sorted(refused), owner) if refused else []
    if not closed:
        return Ended([], [], fenced)
    for index in sorted(given_back):  # the trunk was down: these tries do not count
        column = TRY_COLS[index]
        await conn.execute(
            sa.update(T)
            .where(T.c.id.in_(sorted(given_back[index])), column > 0)
            .values({column.name: column - 1})
        )
    await _move_targets(conn, closed, counted, now_us)
    per_campaign: dict[uuid.UUID, int] = defaultdict(int)
    for row in closed:
        per_campaign[row.campaign_id] += 1
    stopped = []
    for campaign_id in sorted(per_campaign):
        went_stop = await release(conn, campaign_id, per_campaign[campaign_id], now_us)
        if went_stop is not None:
            stopped.append(went_stop)
    return Ended(closed, stopped, fenced)


async def _move_targets(
    conn: AsyncConnection, closed: Sequence[Row], counted: dict[uuid.UUID, Row], now_us: int
) -> None:
    """The ended attempts' targets to idle or done, as the outplan's retry rules say (issue
    17; none, or none matching: SPEC 3.5 and `try_interval`, as before), set-wise: one
    UPDATE per distinct (status, destination used up, next try, note)."""
    plan_ids = sorted({row.outplan_id for row in closed})
    found_plans = await conn.execute(
        sa.select(outplans.c.id, outplans.c.retry_rules, *PLAN_LIMITS).where(
            outplans.c.id.in_(plan_ids)
        )
    )
    plans = {p[0]: (load_retry_rules(p[1]), tuple(p[2:7])) for p in found_plans.all()}
    call_of = {row.outdial_target_id: row for row in closed}
    present = [sa.case((c.is_(None), 0), else_=1) for c in DEST_COLS]
    targets = (
        await conn.execute(
            sa.select(T.c.id, *present, *TRY_COLS)
            .where(T.c.id.in_(sorted(call_of)))
            .order_by(T.c.id)
            .with_for_update()
        )
    ).all()
    Key = tuple[TargetStatus, tuple[int, int] | None, int | None, str | None]
    groups: dict[Key, list[uuid.UUID]] = defaultdict(list)
    for target in targets:
        call = call_of[target[0]]
        rules, limits = plans.get(call.outplan_id, ((), (0,) * 5))
        dests = [True if flag else None for flag in target[1:6]]
        counts = tuple(target[6:11])
        facts = _facts(counted[target[0]]) if target[0] in counted else None
        result = CallResult(call.result)
        after = after_attempt(
            result, facts, rules, call.destination_index, dests, counts, limits, now_us
        )
        used_up = None if after.used_up is None else (after.used_up, limits[after.used_up])
        groups[(after.status, used_up, after.retry_at_us, after.note)].append(target[0])
    for (status, used_up, retry_at, note), ids in groups.items():
        values: dict[str, Any] = {
            "status": status.value,
            "last_attempt_end": now_us,
            "tm_update": now_us,
            "retry_at": retry_at,
            "retry_note": note,
        }
        if used_up is not None:  # the destination counts as used up: its tries at the limit
            column, limit = TRY_COLS[used_up[0]], used_up[1]
            values[column.name] = sa.case((column < limit, limit), else_=column)
        await conn.execute(
            sa.update(T)
            .where(
                T.c.id.in_(ids), moves_to(T.c.status, TARGET_TRANSITIONS, status, from_=IN_FLIGHT)
            )
            .values(values)
        )


def _facts(call: Row) -> dict[str, Any]:
    """What a retry rule's `when` is matched against. `disposition`, when the campaigncall
    has one (set by an agent); absent or empty never matches."""
    m = call._mapping
    return {
        "hangup_reason": call.hangup_reason,
        "amd_result": call.amd_result or None,
        "sip_code": call.sip_code,
        "disposition": m.get("disposition") or None,
    }


def lost_attempts(now_us: int, stale_before_us: int, limit: int) -> sa.Select[Any]:
    """Open attempts whose lease ran out or whose engine stopped beating (or was fenced);
    `dead` says which were taken for their engine (that engine is to be fenced)."""
    live_engines = sa.select(engines.c.id).where(
        engines.c.heartbeat >= stale_before_us,
        engines.c.stopped.is_(None),
        engines.c.fenced.is_(None),
    )
    dead = CC.c.engine_id.not_in(live_engines)
    return (
        sa.select(CC.c.id, CC.c.campaign_id, CC.c.engine_id, dead.label("dead"))
        .where(
            CC.c.status != CampaigncallStatus.DONE.value,
            sa.or_(CC.c.lease_expires < now_us, dead),
        )
        .limit(limit)
        .with_for_update(skip_locked=True, of=CC)
    )


async def fence(conn: AsyncConnection, engine_ids: Sequence[str], now_us: int) -> list[str]:
    """Mark engines whose attempts are being recovered for their silence as fenced, in the
    recovery's transaction. Unconditional on the heartbeat: an engine whose beat arrived
    between the recovery's read and this write has lost those attempts all the same, and
    must learn it (its next heartbeat is refused). Returns the engines newly fenced."""
    if not engine_ids:
        return []
    result = await conn.execute(
        sa.update(engines)
        .where(engines.c.id.in_(sorted(set(engine_ids))), engines.c.fenced.is_(None))
        .values(fenced=now_us)
        .returning(engines.c.id)
    )
    return sorted(row.id for row in result)


def not_fenced(engine_id: str) -> sa.ColumnElement[bool]:
    """The claim's fence: the claiming engine has not been fenced (an engine id that never
    registered, as in storage tests, is not fenced)."""
    return ~sa.exists().where(engines.c.id == engine_id, engines.c.fenced.is_not(None))


async def unfinished_targets_left(conn: AsyncConnection, campaign: Campaign) -> bool:
    """Whether any live target of the campaign's outdial is not `done` yet (SPEC 3.7). An idle
    target that no destination can dial counts until a claim meets it and makes it done (the
    claim meets such targets whether due or not), so a campaign never stops on idle targets."""
    stmt = (
        sa.select(T.c.id)
        .where(
            T.c.outdial_id == campaign.outdial_id,
            T.c.tm_delete.is_(None),
            T.c.status.in_([TargetStatus.IDLE.value, TargetStatus.PROGRESSING.value]),
        )
        .limit(1)
    )
    return (await conn.execute(stmt)).first() is not None


async def stop_when_done(conn: AsyncConnection, campaign_id: uuid.UUID, now_us: int) -> Row | None:
    """run -> stop for a campaign whose targets are all done and that has nothing in flight.
    Returns the stopped campaign row, or None when the guard did not hold."""
    result = await conn.execute(
        sa.update(campaigns)
        .where(
            campaigns.c.id == campaign_id,
            moves_to(campaigns.c.status, CAMPAIGN_TRANSITIONS, STOP, from_=[CampaignStatus.RUN]),
            campaigns.c.in_flight <= 0,
        )
        .values(status=CampaignStatus.STOP.value, tm_update=now_us)
        .returning(*campaigns.c)
    )
    return result.first()
