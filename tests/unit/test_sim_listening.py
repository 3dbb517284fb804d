"""The simulated telephony follows the listening part of the number plan (SPEC 5: 776-779)
and runs the call actions through the shared interpreter, on virtual time."""

from __future__ import annotations

import asyncio
import uuid
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.virtualtime import run

from outdial.domain.address import Address, AddressType
from outdial.domain.numberplan import listening_for
from outdial.domain.outcome import CallOutcome, CallResult, HangupReason
from outdial.telephony.base import CallRequest
from outdial.telephony.sim import SimTelephony

BASE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class LoopClock:
    """Wall time read from the (virtual) event loop."""

    def now(self) -> datetime:
        return BASE + timedelta(seconds=asyncio.get_running_loop().time())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def act(kind: str, **option: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "next_id": "", "type": kind, "option": option}


def call(number: str, actions: list[dict[str, Any]], **extra: Any) -> CallOutcome:
    async def main() -> CallOutcome:
        sim = SimTelephony(LoopClock(), ring_ms=1000)
        request = CallRequest(
            uuid.uuid4(),
            Address(AddressType.TEL, "+15550000000"),
            Address(AddressType.TEL, number),
            30_000,
            actions,
            **extra,
        )

        async def answered() -> None:
            return None

        return await sim.place_call(request, answered)

    return run(main())


def test_plan_scripts() -> None:
    machine = listening_for("+77712345678")
    assert machine.amd == "machine" and machine.drop_cue == "beep"
    assert 4000 <= machine.greeting_ms <= 8000 and machine.beep_ms == 500
    assert machine.drop_ms > machine.beep_start_ms + machine.beep_ms
    assert listening_for("+7781").amd == "human" and listening_for("+7781").amd_ms < 3000
    assert listening_for("+7791").amd == "notsure"
    assert listening_for("+7769123").key == "9" and listening_for("+7761234").key == "1"
    assert listening_for("+15551234567").amd == "notsure"


def test_amd_results_by_number() -> None:
    for number, expected in [("+7771234", "machine"), ("+7781234", "human"),
                             ("+7791234", "notsure"), ("+7769234", "human")]:  # fmt: skip
        outcome = call(number, [act("amd", machine_handle="continue"), act("talk", text="hi")])
        assert outcome.amd_result == expected, number
        assert outcome.amd_ms == listening_for(number).amd_ms
        assert outcome.reason is HangupReason.NORMAL and outcome.result is CallResult.SUCCESS


def test_no_amd_action_no_result() -> None:
    outcome = call("+7771234", [act("talk", text="hi")])
    assert outcome.amd_result == "" and outcome.amd_ms == 0 and outcome.answered


def test_machine_hangup_is_amd_fail() -> None:
    outcome = call("+7771234", [act("amd", machine_handle="hangup"), act("talk", text="x")])
    assert outcome.reason is HangupReason.AMD and outcome.result is CallResult.FAIL
    assert outcome.amd_result == "machine"
    human = call("+7781234", [act("amd", machine_handle="hangup"), act("talk", text="x")])
    assert human.reason is HangupReason.NORMAL


def test_async_amd_hangs_up_during_a_later_action() -> None:
    actions = [
        act("amd", machine_handle="hangup", **{"async": True}),
        act("sleep", duration=20_000),
    ]

    async def main() -> tuple[CallOutcome, float]:
        sim = SimTelephony(LoopClock(), ring_ms=1000)
        req = CallRequest(uuid.uuid4(), Address(AddressType.TEL, "+1555"),
                          Address(AddressType.TEL, "+7771234"), 30_000, actions)  # fmt: skip

        async def answered() -> None:
            return None

        outcome = await sim.place_call(req, answered)
        return outcome, asyncio.get_running_loop().time()

    outcome, ended = run(main())
    assert outcome.reason is HangupReason.AMD
    assert ended * 1000 < 1000 + 20_000  # the sleep was cut short
    assert abs(ended * 1000 - (1000 + listening_for("+7771234").amd_ms)) < 5


def test_keypress_776_digits_receive_and_branch() -> None:
    nine = act("talk", text="nine")
    actions = [
        act("talk", text="press a key"),
        act("digits_receive", duration=5000, length=1),
        act("branch", target_ids={"9": nine["id"]}),
        act("hangup"),
        nine,
    ]
    outcome = call("+7769123", actions)
    assert outcome.digits == "9"
    other = call("+7781234", actions)
    assert other.digits == ""


def test_talk_digits_handle_next_cuts_the_talk() -> None:
    async def main() -> float:
        sim = SimTelephony(LoopClock(), ring_ms=0, action_ms=10_000)
        actions = [act("talk", text="long", digits_handle="next")]
        req = CallRequest(uuid.uuid4(), Address(AddressType.TEL, "+1555"),
                          Address(AddressType.TEL, "+7765"), 30_000, actions)  # fmt: skip

        async def answered() -> None:
            return None

        outcome = await sim.place_call(req, answered)
        assert outcome.digits == "5"
        return asyncio.get_running_loop().time()

    assert abs(run(main()) - 2.0) < 0.01  # the key came 2 s into the talk


def test_opt_out_key() -> None:
    actions = [act("talk", text="offer"), act("sleep", duration=10_000), act("talk", text="more")]
    outcome = call("+7769000", actions, opt_out_key="9", opt_out_confirmation="Bye")
    assert outcome.opted_out and outcome.digits == "9"
    assert outcome.reason is HangupReason.NORMAL
    not_the_key = call("+7768000", actions, opt_out_key="9")
    assert not not_the_key.opted_out and not_the_key.digits == "8"


def test_voicemail_drop_waits_for_the_beep() -> None:
    async def main() -> float:
        sim = SimTelephony(LoopClock(), ring_ms=0, action_ms=0)
        actions = [
            act("amd", machine_handle="continue"),
            act("talk", text="msg", wait_for_beep=True),
        ]
        req = CallRequest(uuid.uuid4(), Address(AddressType.TEL, "+1555"),
                          Address(AddressType.TEL, "+7771234"), 30_000, actions)  # fmt: skip

        async def answered() -> None:
            return None

        await sim.place_call(req, answered)
        return asyncio.get_running_loop().time()

    far = listening_for("+7771234")
    assert abs(run(main()) * 1000 - far.drop_ms) < 1
    assert far.drop_ms > far.beep_start_ms + far.beep_ms


def test_recording_disabled_and_written(tmp_path: Path) -> None:
    actions = [act("recording_start", format="wav"), act("sleep", duration=1500),
               act("recording_stop")]  # fmt: skip
    disabled = call("+7781234", actions)
    assert len(disabled.recordings) == 1
    assert disabled.recordings[0].status == "failed"
    assert disabled.recordings[0].detail == "recordings disabled"
    outcome = call("+7781234", actions, recordings_dir=str(tmp_path))
    (rec,) = outcome.recordings
    assert rec.status == "done" and rec.channels == 2 and rec.format == "wav"
    assert rec.duration_ms == 1500
    assert Path(rec.path).parent.parent == tmp_path
    with wave.open(rec.path) as wav:
        assert wav.getnchannels() == 2 and wav.getframerate() == 8000
        assert wav.getnframes() == 1500 * 8


def test_recording_unwritable_directory_fails_the_recording_only(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    actions = [act("recording_start"), act("sleep", duration=100), act("talk", text="after")]
    outcome = call("+7781234", actions, recordings_dir=str(blocker))
    (rec,) = outcome.recordings
    assert rec.status == "failed" and "cannot write" in rec.detail
    assert outcome.reason is HangupReason.NORMAL


def test_recording_duration_limit(tmp_path: Path) -> None:
    actions = [act("recording_start", duration=2), act("sleep", duration=5000)]
    (rec,) = call("+7781234", actions, recordings_dir=str(tmp_path)).recordings
    assert rec.duration_ms == 2000


def test_variables_reach_talk_and_flow_actions() -> None:
    skip = act("talk", text="skipped")
    actions = [
        act("variable_set", key="x", value="${name}"),
        act(
            "condition_variable",
            condition="==",
            variable="x",
            value_type="string",
            value_string="Ann",
            false_target_id=skip["id"],
        ),
        act("digits_send", digits="12#", duration=100, interval=50),
        act("webhook_send", uri="http://example.invalid"),
    ]
    outcome = call("+15551234567", actions, variables={"name": "Ann"})
    assert outcome.reason is HangupReason.NORMAL


def test_recording_end_of_key_and_opt_out_during_digits_receive(tmp_path: Path) -> None:
    actions = [act("recording_start", end_of_key="9"), act("sleep", duration=5000)]
    (rec,) = call("+7769123", actions, recordings_dir=str(tmp_path)).recordings
    assert rec.duration_ms == 2000  # the key came 2 s after the first action started
    waiting = [act("digits_receive", duration=10_000, length=4), act("talk", text="after")]
    outcome = call("+7763123", waiting, opt_out_key="3")
    assert outcome.opted_out and outcome.digits == "3"
