"""The engine's services by job (services/dialing.py): reading the running campaigns changes
nothing; storage transitions say what they changed (UPDATE ... RETURNING)."""

from __future__ import annotations

import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.domain.outcome import CallOutcome, HangupReason
from outdial.services.container import Services
from outdial.services.dialing import DialingService
from outdial.storage import attempt_end as ends
from outdial.storage.tables import campaigns, events, outplans
from tests.engine.harness import Harness


async def _status(services: Services, campaign_id: object) -> str:
    async with services.ctx.db.read() as conn:
        found = await conn.execute(
            sa.select(campaigns.c.status).where(campaigns.c.id == campaign_id)
        )
        return str(found.scalar())


async def _event_types(services: Services) -> list[str]:
    async with services.ctx.db.read() as conn:
        found = await conn.execute(sa.select(events.c.type).order_by(events.c.id))
        return [str(t) for t in found.scalars()]


async def test_running_is_a_read_and_the_engine_stops_broken_campaigns(
    services: Services, clock: FakeClock
) -> None:
    async with Harness(services, clock) as h:
        outplan, _, campaign = await h.setup(["+15550000001"], end_handle="continue")
        await h.run(campaign.id)
        async with services.ctx.db.write() as conn:  # the plan vanishes under the campaign
            await conn.execute(
                sa.update(outplans).where(outplans.c.id == outplan.id).values(tm_delete=1)
            )
        lifecycle = DialingService(services.ctx).campaigns
        for _ in range(2):
            roster = await lifecycle.running()
            assert roster.runnable == []
            assert [(b.campaign.id, b.why) for b in roster.broken] == [
                (campaign.id, "its outplan is missing or deleted")
            ]
            assert await _status(services, campaign.id) == "run"  # a read changes nothing
        await h.engine.step()
        assert await _status(services, campaign.id) == "stop"
        assert (await lifecycle.running()).broken == []
        assert (await _event_types(services))[-1] == "campaign_status_stop"


async def test_transitions_return_the_rows_they_changed(
    services: Services, clock: FakeClock
) -> None:
    """finish returns the closed calls and the campaign its last call stopped; a second
    finish of the same calls changes (and returns) nothing."""
    async with Harness(services, clock) as h:
        _, _, campaign = await h.setup(["+15550000001"], outplan={"dial_timeout": 30000})
        await h.run(campaign.id)
        await h.engine.step()  # one attempt in flight, ringing for 30 s
        [call] = await h.calls(campaign.id)
        await services.campaigns.set_status(h.customer_id, campaign.id, {"status": "stop"})
        assert await _status(services, campaign.id) == "stopping"
        outcome = CallOutcome(HangupReason.LOST, detail="test")
        async with services.ctx.db.write() as conn:
            answered = await ends.mark_answered(conn, [call.id], 123)
            assert [(r.id, r.status, r.tm_update) for r in answered] == [
                (call.id, "progressing", 123)
            ]
            done = await ends.finish(conn, [(call.id, outcome)], 456)
            assert [(r.id, r.status, r.tm_update) for r in done.calls] == [(call.id, "done", 456)]
            assert [(r.id, r.status, r.in_flight) for r in done.stopped] == [
                (campaign.id, "stop", 0)
            ]
            again = await ends.finish(conn, [(call.id, outcome)], 789)
            assert (again.calls, again.stopped) == ([], [])
            assert await ends.stop_when_done(conn, campaign.id, 789) is None  # not in run
        await h.engine.settle()
