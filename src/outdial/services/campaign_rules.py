"""Campaign rules that need the database: reference checks, outdial attachment, run and stop.

Every status change is a guarded UPDATE on the campaign row (never read-check-write), its WHERE
taken from the transition table (`domain/states.py`, through `storage/transitions.py`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.errors import InvalidArgument
from outdial.domain.ids import NIL_UUID
from outdial.domain.states import CAMPAIGN_TRANSITIONS, CampaignStatus
from outdial.storage import repo
from outdial.storage.tables import campaigns, outdials, outplans, queues
from outdial.storage.transitions import moves_to

Row = sa.Row[Any]


async def live_ref(
    conn: AsyncConnection, table: sa.Table, customer_id: uuid.UUID, id_: uuid.UUID, field: str
) -> Row:
    """The customer's live row `id_` of `table`, else 400 INVALID_REFERENCE."""
    return await _live(conn, table, customer_id, id_, field)


async def _live(
    conn: AsyncConnection, table: sa.Table, customer_id: uuid.UUID, id_: uuid.UUID, field: str
) -> Row:
    row = await repo.get(conn, table, id_)
    if row is None or row.customer_id != customer_id:
        raise InvalidArgument(f"{field} {id_} does not exist", reason="INVALID_REFERENCE")
    if row.tm_delete is not None:
        raise InvalidArgument(f"{field} {id_} is deleted", reason="INVALID_REFERENCE")
    return row


async def validate_refs(
    conn: AsyncConnection, customer_id: uuid.UUID, campaign_id: uuid.UUID, refs: Mapping[str, Any]
) -> None:
    """outplan, outdial and next campaign: set ones must exist, be the customer's, be live;
    an outdial belongs to at most one campaign."""
    if refs["outplan_id"] != NIL_UUID:
        await _live(conn, outplans, customer_id, refs["outplan_id"], "outplan_id")
    if refs["outdial_id"] != NIL_UUID:
        row = await _live(conn, outdials, customer_id, refs["outdial_id"], "outdial_id")
        if row.campaign_id not in (NIL_UUID, campaign_id):
            raise InvalidArgument(
                f"outdial_id {row.id} is attached to campaign {row.campaign_id}",
                reason="OUTDIAL_IN_USE",
            )
    if refs.get("queue_id", NIL_UUID) != NIL_UUID:
        await _live(conn, queues, customer_id, refs["queue_id"], "queue_id")
    if refs["next_campaign_id"] != NIL_UUID:
        await _live(conn, campaigns, customer_id, refs["next_campaign_id"], "next_campaign_id")
        await _no_cycle(conn, customer_id, campaign_id, refs["next_campaign_id"])


MAX_CHAIN = 10_000  # campaigns followed along next_campaign_id, at most


async def _no_cycle(
    conn: AsyncConnection, customer_id: uuid.UUID, campaign_id: uuid.UUID, next_id: uuid.UUID
) -> None:
    """next_campaign_id must not lead back to the campaign (itself, A->B->A, ...): a cycle
    would start its campaigns one after another for ever. On PostgreSQL the customer's chain
    changes are serialised (a transaction lock), so two updates cannot close a cycle each
    believing the other absent."""
    if next_id == campaign_id:
        raise InvalidArgument(
            "next_campaign_id cannot be the campaign itself", reason="INVALID_REFERENCE"
        )
    if conn.dialect.name == "postgresql":
        digest = hashlib.blake2b(f"next_campaign:{customer_id}".encode(), digest_size=8)
        key = int.from_bytes(digest.digest(), "big", signed=True)
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    seen = {campaign_id}
    current = next_id
    for _ in range(MAX_CHAIN):
        found = (
            await conn.execute(
                sa.select(campaigns.c.next_campaign_id).where(campaigns.c.id == current)
            )
        ).first()
        if found is None or found.next_campaign_id == NIL_UUID:
            return
        if found.next_campaign_id == campaign_id:
            raise InvalidArgument(
                f"next_campaign_id {next_id} leads back to this campaign (a cycle)",
                reason="INVALID_REFERENCE",
            )
        if found.next_campaign_id in seen:
            return  # an older loop that does not pass through this campaign
        seen.add(current)
        current = found.next_campaign_id


async def attach_outdial(
    conn: AsyncConnection, campaign_id: uuid.UUID, old: uuid.UUID, new: uuid.UUID, now: int
) -> None:
    """Point the new outdial at the campaign and release the old one."""
    if old == new:
        return
    if old != NIL_UUID:
        await conn.execute(
            sa.update(outdials)
            .where(outdials.c.id == old, outdials.c.campaign_id == campaign_id)
            .values(campaign_id=NIL_UUID, tm_update=now)
        )
    if new != NIL_UUID:
        await conn.execute(
            sa.update(outdials)
            .where(outdials.c.id == new)
            .values(campaign_id=campaign_id, tm_update=now)
        )


class StatusChange(NamedTuple):
    """The campaign after a status write, and the status it had just before that write (the
    event compares the two: PUT status racing run/stop must announce what really happened)."""

    row: Row
    before: str


async def _write_status(
    conn: AsyncConnection,
    current: Row,
    values: Mapping[str, Any],
    *guards: sa.ColumnElement[bool],
) -> StatusChange:
    """A guarded status UPDATE that returns the old status from inside the write. PostgreSQL:
    the old row is read under `FOR UPDATE` in the same statement, so a change committed by
    another transaction while this one waited is what `before` shows. SQLite has one writer
    (`BEGIN IMMEDIATE`): the row read earlier in this transaction is the old row. A guard
    that no longer holds changes nothing: the fresh row comes back, and before == after."""
    C = campaigns
    if conn.dialect.name == "postgresql":
        old = (
            sa.select(C.c.id, C.c.status).where(C.c.id == current.id).with_for_update()
        ).subquery("old")
        stmt = (
            sa.update(C)
            .where(C.c.id == old.c.id, *guards)
            .values(**values)
            .returning(old.c.status.label("before"), *C.c)
        )
        found = (await conn.execute(stmt)).first()
        if found is not None:
            row = (await conn.execute(sa.select(C).where(C.c.id == current.id))).one()
            return StatusChange(row, str(found.before))
    else:
        changed = await repo.update(conn, C, current.id, values, *guards)
        if changed is not None:
            return StatusChange(changed, str(current.status))
    fresh = (await conn.execute(sa.select(C).where(C.c.id == current.id))).one()
    return StatusChange(fresh, str(fresh.status))


def _startable() -> list[sa.ColumnElement[bool]]:
    """What a campaign needs to run, as the WHERE of the start (checked by the write itself)."""
    C = campaigns.c
    return [
        C.tm_delete.is_(None),
        C.outplan_id != NIL_UUID,
        C.outdial_id != NIL_UUID,
    ]


def _check_startable(row: Row) -> None:
    """The error of a campaign that cannot run (the same conditions as `_startable`)."""
    if row.tm_delete is not None:
        raise InvalidArgument("the campaign is deleted", reason="CAMPAIGN_DELETED")
    if row.outplan_id == NIL_UUID:
        raise InvalidArgument("the campaign has no outplan_id", reason="INVALID_REFERENCE")
    if row.outdial_id == NIL_UUID:
        raise InvalidArgument("the campaign has no outdial_id", reason="INVALID_REFERENCE")


async def start(conn: AsyncConnection, current: Row, now: int) -> StatusChange:
    """stop|stopping -> run, in one guarded UPDATE whose WHERE holds both the move (from the
    transition table) and what the campaign needs to run, so a concurrent change (a PUT that
    drops its outplan, a delete) cannot slip between a check and
    the write. The referenced rows are checked first; the campaign's own columns by the write,
    and when it changes nothing the row as it is now says why (or that it already runs)."""
    _check_startable(current)  # the common failures, before reading the references
    refs = {
        name: getattr(current, name) for name in ("outplan_id", "outdial_id", "next_campaign_id")
    }
    await validate_refs(conn, current.customer_id, current.id, refs)
    change = await _write_status(
        conn,
        current,
        {"status": CampaignStatus.RUN.value, "tm_update": now},
        moves_to(campaigns.c.status, CAMPAIGN_TRANSITIONS, CampaignStatus.RUN),
        *_startable(),
    )
    _check_startable(change.row)
    return change


STOPPED = (CampaignStatus.STOPPING, CampaignStatus.STOP)  # where a stop request may lead


def stop_status() -> sa.ColumnElement[str]:
    """stop when nothing is in flight, else stopping (evaluated on the locked row)."""
    return sa.case(
        (campaigns.c.in_flight > 0, CampaignStatus.STOPPING.value),
        else_=CampaignStatus.STOP.value,
    )


async def request_stop(conn: AsyncConnection, current: Row, now: int) -> StatusChange:
    """run -> stopping (attempts in flight) or stop; stopping and stop stay as they are."""
    return await _write_status(
        conn,
        current,
        {"status": stop_status(), "tm_update": now},
        moves_to(campaigns.c.status, CAMPAIGN_TRANSITIONS, *STOPPED),
    )
