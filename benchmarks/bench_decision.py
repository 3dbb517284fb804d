"""The Python side of one claim batch (issue 15): 200 locked rows made into candidates, decided
by `outdial.domain.decision.decide` and applied (grouped for the writes), as
`storage/claim_plan.py` does between its two database round trips. No database: the rows are
built here (six US area codes, one destination each), and no DNC entry matches.

    python -m benchmarks.bench_decision --rounds 300

Prints the minimum and the median CPU time per batch for "off" (no calling window) and
"window" (a window open all day, decided once per zone set of the batch). Run it on two
checkouts to compare them; the minimum is the figure least disturbed by a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import UTC, datetime
from datetime import time as clock_time
from typing import Any

from outdial.domain.address import Address, AddressType
from outdial.domain.callwindow import CallWindow
from outdial.domain.decision import Facts
from outdial.domain.models import Campaign, Outplan
from outdial.storage.claim_plan import ClaimPlan, candidate
from outdial.storage.codec import dump_address
from outdial.storage.timeconv import to_us

NOW = datetime(2026, 1, 5, 16, tzinfo=UTC)
AREAS = ("212", "312", "303", "213", "415", "617")


def rows(count: int) -> list[tuple[Any, ...]]:
    """Rows in the order of `claim_plan.CANDIDATE_COLUMNS`."""
    out = []
    for i in range(count):
        text = dump_address(Address(AddressType.TEL, f"+1{AREAS[i % 6]}555{i:04d}"))
        dests = (text, None, None, None, None)
        # tries 0-4, timezone, status, last attempt, not_before, retry_at/_note, start_destination
        out.append(
            (uuid.uuid4(), *dests, 0, 0, 0, 0, 0, None, "idle", None, None, None, None, None)
        )
    return out


def batch_times(window: bool, rounds: int, size: int) -> list[float]:
    found = rows(size)
    every_day = CallWindow(frozenset(range(1, 8)), clock_time(8), clock_time(8))
    plan = Outplan(
        uuid.uuid4(),
        uuid.uuid4(),
        "",
        "",
        None,
        5000,
        0,
        (3, 0, 0, 0, 0),
        NOW,
        NOW,
        call_window=every_day if window else None,
    )
    campaign = Campaign.__new__(Campaign)  # only its ids are read
    object.__setattr__(campaign, "id", uuid.uuid4())
    object.__setattr__(campaign, "customer_id", uuid.uuid4())
    times = []
    for _ in range(rounds):
        claim_plan = ClaimPlan(None, campaign, plan, to_us(NOW))  # type: ignore[arg-type]
        started = time.process_time()
        claim_plan.candidates = [candidate(row) for row in found]
        claim_plan.facts = Facts({}, claim_plan.calls, windows={})
        claim_plan.decide_all()
        times.append(time.process_time() - started)
        assert len(claim_plan.started) == size
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--size", type=int, default=200)
    args = parser.parse_args()
    for label, window in (("off", False), ("window", True)):
        times = batch_times(window, args.rounds, args.size)
        print(
            f"{label}: decisions of {args.size} targets: min {min(times) * 1000:.3f} ms, "
            f"median {statistics.median(times) * 1000:.3f} ms",
            flush=True,
        )


if __name__ == "__main__":
    main()
