"""A recycle pass while the campaign runs (issue 17): the engine dials the recycled targets
again on its next claims, after try_interval from their last attempt, and no other."""

from __future__ import annotations

from outdial.clock import FakeClock
from outdial.services.container import Services
from tests.engine.harness import Harness


async def test_recycled_targets_are_dialed_on_the_next_pass(
    services: Services, clock: FakeClock
) -> None:
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(
            ["+15551110001", "+4865550001", "+4805550002"],
            outplan={"max_try_count_0": 1, "max_try_count_1": 0, "try_interval": 10_000},
            calls_per_second=100,
            end_handle="continue",
        )
        await h.run(campaign.id)
        await h.tick(0.1, rounds=10)
        assert {t.status for t in await h.targets(outdial.id)} == {"done"}
        assert len(await h.calls(campaign.id)) == 3

        recycled = await services.resets.recycle(
            h.customer_id, campaign.id, {"hangup_reasons": ["busy"]}, None
        )
        assert recycled == 1
        by_number = {t.destinations[0].target: t for t in await h.targets(outdial.id)}
        assert by_number["+4865550001"].status == "idle"
        assert by_number["+4865550001"].try_counts[0] == 0
        # cooling down: try_interval still counts from the last attempt
        await h.tick(1.0, rounds=3)
        assert len(await h.calls(campaign.id)) == 3
        await h.tick(10.0)
        await h.tick(0.1, rounds=10)
        calls = await h.calls(campaign.id)
        assert sorted((c.destination.target, c.hangup_reason) for c in calls) == [
            ("+15551110001", "normal"),
            ("+4805550002", "noanswer"),
            ("+4865550001", "busy"),
            ("+4865550001", "busy"),
        ]
        again = {t.destinations[0].target: t for t in await h.targets(outdial.id)}
        assert again["+4865550001"].status == "done"
        assert again["+4865550001"].try_counts[0] == 1
