"""Giving targets their tries back (issue 17; docs/recycling.md): reset one target, recycle a
campaign's done targets by a filter, and list a target's history of both.

Each change is one guarded UPDATE, its history rows and its event in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from outdial.domain.errors import FailedPrecondition, NotFound
from outdial.domain.ids import NIL_UUID, new_id
from outdial.domain.models import Page, Target
from outdial.domain.recycle import (
    HistoryAction,
    HistoryEntry,
    RecycleFilter,
    reason_text,
    recycle_filter,
)
from outdial.domain.states import TargetStatus
from outdial.services import events
from outdial.services.context import Context
from outdial.services.lookup import owned
from outdial.storage import repo, rows
from outdial.storage import target_reset as store
from outdial.storage import targets as target_rows
from outdial.storage.pagination import Cursor, page_of
from outdial.storage.tables import campaigns, outdials
from outdial.storage.timeconv import from_us
from outdial.wire import campaign as wire_campaign
from outdial.wire import target as wire_target
from outdial.wire import target_history as wire_history
from outdial.wire.common import ts

TARGET_NOT_FOUND = "OUTDIAL_TARGET_NOT_FOUND"
IN_PROGRESS = "TARGET_IN_PROGRESS"


def _entry(row: Any) -> HistoryEntry:
    return HistoryEntry(
        id=row.id,
        customer_id=row.customer_id,
        outdial_id=row.outdial_id,
        outdial_target_id=row.outdial_target_id,
        campaign_id=row.campaign_id,
        action=HistoryAction(row.action),
        reason=row.reason,
        accesskey_id=row.accesskey_id,
        status=TargetStatus(row.status),
        tm_create=from_us(row.tm_create),
    )


def _filter_json(f: RecycleFilter) -> dict[str, Any]:
    """The filter as it was applied (the event and docs name these fields)."""
    out: dict[str, Any] = {}
    if f.results:
        out["results"] = list(f.results)
    if f.hangup_reasons:
        out["hangup_reasons"] = list(f.hangup_reasons)
    if f.tries_below is not None:
        out["tries_below"] = f.tries_below
    if f.last_attempt_before is not None:
        out["last_attempt_before"] = ts(f.last_attempt_before)
    return out


class TargetResetService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def reset(
        self,
        customer_id: uuid.UUID,
        outdial_id: uuid.UUID,
        target_id: uuid.UUID,
        body: Mapping[str, Any],
        key_digest: str | None = None,
    ) -> Target:
        """A done or idle target: tries back to 0, status idle (409 while an attempt is in
        flight, or when the target or its outdial is deleted)."""
        reason = reason_text(body.get("reason"))
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            found = await target_rows.get_owned(conn, customer_id, outdial_id, target_id)
            if found is None:
                await owned(conn, outdials, customer_id, outdial_id, "OUTDIAL_NOT_FOUND", "outdial")
                raise NotFound(f"target {target_id} not found", reason=TARGET_NOT_FOUND)
            before = rows.target(found)
            if before.tm_delete is not None:
                raise FailedPrecondition(
                    f"target {target_id} is deleted", reason="OUTDIAL_TARGET_DELETED"
                )
            moved = None
            if before.status is not TargetStatus.PROGRESSING:
                moved = await store.reset(conn, target_id, before.status, now)
            if moved is None:
                raise FailedPrecondition(
                    f"target {target_id} has an attempt in progress; reset it when it ends",
                    reason=IN_PROGRESS,
                )
            after = rows.target(moved)
            key_id = await store.accesskey_id(conn, key_digest)
            await store.record(
                conn,
                [
                    {
                        "id": new_id(),
                        "customer_id": customer_id,
                        "outdial_id": outdial_id,
                        "outdial_target_id": target_id,
                        "campaign_id": NIL_UUID,
                        "action": HistoryAction.RESET.value,
                        "reason": reason,
                        "accesskey_id": key_id or NIL_UUID,
                        "status": before.status.value,
                        "tm_create": now,
                    }
                ],
            )
            await events.emit(conn, customer_id, events.TARGET_RESET, wire_target.render(after))
        return after

    async def recycle(
        self,
        customer_id: uuid.UUID,
        campaign_id: uuid.UUID,
        body: Mapping[str, Any],
        last_attempt_before: datetime | None,
        key_digest: str | None = None,
    ) -> int:
        """The campaign's outdial's done targets that match the filter back to idle with
        fresh tries; how many. Allowed in every campaign status: the UPDATE is atomic and
        touches no target in flight."""
        where = recycle_filter(body, last_attempt_before)
        reason = reason_text(body.get("reason"))
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            row = await owned(
                conn, campaigns, customer_id, campaign_id, "CAMPAIGN_NOT_FOUND", "campaign"
            )
            campaign = rows.campaign(row)
            if campaign.tm_delete is not None:
                raise FailedPrecondition(
                    f"campaign {campaign_id} is deleted", reason="CAMPAIGN_DELETED"
                )
            outdial_id = campaign.outdial_id
            outdial = None if outdial_id == NIL_UUID else await _live_outdial(conn, outdial_id)
            if outdial is None:
                raise FailedPrecondition(
                    f"campaign {campaign_id} has no outdial to recycle (set outdial_id)",
                    reason="CAMPAIGN_HAS_NO_OUTDIAL",
                )
            moved = await store.recycle(conn, outdial_id, where, now)
            key_id = await store.accesskey_id(conn, key_digest) or NIL_UUID
            await store.record(
                conn,
                [
                    {
                        "id": new_id(),
                        "customer_id": customer_id,
                        "outdial_id": outdial_id,
                        "outdial_target_id": target_id,
                        "campaign_id": campaign_id,
                        "action": HistoryAction.RECYCLE.value,
                        "reason": reason,
                        "accesskey_id": key_id,
                        "status": TargetStatus.DONE.value,
                        "tm_create": now,
                    }
                    for target_id in moved
                ],
            )
            data = wire_history.recycled(
                wire_campaign.render(campaign),
                str(outdial_id),
                len(moved),
                _filter_json(where),
                reason,
            )
            await events.emit(conn, customer_id, events.CAMPAIGN_RECYCLED, data)
        return len(moved)

    async def history(
        self,
        customer_id: uuid.UUID,
        outdial_id: uuid.UUID,
        target_id: uuid.UUID,
        cursor: Cursor | None,
        limit: int,
    ) -> Page:
        """The target's resets and recycles, newest first (a deleted target's too)."""
        async with self.ctx.db.query() as conn:
            found = await target_rows.get_owned(conn, customer_id, outdial_id, target_id)
            if found is None:
                await owned(conn, outdials, customer_id, outdial_id, "OUTDIAL_NOT_FOUND", "outdial")
                raise NotFound(f"target {target_id} not found", reason=TARGET_NOT_FOUND)
            entries = await store.history_page(conn, target_id, cursor, limit)
        return page_of([_entry(r) for r in entries])


async def _live_outdial(conn: Any, outdial_id: uuid.UUID) -> Any:
    row = await repo.get(conn, outdials, outdial_id)
    return None if row is None or row.tm_delete is not None else row
