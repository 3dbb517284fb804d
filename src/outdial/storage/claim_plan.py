"""The claim's side of the dial decision (issue 15): the facts of its locked batch gathered
set-wise (one DNC lookup, and with per-number limits one lock and one count, for every number
the batch might dial), one `outdial.domain.decision.decide` per target, and the decisions
applied: the targets started, put to sleep (`not_before`) or made done, the destinations
used up, every skip logged in `dial_skips`; the target updates written set-wise, one UPDATE
per group (docs/compliance.md)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.address import Address
from outdial.domain.agents import ABANDON_HOLD_US
from outdial.domain.decision import Candidate, Decision, Facts, Skip, Verdict, decide
from outdial.domain.eligibility import DAY_US, dial_number
from outdial.domain.ids import new_id
from outdial.domain.models import Campaign, Outplan, Target
from outdial.domain.states import TARGET_TRANSITIONS, TargetStatus
from outdial.storage import compliance, rows
from outdial.storage.bulk import insert_rows
from outdial.storage.codec import load_address
from outdial.storage.tables import TARGET_TRY_COUNTS, dial_skips, outdial_targets
from outdial.storage.timeconv import from_us
from outdial.storage.transitions import moves_to

T = outdial_targets
TRY_COLS = TARGET_TRY_COUNTS

# The columns a claim reads of each locked target, in this order (`candidate` reads them).
CANDIDATE_COLUMNS = (
    T.c.id,
    *(T.c[f"destination_{n}"] for n in range(5)),
    *TRY_COLS,
    T.c.timezone,
    T.c.status,
    T.c.last_attempt_end,
    T.c.not_before,
    T.c.retry_at,
    T.c.retry_note,
    T.c.start_destination,
)


def candidate(row: Any) -> Candidate:
    """The target as the decision reads it, from a row of `CANDIDATE_COLUMNS`."""
    # Positional, no slices or iterators: built for up to 200 rows per claim, and every
    # object allocated here brings the garbage collector's next pass nearer (measured: that,
    # not the decision, was most of what a first version added to the claim's CPU time).
    la = load_address
    last, asleep, retry_at = row[13], row[14], row[15]
    return Candidate(
        row[0],
        row[12],
        (la(row[1]), la(row[2]), la(row[3]), la(row[4]), la(row[5])),
        (row[6], row[7], row[8], row[9], row[10]),
        None if last is None else from_us(last),
        row[11],
        None if asleep is None else from_us(asleep),
        None,
        None if retry_at is None else from_us(retry_at),
        row[16],
        row[17],
    )


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
        self.calls: dict[str, list[int]] = {}
        self.facts = Facts(listed={}, calls=self.calls, calling_codes=calling_codes)
        self.candidates: list[Candidate] = []
        self.started: list[tuple[uuid.UUID, int, Address, int]] = []
        # target updates, grouped so that each group is one UPDATE:
        # (slot started, burned slots) / (burned slots) / (not_before, burned slots)
        self.start_groups: dict[tuple[int, tuple[int, ...]], list[uuid.UUID]] = defaultdict(list)
        self.done_groups: dict[tuple[int, ...], list[uuid.UUID]] = defaultdict(list)
        self.sleep_groups: dict[tuple[int, tuple[int, ...]], list[uuid.UUID]] = defaultdict(list)
        self.skips: list[dict[str, Any]] = []
        self.finished: list[Target] = []  # made done by write(), as they are after it

    @property
    def skipped(self) -> int:
        return sum(len(v) for v in self.done_groups.values()) + sum(
            len(v) for v in self.sleep_groups.values()
        )

    async def prepare(self, found: Sequence[Any]) -> None:
        """The facts of the batch: one DNC lookup (and, with per-number limits, one lock and
        one count) for every number the batch might dial."""
        self.candidates = [candidate(row) for row in found]
        numbers: set[str] = set()
        limits = self.outplan.max_try_counts
        for c in self.candidates:
            for n, dest in enumerate(c.destinations):
                if dest is not None and c.try_counts[n] < limits[n]:
                    number = dial_number(dest)
                    if number is not None:
                        numbers.add(number)
        cid = self.campaign.customer_id
        listed = await compliance.listed_numbers(self.conn, cid, numbers, self.now_us)
        if self.limits_on:
            await compliance.lock_numbers(self.conn, cid, numbers)
            lookback = max(DAY_US, self.outplan.min_number_gap * 1000)
            found_calls = await compliance.calls_to(self.conn, cid, numbers, self.now_us - lookback)
            self.calls.update(found_calls)
        since = self.now_us - ABANDON_HOLD_US
        abandoned = await compliance.abandoned_numbers(self.conn, cid, numbers, since)
        # targets of one batch share few zones: the window is decided once per zone set
        self.facts = Facts(
            listed, self.calls, calling_codes=self.calling_codes, windows={}, abandoned=abandoned
        )

    def decide_all(self) -> None:
        for c in self.candidates:
            self.apply(c, decide(c, self.outplan, self.facts, self.now))

    def _skip(self, tid: uuid.UUID, skip: Skip) -> None:
        self.skips.append(
            compliance.skip_row(
                skip_id=new_id(),
                customer_id=self.campaign.customer_id,
                campaign_id=self.campaign.id,
                target_id=tid,
                index=skip.index,
                number=skip.number,
                reason=skip.reason.value,
                detail=skip.detail,
                clears_at=skip.clears_us,
                now_us=self.now_us,
            )
        )

    def apply(self, target: Candidate, decision: Decision) -> None:
        """Queue what `decision` does to the target (the SQL met only targets it changes)."""
        tid = target.id
        if not decision.applies:
            return
        for skip in decision.skips:
            self._skip(tid, skip)
        if decision.verdict is Verdict.DONE:
            self.done_groups[decision.burned].append(tid)
        elif decision.verdict is Verdict.SLEEP:
            assert decision.wake_us is not None
            self.sleep_groups[(decision.wake_us, decision.burned)].append(tid)
        else:
            n, dest = decision.destination_index, decision.address
            assert n is not None and dest is not None
            number = dial_number(dest)
            if self.limits_on and number is not None:
                self.calls.setdefault(number, []).append(self.now_us)  # later targets see it
            self.started.append((tid, n, dest, target.try_counts[n]))
            self.start_groups[(n, decision.burned)].append(tid)

    def _burn(self, burned: tuple[int, ...]) -> dict[str, Any]:
        return {f"try_count_{k}": self.outplan.max_try_counts[k] for k in burned}

    async def write(self) -> None:
        idle = T.c.status == TargetStatus.IDLE.value  # asleep: still idle
        starts = moves_to(T.c.status, TARGET_TRANSITIONS, TargetStatus.PROGRESSING)
        ends = moves_to(
            T.c.status, TARGET_TRANSITIONS, TargetStatus.DONE, from_=[TargetStatus.IDLE]
        )
        now = self.now_us
        for (n, burned), ids in sorted(self.start_groups.items()):
            col = TRY_COLS[n]
            await self.conn.execute(
                sa.update(T)
                .where(T.c.id.in_(ids), starts)
                .values(
                    status=TargetStatus.PROGRESSING.value,
                    tm_update=now,
                    start_destination=None,  # a schedule's destination: this attempt's
                    **self._burn(burned),
                    **{col.name: col + 1},
                )
            )
        for burned, ids in sorted(self.done_groups.items()):
            done = await self.conn.execute(
                sa.update(T)
                .where(T.c.id.in_(ids), ends)
                .values(
                    status=TargetStatus.DONE.value,
                    tm_update=now,
                    retry_at=None,  # a done target waits for nothing (a reset starts afresh)
                    retry_note=None,
                    start_destination=None,
                    **self._burn(burned),
                )
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
