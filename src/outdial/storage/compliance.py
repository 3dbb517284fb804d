"""Statements of the compliance rules (issue 6): do-not-call lookups, the calls made to numbers,
per-number locks and the skip log. Set-based: one statement per claim for each, whatever the
batch size. Nothing here commits."""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.storage.tables import campaigncalls, dnc_entries, dnclists

E = dnc_entries
CC = campaigncalls


def live_entry(now_us: int) -> sa.ColumnElement[bool]:
    return sa.and_(E.c.tm_delete.is_(None), sa.or_(E.c.expire.is_(None), E.c.expire > now_us))


async def listed_numbers(
    conn: AsyncConnection, customer_id: uuid.UUID, numbers: Collection[str], now_us: int
) -> dict[str, str]:
    """number -> the name (or id) of a live list entry holding it, for the listed ones among
    `numbers`. One index probe per number on (customer_id, number)."""
    if not numbers:
        return {}
    stmt = (
        sa.select(E.c.number, E.c.dnclist_id, dnclists.c.name)
        .select_from(E.join(dnclists, dnclists.c.id == E.c.dnclist_id))
        .where(E.c.customer_id == customer_id, E.c.number.in_(sorted(numbers)), live_entry(now_us))
    )
    out: dict[str, str] = {}
    for number, list_id, name in (await conn.execute(stmt)).all():
        out.setdefault(number, f"{name!r} ({list_id})" if name else str(list_id))
    return out


async def calls_to(
    conn: AsyncConnection,
    customer_id: uuid.UUID,
    numbers: Collection[str],
    since_us: int,
) -> dict[str, list[int]]:
    """number -> ascending start times of the customer's calls to it since `since_us`
    (every campaign), from the index on (customer_id, destination_number, tm_create)."""
    if not numbers:
        return {}
    stmt = sa.select(CC.c.destination_number, CC.c.tm_create).where(
        CC.c.customer_id == customer_id,
        CC.c.destination_number.in_(sorted(numbers)),
        CC.c.tm_create > since_us,
    )
    out: dict[str, list[int]] = defaultdict(list)
    for number, at in (await conn.execute(stmt)).all():
        out[number].append(int(at))
    for times in out.values():
        times.sort()
    return out


async def abandoned_numbers(
    conn: AsyncConnection, customer_id: uuid.UUID, numbers: Collection[str], since_us: int
) -> dict[str, int]:
    """number -> the latest time a call of the customer to it was abandoned, for those among
    `numbers` abandoned after `since_us` (issue 13; the index on (customer_id,
    destination_number, tm_create) finds them: an attempt is abandoned after it started)."""
    if not numbers:
        return {}
    stmt = (
        sa.select(CC.c.destination_number, sa.func.max(CC.c.tm_abandon))
        .where(
            CC.c.customer_id == customer_id,
            CC.c.destination_number.in_(sorted(numbers)),
            CC.c.tm_create > since_us - ABANDON_SEARCH_SLACK_US,
            CC.c.abandoned.is_(sa.true()),
            CC.c.tm_abandon > since_us,
        )
        .group_by(CC.c.destination_number)
    )
    return {number: int(at) for number, at in (await conn.execute(stmt)).all()}


# An attempt starts before it is abandoned: look at attempts started up to a day earlier.
ABANDON_SEARCH_SLACK_US = 86_400 * 1_000_000


def _lock_key(customer_id: uuid.UUID, number: str) -> int:
    digest = hashlib.blake2b(f"{customer_id}:{number}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_numbers(
    conn: AsyncConnection, customer_id: uuid.UUID, numbers: Collection[str]
) -> None:
    """PostgreSQL: take a transaction lock per number (in one order, so two claims never
    deadlock), so that two engines claiming for different campaigns cannot both start a call to
    one number past its limits. SQLite has one writer at a time: nothing to do."""
    if not numbers or conn.dialect.name != "postgresql":
        return
    keys = sorted({_lock_key(customer_id, n) for n in numbers})
    await conn.execute(
        sa.text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k"),
        {"keys": keys},
    )


def skip_row(
    *,
    skip_id: uuid.UUID,
    customer_id: uuid.UUID,
    campaign_id: uuid.UUID,
    target_id: uuid.UUID,
    index: int,
    number: str,
    reason: str,
    detail: str,
    clears_at: int | None,
    now_us: int,
) -> dict[str, Any]:
    return {
        "id": skip_id,
        "customer_id": customer_id,
        "campaign_id": campaign_id,
        "outdial_target_id": target_id,
        "destination_index": index,
        "number": number[:32],  # the column's width; a long sip address is cut (never fails)
        "reason": reason,
        "detail": detail[:1000],
        "clears_at": clears_at,
        "tm_create": now_us,
    }
