"""Targets that no destination can dial (issue 19), on the FakeClock, SQLite and PostgreSQL.

Every set destination disabled by the outplan (`max_try_count_N` 0) or with its tries used up:
the claim that meets such an idle target marks it `done` in one guarded UPDATE, logs the skip
`no_dialable_destination`, writes `outdialtarget_updated`, and the campaign then stops with no
target left idle. It meets them whether they are due or not (cooling down, asleep).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.services.container import Services
from outdial.storage.tables import dial_skips, events
from tests.engine.harness import Harness

OK, BUSY, LISTED = "+15550000001", "+4865550002", "+15557770001"
LONG_SIP = "a-rather-long-user-name.for-this-test@pbx.example.com"  # over the 32 of `number`


async def _skips(services: Services, campaign_id: uuid.UUID) -> list[Any]:
    async with services.ctx.db.read() as conn:
        stmt = sa.select(dial_skips).where(dial_skips.c.campaign_id == campaign_id)
        return list((await conn.execute(stmt.order_by(dial_skips.c.tm_create))).all())


async def _target_events(services: Services, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    async with services.ctx.db.read() as conn:
        stmt = sa.select(events.c.data).where(
            events.c.customer_id == customer_id, events.c.type == "outdialtarget_updated"
        )
        return [json.loads(r.data) for r in (await conn.execute(stmt.order_by(events.c.id)))]


async def _add(h: Harness, outdial_id: uuid.UUID, **slots: dict[str, str]) -> uuid.UUID:
    created = await h.services.targets.create(h.customer_id, outdial_id, dict(slots))
    return created.id


def tel(number: str) -> dict[str, str]:
    return {"type": "tel", "target": number}


async def test_disabled_destinations_make_the_target_done(
    services: Services, clock: FakeClock
) -> None:
    async with Harness(services, clock) as h:
        me = h.customer_id
        dnc = await services.dnclists.create(me, {"name": "opt-outs"})
        await services.dnclists.add(me, dnc.id, {"number": LISTED})
        # max_try_count_0 2, max_try_count_1 0: slot 1 disabled, slots 2-4 too
        _, outdial, campaign = await h.setup([OK], outplan={"max_try_count_1": 0})
        only_1 = await _add(h, outdial.id, destination_1=tel(OK))
        sip_1_2 = await _add(
            h,
            outdial.id,
            destination_1={"type": "sip", "target": LONG_SIP},
            destination_2=tel(BUSY),
        )
        # listed on 0, disabled 1: done, and the reason is the listing (as the preview says)
        listed_0 = await _add(h, outdial.id, destination_0=tel(LISTED), destination_1=tel(OK))
        await h.run(campaign.id)
        await h.tick(0.5, rounds=4)
        await h.tick(1.0, rounds=3)

        by_id = {t.id: t for t in await h.targets(outdial.id)}
        assert {t.status for t in by_id.values()} == {"done"}
        assert tuple(by_id[only_1].try_counts) == (0, 0, 0, 0, 0)
        calls = await h.calls(campaign.id)
        assert [c.destination.target for c in calls] == [OK]
        assert calls[0].outdial_target_id not in {only_1, sip_1_2, listed_0}
        skips = {(s.outdial_target_id, s.reason): s for s in await _skips(services, campaign.id)}
        assert set(skips) == {
            (only_1, "no_dialable_destination"),
            (sip_1_2, "no_dialable_destination"),
            (listed_0, "dnc_listed"),
        }
        one = skips[(only_1, "no_dialable_destination")]
        assert (one.destination_index, one.number, one.clears_at) == (1, OK, None)
        assert one.detail == (
            "no destination can be dialed: destination 1 is disabled by the outplan "
            "(max_try_count_1 0)"
        )
        sip = skips[(sip_1_2, "no_dialable_destination")]
        assert (sip.destination_index, sip.number) == (1, LONG_SIP[:32])
        assert "destination 1 is disabled" in sip.detail
        assert "destination 2 is disabled" in sip.detail
        # one event per target made done without an attempt, with the target as it is now
        updated = await _target_events(services, me)
        assert sorted(e["id"] for e in updated) == sorted(
            str(t) for t in (only_1, sip_1_2, listed_0)
        )
        assert {e["status"] for e in updated} == {"done"}
        assert (await services.campaigns.get(me, campaign.id)).status == "stop"
        # nothing is logged twice: done targets are not met again
        await h.tick(1.0, rounds=3)
        assert len(await _skips(services, campaign.id)) == 3


async def test_outplan_changed_after_the_targets_were_loaded(
    services: Services, clock: FakeClock
) -> None:
    """Tries lowered by PUT dial_info while the campaign runs: a target that has used the new
    number of tries is made done at once, though it is cooling down (`try_interval` 60 s)."""
    async with Harness(services, clock) as h:
        me = h.customer_id
        outplan, outdial, campaign = await h.setup([BUSY, OK], outplan={"max_try_count_0": 3})
        await h.run(campaign.id)
        await h.tick(0.5, rounds=4)
        busy = next(t for t in await h.targets(outdial.id) if t.destinations[0].target == BUSY)
        assert (busy.status, busy.try_counts[0]) == ("idle", 1)
        assert (await services.campaigns.get(me, campaign.id)).status == "run"

        await services.outplans.update(me, outplan.id, {"max_try_count_0": 1}, dial=True)
        await h.tick(0.5, rounds=2)  # 1 s later: still well inside try_interval
        await h.tick(1.0, rounds=2)
        busy = next(t for t in await h.targets(outdial.id) if t.id == busy.id)
        assert (busy.status, busy.try_counts[0]) == ("done", 1)
        assert len(await h.calls(campaign.id)) == 2  # no new attempt
        [skip] = await _skips(services, campaign.id)
        assert (skip.outdial_target_id, skip.reason, skip.number) == (
            busy.id,
            "no_dialable_destination",
            BUSY,
        )
        assert skip.detail == "no destination can be dialed: destination 0 has used its 1 tries"
        assert [e["id"] for e in await _target_events(services, me)] == [str(busy.id)]
        assert (await services.campaigns.get(me, campaign.id)).status == "stop"


async def test_every_slot_disabled_later_with_end_handle_continue(
    services: Services, clock: FakeClock
) -> None:
    """A campaign that keeps running: targets loaded (and one asleep outside its calling
    window) become done when the outplan disables every slot; targets added later too."""
    window = {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}  # UTC, opens 09:00
    async with Harness(services, clock) as h:
        me = h.customer_id
        outplan, outdial, campaign = await h.setup(
            ["+12125550101", OK],  # New York: 07:00 there, asleep until its window opens
            end_handle="continue",
            outplan={"call_window": window},
        )
        await h.run(campaign.id)
        await h.tick(0.5, rounds=3)
        asleep = next(t for t in await h.targets(outdial.id) if t.status == "idle")
        assert asleep.not_before is not None
        await services.outplans.update(
            me, outplan.id, {"max_try_count_0": 0, "max_try_count_1": 0}, dial=True
        )
        await h.tick(0.5, rounds=2)
        later = await _add(h, outdial.id, destination_0=tel(OK))
        await h.tick(0.5, rounds=2)
        targets = {t.id: t for t in await h.targets(outdial.id)}
        assert targets[asleep.id].status == "done" and targets[later].status == "done"
        reasons = sorted(
            (s.outdial_target_id, s.reason) for s in await _skips(services, campaign.id)
        )
        assert reasons == sorted(
            [
                (asleep.id, "window_closed"),
                (asleep.id, "no_dialable_destination"),
                (later, "no_dialable_destination"),
            ]
        )
        assert len(await h.calls(campaign.id)) == 1
        assert (await services.campaigns.get(me, campaign.id)).status == "run"
