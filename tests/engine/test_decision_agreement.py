"""The claim's choice is the eligibility answer (issue 15): over random targets, outplans and
facts (do-not-call entries, earlier calls, calling codes, windows, cool-downs, sleeps, states),
on both databases, what the claim does to each target is the `Decision` the eligibility
endpoint's service renders, and `dialable_now` is true exactly for the targets it starts.

Seeded random rather than hypothesis: every case needs a database round trip, and the seeds
make a failure replayable (the seed is in the assertion message)."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.domain.decision import Decision, Verdict
from outdial.domain.ids import NIL_UUID, new_id
from outdial.services.container import Services
from outdial.storage import repo
from outdial.storage.claim import claim
from outdial.storage.tables import campaigncalls, customers, dial_skips, outdial_targets
from outdial.storage.timeconv import to_us

T = outdial_targets
SEEDS = range(8)
TARGETS = 14
WINDOW = {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}  # NY closed, London open


def _destination(rng: random.Random, seed: int, i: int, n: int) -> dict[str, str] | None:
    kind = rng.random()
    if kind < 0.3:
        return None
    if kind < 0.4:
        return {"type": "sip", "target": f"u{seed}x{i}x{n}@example.com"}
    if kind < 0.75:
        return {"type": "tel", "target": f"+1212555{seed:02d}{i:02d}{n}"}  # New York
    return {"type": "tel", "target": f"+4420794{seed:02d}{i:02d}{n}"}  # London


async def _scenario(services: Services, clock: FakeClock, seed: int) -> None:
    rng = random.Random(seed)
    s = services
    now_us = to_us(clock.now())
    customer = await s.customers.create(f"prop-{seed}")
    me = customer.id
    limits = [rng.choice([0, 1, 2, 3]) for _ in range(5)]
    plan_body: dict[str, Any] = {
        "source": {"type": "tel", "target": "+15550000000"},
        "dial_timeout": 5000,
        "try_interval": rng.choice([0, 60000]),
        **{f"max_try_count_{n}": limit for n, limit in enumerate(limits)},
        "call_window": rng.choice([None, WINDOW]),
        "max_attempts_per_number_24h": rng.choice([0, 1, 2]),
        "min_number_gap": rng.choice([0, 3_600_000]),
        "order": rng.choice(["oldest_attempt_first", "fifo", "priority"]),  # issue 17
    }
    outplan = await s.outplans.create(me, plan_body)
    outdial = await s.outdials.create(me, {"name": "list"})
    ids: list[uuid.UUID] = []
    numbers: list[str] = []
    for i in range(TARGETS):
        body: dict[str, Any] = {}
        for n in range(5):
            dest = _destination(rng, seed, i, n)
            if dest is not None:
                body[f"destination_{n}"] = dest
                if dest["type"] == "tel":
                    numbers.append(dest["target"])
        if not body:
            body["destination_0"] = {"type": "tel", "target": f"+1212555{seed:02d}{i:02d}9"}
            numbers.append(body["destination_0"]["target"])
        body["timezone"] = rng.choice(["", "", "Europe/Paris", "America/New_York"])
        ids.append((await s.targets.create(me, outdial.id, body)).id)
    campaign = await s.campaigns.create(
        me,
        {
            "name": "c",
            "outplan_id": str(outplan.id),
            "outdial_id": str(outdial.id),
            "actions": [{"type": "talk", "option": {"text": "hi"}}],
            "max_concurrent_calls": 1000,
            "end_handle": "continue",
        },
    )
    dnc = await s.dnclists.create(me, {"name": "opt-outs"})
    for number in rng.sample(numbers, k=len(numbers) // 4):
        await s.dnclists.add(me, dnc.id, {"number": number})
    await s.campaigns.set_status(me, campaign.id, {"status": "run"})
    async with s.ctx.db.write() as conn:
        # allowed when written, outside the customer's calling codes now (toll-fraud guard)
        codes = rng.choice([None, ["1"]])
        await conn.execute(
            sa.update(customers)
            .where(customers.c.id == me)
            .values(allowed_calling_codes=json.dumps(codes or []))
        )
        for tid in ids:
            values: dict[str, Any] = {
                f"try_count_{n}": rng.randint(0, limits[n] + 1) if rng.random() < 0.4 else 0
                for n in range(5)
            }
            values["status"] = rng.choices(["idle", "progressing", "done"], [8, 1, 1])[0]
            if rng.random() < 0.4:
                values["last_attempt_end"] = now_us - rng.randint(0, 120) * 1_000_000
            if rng.random() < 0.25:
                values["not_before"] = now_us + rng.randint(-3600, 3600) * 1_000_000
            if rng.random() < 0.3:  # issue 17: a retry rule's or a schedule's next try
                values["retry_at"] = now_us + rng.randint(-120, 120) * 1_000_000
                values["retry_note"] = rng.choice(["busy: next try by rule 1", None])
            if rng.random() < 0.2:
                values["start_destination"] = rng.randint(0, 4)
            values["priority"] = rng.randint(0, 9)
            if rng.random() < 0.05:
                values["tm_delete"] = now_us
            values["tm_update"] = now_us - rng.randint(1, 10_000)
            await conn.execute(sa.update(T).where(T.c.id == tid).values(**values))
        for number in rng.sample(numbers, k=len(numbers) // 3):
            for _ in range(rng.randint(1, 2)):
                await repo.insert(conn, campaigncalls, _call(me, campaign, number, now_us, rng))
    answers = {tid: await s.eligibility.target(me, outdial.id, tid, campaign.id) for tid in ids}
    async with s.ctx.db.read() as conn:
        before = {r.id: r for r in (await conn.execute(sa.select(T).where(T.c.id.in_(ids))))}
    running, plan = await s.campaigns.get(me, campaign.id), await s.outplans.get(me, outplan.id)
    async with s.ctx.db.write() as conn:
        await claim(
            conn,
            running,
            plan,
            limit=1000,
            now_us=now_us,
            pace_step_us=0,
            lease_us=60_000_000,
            engine_id="agreement",
            calling_codes=() if codes is None else tuple(codes),
        )
    async with s.ctx.db.read() as conn:
        after = {r.id: r for r in (await conn.execute(sa.select(T).where(T.c.id.in_(ids))))}
        calls = (
            await conn.execute(
                sa.select(campaigncalls).where(campaigncalls.c.engine_id == "agreement")
            )
        ).all()
        skips = (
            await conn.execute(sa.select(dial_skips).where(dial_skips.c.campaign_id == campaign.id))
        ).all()
    started = {c.outdial_target_id: c for c in calls if c.campaign_id == campaign.id}
    for tid in ids:
        answer = answers[tid]
        assert answer.decision is not None
        where = f"seed {seed}, target {ids.index(tid)}: {answer.decision}"
        _check(
            answer.decision,
            answer.dialable_now,
            before[tid],
            after[tid],
            started.get(tid),
            sorted(k.reason for k in skips if k.outdial_target_id == tid),
            limits,
            where,
        )


def _check(
    decision: Decision,
    dialable_now: bool,
    before: Any,
    after: Any,
    call: Any,
    skipped: list[str],
    limits: list[int],
    where: str,
) -> None:
    verdict = decision.verdict
    assert dialable_now == (verdict is Verdict.DIAL), where
    assert (call is not None) == (verdict is Verdict.DIAL), where
    if not decision.applies:  # the claim left it alone
        assert after._asdict() == before._asdict(), where
        assert skipped == [], where
        return
    assert skipped == sorted(k.reason.value for k in decision.skips), where
    for n in decision.burned:
        assert after._mapping[f"try_count_{n}"] == limits[n], where
    if verdict is Verdict.DIAL:
        n = decision.destination_index
        assert call.destination_index == n and after.status == "progressing", where
        assert after._mapping[f"try_count_{n}"] == before._mapping[f"try_count_{n}"] + 1, where
    elif verdict is Verdict.SLEEP:
        assert after.status == "idle" and after.not_before == decision.wake_us, where
    else:
        assert after.status == "done", where


def _call(
    customer_id: uuid.UUID, campaign: Any, number: str, now_us: int, rng: random.Random
) -> dict[str, Any]:
    at = now_us - rng.randint(1, 7200) * 1_000_000
    return {
        "id": new_id(),
        "customer_id": customer_id,
        "campaign_id": campaign.id,
        "outplan_id": campaign.outplan_id,
        "outdial_id": campaign.outdial_id,
        "outdial_target_id": new_id(),
        "queue_id": NIL_UUID,
        "activeflow_id": new_id(),
        "flow_id": NIL_UUID,
        "reference_type": "call",
        "reference_id": new_id(),
        "status": "done",
        "result": "fail",
        "source": None,
        "destination": json.dumps({"type": "tel", "target": number}),
        "destination_index": 0,
        "try_count": 1,
        "hangup_reason": "busy",
        "sip_code": 486,
        "lease_expires": None,
        "engine_id": "",
        "tm_create": at,
        "tm_update": at,
        "tm_delete": None,
        "destination_number": number,
    }


async def test_the_claim_does_what_eligibility_says(services: Services, clock: FakeClock) -> None:
    for seed in SEEDS:
        await _scenario(services, clock, seed)
