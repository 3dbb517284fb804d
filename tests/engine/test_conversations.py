"""What a call heard, recorded by the engine (issue 12): AMD results and the retry after a
machine, digits, opt-out by keypress across campaigns, recordings.

The telephony here is the simulated one with the far end's behaviour scripted per number (what
the listening telephony reports), so the tests hold whatever the audio path does."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.domain.outcome import CallOutcome, HangupReason, RecordingFile
from outdial.services.container import Services
from outdial.storage.tables import dial_skips, recordings
from outdial.telephony.base import CallRequest, OnAnswer
from outdial.telephony.sim import SimTelephony
from tests.engine.harness import Harness

MACHINE = "+15550000701"
PERSON = "+15550000702"
PRESSER = "+15550000703"


class ScriptedHearing(SimTelephony):
    """Places calls as the simulated telephony does, then reports what `heard[number]` says
    the far end did (AMD verdict, keys, opt-out, recordings)."""

    def __init__(self, clock: FakeClock, heard: dict[str, dict[str, Any]]) -> None:
        super().__init__(clock, ring_ms=200, action_ms=100)
        self.heard = heard
        self.requests: list[CallRequest] = []

    async def place_call(self, request: CallRequest, on_answer: OnAnswer) -> CallOutcome:
        self.requests.append(request)
        outcome = await super().place_call(request, on_answer)
        script = self.heard.get(request.destination.target)
        if script is None or not outcome.answered:
            return outcome
        if callable(script.get("recordings")):
            script = {**script, "recordings": script["recordings"](request)}
        return replace(outcome, **script)


def _use(h: Harness, telephony: SimTelephony) -> None:
    h.engine.telephony = telephony


async def test_machine_hung_up_by_amd_fails_and_is_retried(
    services: Services, clock: FakeClock
) -> None:
    heard = {
        MACHINE: {"reason": HangupReason.AMD, "amd_result": "machine", "amd_ms": 2400},
        PERSON: {"amd_result": "human", "amd_ms": 1300},
    }
    async with Harness(services, clock) as h:
        _use(h, ScriptedHearing(clock, heard))
        _, outdial, campaign = await h.setup([MACHINE, PERSON], calls_per_second=100)
        await h.run(campaign.id)
        await h.tick(0.5, rounds=6)
        calls = {c.destination.target: c for c in await h.calls(campaign.id)}
        machine, person = calls[MACHINE], calls[PERSON]
        assert (machine.result, machine.hangup_reason) == ("fail", "amd")
        assert (machine.amd_result, machine.amd_ms) == ("machine", 2400)
        assert (person.result, person.amd_result, person.amd_ms) == ("success", "human", 1300)
        targets = {t.destinations[0].target: t for t in await h.targets(outdial.id)}
        assert targets[MACHINE].status == "idle"  # retry rules: try_interval (60 s), 2 tries
        assert targets[PERSON].status == "done"
        await h.tick(61.0)
        await h.tick(0.5, rounds=6)
        machine_calls = [c for c in await h.calls(campaign.id) if c.destination.target == MACHINE]
        assert [c.try_count for c in machine_calls] == [2, 1]
        assert all(t.status == "done" for t in await h.targets(outdial.id))
        # the API and the events render the new fields
        wire = await services.campaigncalls.get(h.customer_id, machine.id)
        assert wire.amd_result == "machine"


async def test_opt_out_lists_the_number_for_every_campaign(
    services: Services, clock: FakeClock
) -> None:
    heard = {PRESSER: {"digits": "9", "opted_out": True}}
    async with Harness(services, clock) as h:
        telephony = ScriptedHearing(clock, heard)
        _use(h, telephony)
        me = h.customer_id
        dnc = await services.dnclists.create(me, {"name": "opted out"})
        opt_out = {"key": "9", "dnclist_id": str(dnc.id), "confirmation": "You are removed."}
        _, _, first = await h.setup([PRESSER, PERSON], calls_per_second=100, opt_out=opt_out)
        assert first.opt_out is not None and first.opt_out.key == "9"
        await h.run(first.id)
        await h.tick(0.5, rounds=6)
        [pressed] = [c for c in await h.calls(first.id) if c.destination.target == PRESSER]
        assert (pressed.opted_out, pressed.digits, pressed.result) == (True, "9", "success")
        [request] = [r for r in telephony.requests if r.destination.target == PRESSER]
        assert (request.opt_out_key, request.opt_out_confirmation) == ("9", "You are removed.")
        assert request.variables["voipbin.campaign.id"] == str(first.id)
        entries = (await services.dnclists.entries(me, dnc.id, None, 100)).items
        assert [e.number for e in entries] == [PRESSER]
        # a second campaign of the customer (no opt-out of its own) never dials the number
        _, _, second = await h.setup([PRESSER, "+15550000704"], calls_per_second=100)
        await h.run(second.id)
        await h.tick(0.5, rounds=6)
        dialed = [c.destination.target for c in await h.calls(second.id)]
        assert dialed == ["+15550000704"]
        async with services.ctx.db.read() as conn:
            skips = (
                await conn.execute(
                    sa.select(dial_skips.c.reason, dial_skips.c.number).where(
                        dial_skips.c.campaign_id == second.id
                    )
                )
            ).all()
        assert {(r.reason, r.number) for r in skips} == {("dnc_listed", PRESSER)}


async def test_opt_out_without_setting_lists_nothing(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock) as h:
        _use(h, ScriptedHearing(clock, {PRESSER: {"digits": "9", "opted_out": True}}))
        dnc = await services.dnclists.create(h.customer_id, {"name": "unused"})
        _, _, campaign = await h.setup([PRESSER], calls_per_second=100)
        assert campaign.opt_out is None
        await h.run(campaign.id)
        await h.tick(0.5, rounds=6)
        [call] = await h.calls(campaign.id)
        assert call.opted_out is True
        assert (await services.dnclists.entries(h.customer_id, dnc.id, None, 100)).items == []


async def test_recordings_are_stored_at_attempt_end(services: Services, clock: FakeClock) -> None:
    rec_id = uuid.uuid4()

    def made(request: CallRequest) -> tuple[RecordingFile, ...]:
        return (
            RecordingFile(
                rec_id,
                f"{request.recordings_dir}/{rec_id}.wav",
                "wav",
                2,
                3200,
                "ended",
                "",
                "2026-01-05 12:00:01.000000",
                "2026-01-05 12:00:04.200000",
            ),
        )

    async with Harness(services, clock) as h:
        h.engine.dialing.ctx = replace(services.ctx, recordings_dir="/var/rec")
        _use(h, ScriptedHearing(clock, {PERSON: {"recordings": made}}))
        _, _, campaign = await h.setup([PERSON], calls_per_second=100)
        await h.run(campaign.id)
        await h.tick(0.5, rounds=6)
        [call] = await h.calls(campaign.id)
        async with services.ctx.db.read() as conn:
            [row] = (await conn.execute(sa.select(recordings))).all()
        assert (row.id, row.campaigncall_id, row.reference_id) == (
            rec_id,
            call.id,
            call.reference_id,
        )
        assert (row.customer_id, row.status, row.channels, row.duration_ms) == (
            h.customer_id,
            "ended",
            2,
            3200,
        )
        assert row.path == f"/var/rec/{rec_id}.wav"


async def test_calls_carry_the_target_data_as_variables(
    services: Services, clock: FakeClock
) -> None:
    async with Harness(services, clock) as h:
        telephony = ScriptedHearing(clock, {})
        _use(h, telephony)
        _, outdial, campaign = await h.setup([], calls_per_second=100)
        body = {"name": "Ann", "detail": "vip", "data": "acct 7"}
        await services.targets.create(
            h.customer_id, outdial.id, {**body, "destination_0": {"type": "tel", "target": PERSON}}
        )
        await h.run(campaign.id)
        await h.tick(0.5, rounds=4)
        [request] = telephony.requests
        variables = request.variables
        assert variables["voipbin.outdial_target.name"] == "Ann"
        assert variables["voipbin.outdial_target.detail"] == "vip"
        assert variables["voipbin.outdial_target.data"] == "acct 7"
        assert variables["voipbin.call.destination.target"] == PERSON
        [call] = await h.calls(campaign.id)
        assert variables["voipbin.campaigncall.id"] == str(call.id)
