"""Outdial targets: the people to reach."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from outdial.domain.dedupe import Dedupe, DedupeAction
from outdial.domain.destinations import DestinationRule
from outdial.domain.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from outdial.domain.list_filters import TargetFilter
from outdial.domain.models import Outdial, Page, Target
from outdial.domain.retry import scheduled_note
from outdial.services import events
from outdial.services.context import Context
from outdial.services.dedupe import Deduper, stored_key
from outdial.services.lookup import owned
from outdial.services.target_input import RowError, target_values
from outdial.storage import quota, repo, rows
from outdial.storage import targets as target_rows
from outdial.storage.list_filters import target_where
from outdial.storage.pagination import Cursor, page_of
from outdial.storage.schedule import schedule as schedule_target
from outdial.storage.tables import outdial_targets, outdials
from outdial.storage.target_keys import live_destination_keys, lock_outdial
from outdial.storage.target_load import bulk_insert
from outdial.storage.timeconv import from_us, to_us
from outdial.wire import target as wire_target
from outdial.wire import target_read_model as wire_target_read_model
from outdial.wire.paging import parse_time

NOT_FOUND = "OUTDIAL_TARGET_NOT_FOUND"
MAX_BULK = 10_000
Row = Any
LIMIT_RETRY_S = 60  # the target limit frees up only as targets are deleted
MAX_REPORTED = 50  # duplicate rows named in one error message
DUPLICATE = "DUPLICATE_TARGET"


@dataclass(frozen=True, slots=True)
class BulkLoad:
    made: list[Target]
    skipped_duplicates: int = 0


def over_limit(limit: int) -> ResourceExhausted:
    return ResourceExhausted(
        f"the customer would hold more than {limit} targets (delete some first)",
        reason="TARGET_LIMIT",
        retry_after=LIMIT_RETRY_S,
    )


class TargetService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def _outdial(self, conn: Any, customer_id: uuid.UUID, outdial_id: uuid.UUID) -> Row:
        return await owned(conn, outdials, customer_id, outdial_id, "OUTDIAL_NOT_FOUND", "outdial")

    async def _writable_outdial(
        self, conn: Any, customer_id: uuid.UUID, outdial_id: uuid.UUID
    ) -> Outdial:
        row = await self._outdial(conn, customer_id, outdial_id)
        if row.tm_delete is not None:
            raise FailedPrecondition(f"outdial {outdial_id} is deleted", reason="OUTDIAL_DELETED")
        return rows.outdial(row)

    async def rule(self, customer_id: uuid.UUID) -> DestinationRule:
        """The checks on this customer's destinations: the network policy and its calling
        codes (read apart from the write, so that validation never holds the write lock)."""
        async with self.ctx.db.query() as conn:
            codes = await quota.calling_codes(conn, customer_id)
        return DestinationRule(self.ctx.network, codes)

    async def create(
        self, customer_id: uuid.UUID, outdial_id: uuid.UUID, body: Mapping[str, Any]
    ) -> Target:
        rule = await self.rule(customer_id)
        values = target_values(body, outdial_id, self.ctx.now_us(), rule)
        async with self.ctx.db.write() as conn:
            await self._writable_outdial(conn, customer_id, outdial_id)
            await repo.insert(conn, outdial_targets, values)
            row = await repo.get(conn, outdial_targets, values["id"])
            assert row is not None
            created = rows.target(row)
            await events.emit(conn, customer_id, events.TARGET_CREATED, wire_target.render(created))
            if not await quota.add_targets(conn, customer_id, 1, self.ctx.limits.targets):
                raise over_limit(self.ctx.limits.targets)
        return created

    async def create_many(
        self, customer_id: uuid.UUID, outdial_id: uuid.UUID, items: Sequence[Any]
    ) -> list[Target]:
        """All or nothing: one bad item rejects the request, naming the item and field."""
        return (await self.load(customer_id, outdial_id, items)).made

    async def load(
        self,
        customer_id: uuid.UUID,
        outdial_id: uuid.UUID,
        items: Sequence[Any],
        dedupe: Dedupe = Dedupe.NONE,
        dedupe_action: DedupeAction = DedupeAction.REPORT,
    ) -> BulkLoad:
        """All or nothing: one bad item rejects the request, naming the item and field.
        With `dedupe`, duplicate items are each named in one 400 (`DUPLICATE_TARGET`), or
        with `dedupe_action skip` left out and counted."""
        if len(items) > MAX_BULK:
            raise InvalidArgument(f"at most {MAX_BULK} targets per request (got {len(items)})")
        if not items:
            raise InvalidArgument("the body must be a non-empty JSON array of targets")
        now = self.ctx.now_us()
        rule = await self.rule(customer_id)
        values = []
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise RowError(index, "must be a JSON object", label="item")
            try:
                values.append(target_values(item, outdial_id, now, rule))
            except InvalidArgument as exc:
                raise RowError(index, exc.message, label="item") from None
        async with self.ctx.db.write() as conn:
            await self._writable_outdial(conn, customer_id, outdial_id)
            skipped = 0
            if dedupe is not Dedupe.NONE:
                existing: set[str] = set()
                if dedupe is Dedupe.WITHIN_OUTDIAL:
                    await lock_outdial(conn, outdial_id)
                    existing = await live_destination_keys(conn, outdial_id, stored_key)
                kept = _deduped(values, Deduper(dedupe, "item", existing), dedupe_action)
                skipped, values = len(values) - len(kept), kept
            if values:
                await bulk_insert(conn, values)
            made = [rows.target(v) for v in values]
            await events.emit_many(
                conn, customer_id, events.TARGET_CREATED, (wire_target.render(t) for t in made)
            )
            if not await quota.add_targets(conn, customer_id, len(values), self.ctx.limits.targets):
                raise over_limit(self.ctx.limits.targets)
        return BulkLoad(made, skipped)

    async def get(
        self, customer_id: uuid.UUID, outdial_id: uuid.UUID, target_id: uuid.UUID
    ) -> Target:
        async with self.ctx.db.query() as conn:
            row = await target_rows.get_owned(conn, customer_id, outdial_id, target_id)
            if row is None:
                await self._outdial(conn, customer_id, outdial_id)  # which one is missing?
                raise NotFound(f"target {target_id} not found", reason=NOT_FOUND)
        return rows.target(row)

    async def list(
        self, customer_id: uuid.UUID, outdial_id: uuid.UUID, cursor: Cursor | None, limit: int
    ) -> Page:
        """One statement on the common path; only an empty page checks the outdial apart."""
        async with self.ctx.db.query() as conn:
            found = await target_rows.page_owned(conn, customer_id, outdial_id, cursor, limit)
            if not found:
                await self._outdial(conn, customer_id, outdial_id)
        items = [rows.target(r) for r in found]
        return page_of(items)

    async def list_wire(
        self,
        customer_id: uuid.UUID,
        outdial_id: uuid.UUID,
        cursor: Cursor | None,
        limit: int,
        filter_: TargetFilter | None = None,
    ) -> Page:
        """The page `list` returns, its items already wire JSON objects rendered straight
        from the rows (the API's read model; see wire/target_read_model.py); `filter_`: the
        route's `status` and `q` (domain/list_filters.py)."""
        where = target_where(filter_) if filter_ is not None else []
        async with self.ctx.db.query() as conn:
            found = await target_rows.page_owned(
                conn, customer_id, outdial_id, cursor, limit, target_rows.WIRE_COLUMNS, where
            )
            if not found:
                await self._outdial(conn, customer_id, outdial_id)
        if not found:
            return Page([], None)
        last = found[-1]
        return Page(
            [wire_target_read_model.render(r) for r in found],
            (from_us(last.tm_create), wire_target_read_model.id_value(last.id)),
        )

    async def delete(
        self, customer_id: uuid.UUID, outdial_id: uuid.UUID, target_id: uuid.UUID
    ) -> Target:
        async with self.ctx.db.write() as conn:
            outdial = await self._outdial(conn, customer_id, outdial_id)
            row = await repo.get(conn, outdial_targets, target_id)
            if row is None or row.outdial_id != outdial_id:
                raise NotFound(f"target {target_id} not found", reason=NOT_FOUND)
            was_live = row.tm_delete is None
            row = await repo.soft_delete(conn, outdial_targets, row, self.ctx.now_us())
            deleted = rows.target(row)
            if was_live:
                await events.emit(
                    conn, customer_id, events.TARGET_DELETED, wire_target.render(deleted)
                )
                if outdial.tm_delete is None:  # a deleted outdial's targets no longer count
                    await quota.remove_targets(conn, customer_id, 1)
        return deleted

    async def schedule(
        self,
        customer_id: uuid.UUID,
        outdial_id: uuid.UUID,
        target_id: uuid.UUID,
        body: Mapping[str, Any],
    ) -> Target:
        """PUT .../schedule (issue 17): an idle target is not dialed before `not_before` and,
        with `destination`, starts its next attempt there. Done, in-flight or deleted, or a
        destination the target does not have: 409 (facts of the target, not of the request)."""
        raw = body.get("not_before")
        if not isinstance(raw, str) or not raw.strip():
            raise InvalidArgument("not_before is required: an ISO 8601 time")
        at_us = to_us(parse_time(raw, "not_before"))
        slot = body.get("destination")
        if slot is not None and (
            isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot <= 4
        ):
            raise InvalidArgument("destination must be an integer from 0 to 4")
        async with self.ctx.db.write() as conn:
            await self._outdial(conn, customer_id, outdial_id)
            row = await repo.get(conn, outdial_targets, target_id)
            if row is None or row.outdial_id != outdial_id:
                raise NotFound(f"target {target_id} not found", reason=NOT_FOUND)
            if slot is not None and row._mapping[f"destination_{slot}"] is None:
                raise FailedPrecondition(
                    f"destination: destination_{slot} of the target is not set",
                    reason="DESTINATION_NOT_SET",
                )
            note = scheduled_note(at_us, slot)
            changed = await schedule_target(
                conn,
                outdial_id,
                target_id,
                at_us=at_us,
                destination=slot,
                note=note,
                now_us=self.ctx.now_us(),
            )
            if changed is None:
                state = "deleted" if row.tm_delete is not None else row.status
                raise FailedPrecondition(
                    f"target {target_id} is {state}: only an idle target can be scheduled",
                    reason="TARGET_NOT_IDLE",
                )
            scheduled = rows.target(changed)
            await events.emit(
                conn, customer_id, events.TARGET_SCHEDULED, wire_target.render(scheduled)
            )
        return scheduled


def _deduped(
    values: list[dict[str, Any]], dedup: Deduper, action: DedupeAction
) -> list[dict[str, Any]]:
    """The rows to write: every row when none is a duplicate, the new ones with `skip`;
    with `report`, a 400 naming each duplicate item (up to MAX_REPORTED)."""
    kept: list[dict[str, Any]] = []
    found: list[str] = []
    for index, row in enumerate(values):
        why = dedup.duplicate(index, row)
        if why is None:
            kept.append(row)
        elif action is DedupeAction.REPORT:
            found.append(f"item {index}: {why}")
    if found:
        more = f"; and {len(found) - MAX_REPORTED} more" if len(found) > MAX_REPORTED else ""
        raise InvalidArgument(
            "; ".join(found[:MAX_REPORTED])
            + more
            + f" ({len(found)} duplicate item(s); nothing written)",
            reason=DUPLICATE,
        )
    return kept
