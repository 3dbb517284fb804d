"""What an ended call heard, written in the transaction that records its end (issue 12):
opt-outs become do-not-call entries, recordings become rows. Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.ids import new_id
from outdial.domain.optout import load_opt_out
from outdial.domain.outcome import CallOutcome, RecordingFile
from outdial.domain.recording import RecordingStatus
from outdial.storage.compliance import live_entry
from outdial.storage.tables import campaigncalls, campaigns, dnc_entries, dnclists, recordings
from outdial.storage.timeconv import to_us

CC = campaigncalls
OPTED_OUT_DETAIL = "opted out by keypress on campaigncall {}"


async def record_heard(
    conn: AsyncConnection,
    ended: Sequence[tuple[uuid.UUID, CallOutcome]],
    closed: Collection[uuid.UUID],
    now_us: int,
) -> list[dict[str, Any]]:
    """For the attempts `closed` by this transaction: opt-outs added to their campaign's
    do-not-call list, recordings stored. Returns the recording rows written."""
    heard = [(cid, o) for cid, o in ended if cid in closed and (o.opted_out or o.recordings)]
    if not heard:
        return []
    ids = sorted({cid for cid, _ in heard})
    calls = {
        row.id: row
        for row in (
            await conn.execute(
                sa.select(
                    CC.c.id,
                    CC.c.customer_id,
                    CC.c.campaign_id,
                    CC.c.reference_id,
                    CC.c.destination_number,
                    campaigns.c.opt_out,
                )
                .select_from(CC.join(campaigns, campaigns.c.id == CC.c.campaign_id))
                .where(CC.c.id.in_(ids))
            )
        ).all()
    }
    await _opt_outs(conn, [(calls[cid], o) for cid, o in heard if o.opted_out], now_us)
    written = [
        _recording_row(calls[cid], rec, now_us)
        for cid, outcome in heard
        for rec in outcome.recordings
        if cid in calls
    ]
    if written:
        await conn.execute(recordings.insert(), written)
    return written


async def _opt_outs(conn: AsyncConnection, heard: list[tuple[Any, CallOutcome]], now: int) -> None:
    """Each opted-out number goes on the campaign's list (once: a live entry of that list
    holding the number already is enough). Lists deleted meanwhile take nothing."""
    wanted: dict[tuple[uuid.UUID, str], Any] = {}
    for call, _ in heard:
        setting = load_opt_out(call.opt_out)
        if setting is None or not call.destination_number:
            continue
        wanted.setdefault((setting.dnclist_id, call.destination_number), call)
    if not wanted:
        return
    list_ids = sorted({k[0] for k in wanted})
    live_lists = {
        (row.id, row.customer_id)
        for row in (
            await conn.execute(
                sa.select(dnclists.c.id, dnclists.c.customer_id).where(
                    dnclists.c.id.in_(list_ids), dnclists.c.tm_delete.is_(None)
                )
            )
        ).all()
    }
    present = {
        (row.dnclist_id, row.number)
        for row in (
            await conn.execute(
                sa.select(dnc_entries.c.dnclist_id, dnc_entries.c.number).where(
                    dnc_entries.c.dnclist_id.in_(list_ids),
                    dnc_entries.c.number.in_(sorted({k[1] for k in wanted})),
                    live_entry(now),
                )
            )
        ).all()
    }
    rows = [
        {
            "id": new_id(),
            "customer_id": call.customer_id,
            "dnclist_id": list_id,
            "number": number,
            "expire": None,
            "detail": OPTED_OUT_DETAIL.format(call.id),
            "tm_create": now,
            "tm_update": now,
            "tm_delete": None,
        }
        for (list_id, number), call in sorted(wanted.items(), key=lambda kv: str(kv[0]))
        if (list_id, call.customer_id) in live_lists and (list_id, number) not in present
    ]
    if rows:
        await conn.execute(dnc_entries.insert(), rows)


def _wire_time_us(text: str) -> int | None:
    """A RecordingFile's tm_start/tm_end (wire format or ISO 8601) as microseconds."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return to_us(value)


def recording_status(reported: str) -> str:
    """The telephony reports `done` or `failed`; the resource says VoIPBIN's `ended`."""
    return RecordingStatus.FAILED.value if reported == "failed" else RecordingStatus.ENDED.value


def _recording_row(call: Any, rec: RecordingFile, now: int) -> dict[str, Any]:
    return {
        "id": rec.id,
        "customer_id": call.customer_id,
        "campaign_id": call.campaign_id,
        "campaigncall_id": call.id,
        "reference_type": "call",
        "reference_id": call.reference_id,
        "status": recording_status(rec.status),
        "format": rec.format or "wav",
        "channels": rec.channels,
        "duration_ms": rec.duration_ms,
        "path": rec.path,
        "detail": rec.detail,
        "tm_start": _wire_time_us(rec.tm_start),
        "tm_end": _wire_time_us(rec.tm_end),
        "tm_create": now,
        "tm_update": now,
        "tm_delete": None,
    }
