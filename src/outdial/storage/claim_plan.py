"""The decisions of one claim over its locked targets (docs/compliance.md): for each target
the destination to dial, or why not now (no destination left to dial makes it done; a
do-not-call entry uses the destination up; a closed calling window or a per-number limit puts
the target to sleep), every skip recorded in `dial_skips`; then the target updates written
set-wise, one UPDATE per group."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
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
    no_dialable_destination,
    not_allowed,
    number_blocks,
    window_block,
)
from outdial.domain.ids import new_id
from outdial.domain.models import Campaign, Outplan, Target
from outdial.domain.rules import next_destination
from outdial.domain.states import TargetStatus
from outdial.storage import compliance, rows
from outdial.storage.bulk import insert_rows
from outdial.storage.codec import load_address
from outdial.storage.tables import TARGET_TRY_COUNTS, dial_skips, outdial_targets
from outdial.storage.timeconv import from_us, to_us

T = outdial_targets
TRY_COLS = TARGET_TRY_COUNTS


def _address(text: str) -> Address:
    address = load_address(text)
    assert address is not None
    return address


def _label(dest: Address) -> str:
    """What a skip names: the number dialed, or the address of a destination that is not one."""
    return dial_number(dest) or dest.target


class ClaimPlan:
    """The decisions of one claim over its locked rows, then written set-wise."""

    def __init__(
        self,
        conn: AsyncConnection,
        campaign: Campaign,
        outplan: Outplan,
        now_us: int,
        calling_codes: tuple[str, ...] = (),
    ) -> None:
        self.conn, self.campaign, self.outplan, self.now_us = conn, campaign, outplan, now_us
        self.calling_codes = calling_codes  # the customer's toll-fraud guard (empty: all)
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
        self.windows: dict[tuple[str, ...], tuple[bool, datetime | None]] = {}
        self.finished: list[Target] = []  # made done by write(), as they are after it

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

    def _undialable(self, tid: uuid.UUID, dests: Sequence[str | None], counts: list[int]) -> bool:
        """A target that no destination can dial is never dialable again: it becomes done,
        with one skip naming its first destination and why none is left."""
        none_left = no_dialable_destination(dests, counts, self.outplan.max_try_counts)
        if none_left is None:
            return False
        first = next((n for n, text in enumerate(dests) if text is not None), 0)
        text = dests[first]
        label = "" if text is None else _label(_address(text))
        self._skip(tid, first, label, none_left.reason, none_left.detail, None)
        self.done_groups[()].append(tid)
        return True

    def decide(self, row: Any) -> None:
        tid, dests, counts = row[0], row[1:6], list(row[6:11])
        zone = row[11]
        plan = self.outplan
        if self._undialable(tid, dests, counts):
            return
        burned: list[int] = []
        while True:
            n = next_destination(dests, counts, plan.max_try_counts)
            if n is None:
                self.done_groups[tuple(burned)].append(tid)
                return
            dest = _address(dests[n])
            number = dial_number(dest)
            why_not = not_allowed(number, self.calling_codes) if self.calling_codes else None
            if why_not is not None and number is not None:
                # Allowed when written, outside the customer's calling codes now: never dialed.
                self._skip(tid, n, number, Reason.DESTINATION_NOT_ALLOWED, why_not, None)
                burned.append(n)
                counts[n] = plan.max_try_counts[n]
                continue
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
        label = _label(dest)
        window = plan.call_window
        if window is not None:
            zones = destination_zones(dest, zone, window)
            verdict = self.windows.get(zones)
            if verdict is None:  # targets of one batch share few zones: decide each once
                verdict = self.windows[zones] = window_block(window, self.now, zones)
            closed, opens = verdict
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
            done = await self.conn.execute(
                sa.update(T)
                .where(T.c.id.in_(ids), idle)
                .values(status=TargetStatus.DONE.value, tm_update=now, **self._burn(burned))
                .returning(*T.c)
            )
            self.finished += [rows.target(r) for r in done.all()]
        for (wake, burned), ids in sorted(self.sleep_groups.items()):
            await self.conn.execute(
                sa.update(T)
                .where(T.c.id.in_(ids), idle)
                .values(not_before=wake, tm_update=now, **self._burn(burned))
            )
        await insert_rows(self.conn, dial_skips, self.skips)
