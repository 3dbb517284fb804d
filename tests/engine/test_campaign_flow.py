"""A whole campaign on the simulated telephony, step by step on the controllable clock."""

from __future__ import annotations

from outdial.clock import FakeClock
from outdial.services.container import Services
from tests.engine.harness import Harness


async def test_answer_busy_and_retry(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        _, outdial, campaign = await h.setup(
            ["+15551110001", ["+4865550001", "+15552220002"]], calls_per_second=100
        )
        await h.run(campaign.id)
        await h.tick(0.1, rounds=10)  # ring 200 ms + one talk of 100 ms
        by_first = {t.destinations[0].target: t for t in await h.targets(outdial.id)}
        assert by_first["+15551110001"].status == "done"
        busy = by_first["+4865550001"]
        assert busy.status == "idle" and busy.try_counts[0] == 1
        # cooling down for try_interval (60 s): nothing new starts
        calls_before = len(await h.calls(campaign.id))
        await h.tick(1.0, rounds=5)
        assert len(await h.calls(campaign.id)) == calls_before
        await h.tick(60.0)
        await h.tick(0.1, rounds=10)
        busy = next(t for t in await h.targets(outdial.id) if t.id == busy.id)
        assert busy.try_counts[0] == 2 and busy.status == "idle"
        await h.tick(61.0)
        await h.tick(0.1, rounds=10)
        busy = next(t for t in await h.targets(outdial.id) if t.id == busy.id)
        assert busy.try_counts[:2] == (2, 1)
        assert busy.status == "done"
        await h.tick(1.0, rounds=3)
        final = await services.campaigns.get(h.customer_id, campaign.id)
        assert final.status == "stop"
        calls = await h.calls(campaign.id)
        assert sorted(
            (c.destination.target, c.try_count, c.result, c.hangup_reason) for c in calls
        ) == [
            ("+15551110001", 1, "success", "normal"),
            ("+15552220002", 1, "success", "normal"),
            ("+4865550001", 1, "fail", "busy"),
            ("+4865550001", 2, "fail", "busy"),
        ]


async def test_the_outplans_sip_headers_reach_the_telephony(
    services: Services, clock: FakeClock
) -> None:
    async with Harness(services, clock) as h:
        seen = []
        place = h.sim.place_call

        async def recording(request, on_answer):  # type: ignore[no-untyped-def]
            seen.append(request.sip_headers)
            return await place(request, on_answer)

        h.sim.place_call = recording  # type: ignore[method-assign]
        headers = {"Diversion": "<sip:+15550009@pbx.example>", "Privacy": "id"}
        _, _, campaign = await h.setup(["+15551110001"], outplan={"sip_headers": headers})
        await h.run(campaign.id)
        await h.tick(0.1, rounds=10)
        assert seen == [tuple(headers.items())]
