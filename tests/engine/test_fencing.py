"""Fencing (issue 16 item 3), at the storage and engine level on both databases: an engine
that went silent (cut off the network) is fenced when another engine recovers its attempts as
`lost`; after that its end and answer writes, its heartbeat and its claims change nothing, and
the refused writes are logged and counted. The end-to-end test with two engines in network
namespaces is tests/faults/test_host_cut_off.py."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from outdial.clock import FakeClock
from outdial.domain.outcome import CallOutcome, HangupReason
from outdial.engine.engine import Engine, EngineConfig
from outdial.services.container import Services
from outdial.services.dialing import DialingService
from outdial.storage import attempt_end as ends
from outdial.storage.tables import campaigncalls, campaigns, engines
from outdial.telephony.sim import SimTelephony
from tests.engine.harness import Harness


def _count(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def _row(services: Services, table: sa.Table, key: Any) -> Any:
    async with services.ctx.db.read() as conn:
        return (await conn.execute(sa.select(table).where(table.c.id == key))).first()


async def _silence(services: Services, engine_id: str) -> None:
    """The engine's heartbeat stops (as when its host drops off the network)."""
    async with services.ctx.db.write() as conn:
        await conn.execute(sa.update(engines).where(engines.c.id == engine_id).values(heartbeat=0))


def _cut_engine(services: Services, clock: FakeClock, name: str) -> Engine:
    return Engine(
        DialingService(services.ctx),
        SimTelephony(clock),
        clock,
        EngineConfig(stale_after_s=5.0, drain_timeout_s=0.0, rest_factor=0.0),
        engine_id=name,
    )


async def test_a_stale_engines_writes_after_recovery_change_nothing(
    services: Services, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with Harness(services, clock, stale_after_s=5.0) as h:
        _, outdial, campaign = await h.setup(
            ["+4085550001", "+4085550002"],
            outplan={"dial_timeout": 60000, "try_interval": 0},
            calls_per_second=100,
        )
        cut = _cut_engine(services, clock, "engine-cut")
        await cut.dialing.registry.register(cut.id)
        await h.run(campaign.id)
        assert await cut.step() == 2  # two calls ringing on the engine about to be cut off
        for task in list(cut.attempts):  # its calls go on out of our sight
            task.cancel()
        calls = await h.calls(campaign.id)
        assert {c.status for c in calls} == {"dialing"}
        await _silence(services, cut.id)

        assert await h.engine.recover() == 2  # the other engine takes over
        rows = [await _row(services, campaigncalls, c.id) for c in calls]
        assert {(r.status, r.result, r.hangup_reason, r.ended_by) for r in rows} == {
            ("done", "fail", "lost", h.engine.id)
        }
        assert (await _row(services, engines, cut.id)).fenced is not None
        assert await h.engine.recover() == 0  # exactly once

        # The cut engine comes back and writes what its calls did: refused, logged, counted.
        before = _count("outdial_engine_fenced_writes_total")
        answered, ended = rows[0].id, rows[1].id
        normal = CallOutcome(HangupReason.NORMAL)
        with caplog.at_level(logging.WARNING, logger="outdial.engine"):
            closed = await cut.dialing.attempts.record([answered], [(ended, normal)], owner=cut.id)
        assert closed == 0
        assert _count("outdial_engine_fenced_writes_total") - before == 2
        assert "fenced: 2 attempt writes of engine engine-cut refused" in caplog.text
        after = [await _row(services, campaigncalls, r.id) for r in rows]
        assert [tuple(a) for a in after] == [tuple(r) for r in rows]  # not a byte changed
        targets = await h.targets(outdial.id)
        assert {(t.status, t.try_counts[0]) for t in targets} == {("idle", 1)}
        assert (await _row(services, campaigns, campaign.id)).in_flight == 0  # not given twice

        # Its lease renewal (the heartbeat) and its claims are refused too.
        assert await cut.dialing.registry.heartbeat(cut.id) is False
        await clock.advance(1.0)  # the targets are due again (try_interval 0), pacing too
        assert await cut.step() == 0
        async with services.ctx.db.read() as conn:
            open_calls = (
                await conn.execute(
                    sa.select(sa.func.count()).where(campaigncalls.c.status != "done")
                )
            ).scalar()
        assert open_calls == 0
        # at the same moment the live engine dials them: the fence, not pacing, stopped it
        assert await h.engine.step() == 2
        await h.engine.settle()


async def test_an_engine_ending_its_own_attempt_twice_is_not_fenced(
    services: Services, clock: FakeClock
) -> None:
    """A retried write (its COMMIT went through but the answer was lost) is no fenced write."""
    async with Harness(services, clock) as h:
        _, _, campaign = await h.setup(["+4085550001"], outplan={"dial_timeout": 60000})
        await h.run(campaign.id)
        await h.tick()  # the call rings
        tasks = list(h.engine.attempts)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await h.engine.settle()  # the cancel's end is written by the engine itself
        [call] = await h.calls(campaign.id)
        row = await _row(services, campaigncalls, call.id)
        assert (row.status, row.ended_by) == ("done", h.engine.id)
        before = _count("outdial_engine_fenced_writes_total")
        again = [(call.id, CallOutcome(HangupReason.NORMAL))]
        assert await h.engine.dialing.attempts.record([], again, owner=h.engine.id) == 0
        assert _count("outdial_engine_fenced_writes_total") == before
        # and another engine's write to it is fenced
        assert await h.engine.dialing.attempts.record([], again, owner="engine-other") == 0
        assert _count("outdial_engine_fenced_writes_total") == before + 1


async def test_a_fenced_engine_notices_hangs_up_and_rejoins_under_a_new_id(
    services: Services, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with Harness(services, clock, stale_after_s=5.0) as h:
        _, outdial, campaign = await h.setup(
            ["+4085550001"], outplan={"dial_timeout": 60000, "try_interval": 0}
        )
        cut = _cut_engine(services, clock, "engine-cut")
        await cut.open()
        try:
            await h.run(campaign.id)
            assert await cut.step() == 1
            [call] = await h.calls(campaign.id)
            await _silence(services, cut.id)
            assert await h.engine.recover() == 1
            fenced_before = _count("outdial_engine_fenced_total")
            writes_before = _count("outdial_engine_fenced_writes_total")
            running = list(cut.attempts)
            with caplog.at_level(logging.WARNING, logger="outdial.engine"):
                await cut.run_round(cut._heartbeat)  # the link is back: its next beat
                await asyncio.gather(*running, return_exceptions=True)
                await cut.settle()
            assert all(task.cancelled() for task in running)
            assert "engine engine-cut lost its leases" in caplog.text
            assert cut.id == "engine-cut.2" and not cut.attempts  # its call was hung up
            assert _count("outdial_engine_fenced_total") == fenced_before + 1
            # the hung-up call's end was refused: the recovered row stays as recovery wrote it
            assert _count("outdial_engine_fenced_writes_total") == writes_before + 1
            row = await _row(services, campaigncalls, call.id)
            assert (row.hangup_reason, row.ended_by) == ("lost", h.engine.id)
            assert (await _row(services, engines, "engine-cut")).stopped is not None
            # under its new id it beats, and dials again like any engine
            assert await cut.dialing.registry.heartbeat(cut.id) is True
            await clock.advance(1.0)  # pacing
            assert await cut.step() == 1
            calls = await h.calls(campaign.id)
            newest = await _row(services, campaigncalls, calls[0].id)
            assert newest.engine_id == "engine-cut.2" and newest.id != call.id
            [target] = await h.targets(outdial.id)
            assert target.status == "progressing" and target.try_counts[0] == 2
        finally:
            await cut.close()


async def test_the_fence_is_set_even_when_the_beat_came_just_before_it(
    services: Services, clock: FakeClock
) -> None:
    """The recovery fences an engine whose attempts it takes for its silence whatever its
    heartbeat says by then (a beat between the recovery's read and its write)."""
    async with Harness(services, clock) as h:
        await h.engine.dialing.registry.register("engine-late")
        async with services.ctx.db.write() as conn:
            assert await ends.fence(conn, ["engine-late"], 1) == ["engine-late"]
            assert await ends.fence(conn, ["engine-late"], 2) == []  # once
        assert await h.engine.dialing.registry.heartbeat("engine-late") is False
        assert await h.engine.dialing.registry.heartbeat(h.engine.id) is True
