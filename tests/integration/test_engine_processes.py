"""Engines as real processes: SIGKILL mid-campaign, SIGTERM drain, racing claimers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from outdial.clock import SystemClock
from outdial.engine.engine import Engine, EngineConfig
from outdial.services.container import Services
from outdial.services.dialing import DialingService
from outdial.storage.db import Database
from outdial.storage.tables import campaigncalls, campaigns
from outdial.telephony.sim import SimTelephony
from tests.integration.invariants import check_invariants

OUTDIAL = str(Path(sys.executable).with_name("outdial"))
PLAN = ["+1555", "+4865", "+4805", "+6035", "+5035", "+4085", "+1212"]


async def make_campaign(
    services: Services, count: int, dial_timeout: int = 1500, **extra: Any
) -> tuple[Any, Any, Any]:
    me = (await services.customers.create("proc")).id
    plan = await services.outplans.create(
        me,
        {
            "source": {"type": "tel", "target": "+15550000000"},
            "dial_timeout": dial_timeout,
            "try_interval": 300,
            "max_try_count_0": 2,
            "max_try_count_1": 1,
        },
    )
    outdial = await services.outdials.create(me, {"name": "kill"})
    items = []
    for i in range(count):
        dests = {"destination_0": f"tel:{PLAN[i % len(PLAN)]}{i:06d}"}
        if i % 2:
            dests["destination_1"] = f"tel:+1646{i:06d}"
        items.append(dests)
    await services.targets.create_many(me, outdial.id, items)
    body = {
        "outplan_id": str(plan.id),
        "outdial_id": str(outdial.id),
        "calls_per_second": 40,
        "max_concurrent_calls": 15,
        "actions": [{"type": "sleep", "option": {"duration": 400}}],
        **extra,
    }
    campaign = await services.campaigns.create(me, body)
    await services.campaigns.set_status(me, campaign.id, {"status": "run"})
    return me, outdial, campaign


def start_engine(url: str, log: Path) -> subprocess.Popen[bytes]:
    cmd = [
        OUTDIAL,
        "engine",
        "--database-url",
        url,
        "--telephony",
        "sim",
        "--stale-after",
        "1.5",
        "--heartbeat",
        "0.3",
        "--sim-ring-ms",
        "100",
    ]
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


async def open_calls(db: Database, campaign_id: uuid.UUID) -> int:
    async with db.read() as conn:
        return int(
            (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(campaigncalls)
                    .where(
                        campaigncalls.c.campaign_id == campaign_id, campaigncalls.c.status != "done"
                    )
                )
            ).scalar()
            or 0
        )


async def campaign_status(db: Database, campaign_id: uuid.UUID) -> str:
    async with db.read() as conn:
        return str(
            (
                await conn.execute(
                    sa.select(campaigns.c.status).where(campaigns.c.id == campaign_id)
                )
            ).scalar()
        )


async def wait_for(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
async def test_sigkill_mid_campaign_then_restart(
    isolated_database_url: str, tmp_path: Path
) -> None:
    db = Database(isolated_database_url)
    try:
        services = Services.build(db, SystemClock())
        _, outdial, campaign = await make_campaign(services, 45)
        log = tmp_path / "engine.log"
        first = start_engine(isolated_database_url, log)
        try:
            await wait_for(lambda: _at_least(db, campaign.id, 5), 30, "attempts in flight")
        finally:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
        assert await open_calls(db, campaign.id) > 0  # the kill left attempts open
        second = start_engine(isolated_database_url, log)
        try:
            await wait_for(lambda: _stopped(db, campaign.id), 90, "the campaign to finish")
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0, log.read_text()[-3000:]
        summary = await check_invariants(db, outdial.id, campaign.id)
        assert summary["done"] == summary["targets"] == 45
        assert summary["reasons"].get("lost", 0) >= 1
    finally:
        await db.dispose()


async def _at_least(db: Database, campaign_id: uuid.UUID, n: int) -> bool:
    return await open_calls(db, campaign_id) >= n


async def _stopped(db: Database, campaign_id: uuid.UUID) -> bool:
    return await campaign_status(db, campaign_id) == "stop"


def _planned(number: str) -> tuple[str, str]:
    """(result, hangup_reason) of a call to `number` that ends on its own (SPEC 5)."""
    plan = {"486": "busy", "480": "noanswer", "603": "busy", "503": "failed", "408": "dialout"}
    reason = plan.get(number.removeprefix("+")[:3])
    return ("fail", reason) if reason else ("success", "normal")


async def _open_ids(db: Database, campaign_id: uuid.UUID) -> list[uuid.UUID]:
    async with db.read() as conn:
        stmt = sa.select(campaigncalls.c.id).where(
            campaigncalls.c.campaign_id == campaign_id, campaigncalls.c.status != "done"
        )
        return list((await conn.execute(stmt)).scalars())


async def _in_flight_now(db: Database, campaign_id: uuid.UUID) -> bool:
    """At least 3 attempts started, some of them in flight now (answered ones among them)."""
    return await _at_least(db, campaign_id, 3) and len(await _open_ids(db, campaign_id)) >= 2


async def _outcomes(db: Database, campaign_id: uuid.UUID) -> dict[Any, tuple[str, ...]]:
    c = campaigncalls.c
    async with db.read() as conn:
        stmt = sa.select(c.id, c.destination_number, c.status, c.result, c.hangup_reason)
        rows = (await conn.execute(stmt.where(c.campaign_id == campaign_id))).all()
    return {r.id: (r.destination_number, r.status, r.result, r.hangup_reason) for r in rows}


@pytest.mark.slow
async def test_sigterm_drains(isolated_database_url: str, tmp_path: Path) -> None:
    db = Database(isolated_database_url)
    try:
        services = Services.build(db, SystemClock())
        _, outdial, campaign = await make_campaign(services, 30)
        log = tmp_path / "engine.log"
        proc = start_engine(isolated_database_url, log)
        try:
            await wait_for(lambda: _in_flight_now(db, campaign.id), 30, "attempts in flight")
            in_flight = await _open_ids(db, campaign.id)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0, log.read_text()[-3000:]
        # drained: nothing open, nothing lost, nothing progressing; the campaign still runs
        assert await open_calls(db, campaign.id) == 0
        # every call in flight at SIGTERM ran to its own end, as the number plan says it ends
        # (an answered call was not cut short: success, normal), and so did every other call
        ended = await _outcomes(db, campaign.id)
        assert in_flight and set(in_flight) <= set(ended)
        for call_id, (number, status, result, reason) in ended.items():
            assert status == "done", (number, status)
            assert (result, reason) == _planned(number), (number, call_id in in_flight)
        async with db.read() as conn:
            lost = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(campaigncalls)
                    .where(
                        campaigncalls.c.campaign_id == campaign.id,
                        campaigncalls.c.hangup_reason == "lost",
                    )
                )
            ).scalar()
        assert lost == 0
        assert await campaign_status(db, campaign.id) == "run"
        restarted = start_engine(isolated_database_url, log)  # every running campaign resumes
        try:
            await wait_for(lambda: _stopped(db, campaign.id), 90, "the campaign to finish")
        finally:
            restarted.send_signal(signal.SIGTERM)
            assert restarted.wait(30) == 0
        await check_invariants(db, outdial.id, campaign.id)
    finally:
        await db.dispose()


def _after_barrier(claim: Any, barrier: asyncio.Barrier) -> Any:
    waited: list[bool] = []

    async def together(run: Any, **kw: Any) -> Any:
        if not waited:
            waited.append(True)
            await barrier.wait()
        return await claim(run, **kw)

    return together


@pytest.mark.postgres
@pytest.mark.serial  # eight engines racing on the real clock: not beside another test's load
async def test_racing_claimers_never_share_a_target(pg_database_url: str) -> None:
    """Eight engines, each with its own connection pool, claim from one campaign at once."""
    dbs = [Database(pg_database_url, pool_size=2) for _ in range(8)]
    try:
        clock = SystemClock()
        services = Services.build(dbs[0], clock)
        _, outdial, campaign = await make_campaign(
            services, 300, dial_timeout=600_000, calls_per_second=100000, max_concurrent_calls=120
        )
        engines = [
            Engine(
                DialingService(Services.build(d, clock).ctx),
                SimTelephony(clock, ring_ms=60_000),
                clock,
                EngineConfig(max_batch=7, drain_timeout_s=0.0),
                engine_id=f"racer-{i}",
            )
            for i, d in enumerate(dbs)
        ]
        for e in engines:
            await e.open()
        # Every engine's first claim waits until all eight are at that point, then they run
        # together: the race is certain, whatever the scheduling on a loaded machine.
        barrier = asyncio.Barrier(len(engines))
        for e in engines:
            e.dialing.attempts.claim = _after_barrier(e.dialing.attempts.claim, barrier)  # type: ignore[method-assign]
        for _ in range(15):
            await asyncio.gather(*(e.step() for e in engines))
        async with dbs[0].read() as conn:
            rows = (
                await conn.execute(
                    sa.select(campaigncalls.c.outdial_target_id, sa.func.count())
                    .where(campaigncalls.c.campaign_id == campaign.id)
                    .group_by(campaigncalls.c.outdial_target_id)
                )
            ).all()
            in_flight = (
                await conn.execute(
                    sa.select(campaigns.c.in_flight).where(campaigns.c.id == campaign.id)
                )
            ).scalar()
        assert rows, "nothing was claimed"
        assert all(count == 1 for _, count in rows), "a target was claimed twice"
        assert len(rows) == in_flight <= 120
        # (other tests' running campaigns share this database, so count this campaign only)
        async with dbs[0].read() as conn:
            sharing = (
                await conn.execute(
                    sa.select(campaigncalls.c.engine_id)
                    .where(campaigncalls.c.campaign_id == campaign.id)
                    .distinct()
                )
            ).all()
        assert len(sharing) >= 2  # the work was shared (the first claims ran together)
        for e in engines:
            await e.close()
        await check_invariants(dbs[0], outdial.id, campaign.id)
    finally:
        for d in dbs:
            await d.dispose()
