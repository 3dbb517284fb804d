"""Invariants that must hold after any run, however it ended."""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict

import sqlalchemy as sa

from outdial.storage.db import Database
from outdial.storage.tables import campaigncalls, campaigns, outdial_targets


async def check_invariants(db: Database, outdial_id: uuid.UUID, campaign_id: uuid.UUID) -> dict:
    """Try counts equal the attempts per destination (but `trunk_down` ones), attempts on a
    target never overlap, nothing is stuck in flight. Returns counts for further checks."""
    T, CC = outdial_targets, campaigncalls
    async with db.read() as conn:
        targets = (await conn.execute(sa.select(T).where(T.c.outdial_id == outdial_id))).all()
        calls = (await conn.execute(sa.select(CC).where(CC.c.campaign_id == campaign_id))).all()
        in_flight = (
            await conn.execute(
                sa.select(campaigns.c.in_flight).where(campaigns.c.id == campaign_id)
            )
        ).scalar()
    per_target: dict[uuid.UUID, list[sa.Row]] = defaultdict(list)
    for call in calls:
        per_target[call.outdial_target_id].append(call)
    for target in targets:
        mine = sorted(per_target[target.id], key=lambda c: (c.tm_create, c.try_count))
        for n in range(5):
            # an attempt that failed because the trunk was down gave its try back
            tries = sum(
                1 for c in mine if c.destination_index == n and c.hangup_detail != "trunk_down"
            )
            assert target._mapping[f"try_count_{n}"] == tries, (target.id, n)
        for before, after in itertools.pairwise(mine):
            assert before.status == "done", f"two open attempts on target {target.id}"
            assert after.tm_create >= before.tm_update, f"overlapping attempts on {target.id}"
        assert target.status != "progressing", f"target {target.id} stuck progressing"
    assert all(c.status == "done" for c in calls), "an attempt is still open"
    assert in_flight == 0, f"campaign in_flight is {in_flight}"
    reasons: dict[str, int] = defaultdict(int)
    for call in calls:
        reasons[call.hangup_reason] += 1
    return {
        "targets": len(targets),
        "calls": len(calls),
        "reasons": dict(reasons),
        "done": sum(t.status == "done" for t in targets),
    }
