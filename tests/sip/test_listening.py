"""Calls that listen, over SIP against the answering peer (SPEC 5: 776-779): AMD, the
voicemail drop, keys in (RFC 4733, SIP INFO) and out, opt-out, two-channel recordings."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
import wave
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from outdial.domain.numberplan import listening_for
from outdial.domain.outcome import CallOutcome, CallResult, HangupReason
from outdial.telephony.sip import SipAnsweringPeer


def act(kind: str, **option: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": kind, "option": option}


async def place(tel: Any, kit: SimpleNamespace, number: str, actions: list[dict[str, Any]],
                on_answer: Any = None, **extra: Any) -> tuple[Any, CallOutcome]:  # fmt: skip
    request = dataclasses.replace(kit.call_request(kit.tel(number), actions=actions), **extra)
    outcome = await asyncio.wait_for(tel.place_call(request, on_answer or kit.no_op), 40)
    return request, outcome


async def test_amd_machine_human_notsure(
    peer: SipAnsweringPeer, telephony: Any, kit: SimpleNamespace
) -> None:
    tel = await telephony(("127.0.0.1", peer.port))
    hangup = [act("amd", machine_handle="hangup"), act("sleep", duration=3000)]
    go_on = [act("amd", machine_handle="continue")]
    (_, machine), (_, human), (_, silent) = await asyncio.gather(
        place(tel, kit, "+77712345", hangup),
        place(tel, kit, "+77812345", go_on),
        place(tel, kit, "+77912345", go_on),
    )
    assert machine.amd_result == "machine", machine
    assert machine.reason is HangupReason.AMD and machine.result is CallResult.FAIL
    assert 1500 <= machine.amd_ms <= 6000
    assert human.amd_result == "human" and human.reason is HangupReason.NORMAL, human
    assert 1000 <= human.amd_ms <= 3000
    assert silent.amd_result == "notsure" and 2400 <= silent.amd_ms <= 3000, silent


async def test_voicemail_drop_starts_after_the_beep(
    peer: SipAnsweringPeer, telephony: Any, kit: SimpleNamespace
) -> None:
    tel = await telephony(("127.0.0.1", peer.port))
    number = "+77712300"
    actions = [act("talk", text="This is a message for you.", wait_for_beep=True)]
    request, outcome = await place(tel, kit, number, actions)
    assert outcome.reason is HangupReason.NORMAL
    seen = peer.calls[str(request.call_id)]
    assert seen.acked_at is not None and seen.first_rtp_at is not None
    plan = listening_for(number)
    started_ms = (seen.first_rtp_at - seen.acked_at) * 1000
    beep_end = plan.beep_start_ms + plan.beep_ms
    assert beep_end <= started_ms <= beep_end + 1000, (started_ms, beep_end)


async def test_keypress_776_rfc4733_then_branch(
    peer: SipAnsweringPeer, telephony: Any, kit: SimpleNamespace
) -> None:
    tel = await telephony(("127.0.0.1", peer.port))
    nine = act("sleep", duration=200)
    actions = [
        act("digits_receive", duration=5000, length=1),
        act("branch", target_ids={"9": nine["id"]}),
        act("hangup"),
        nine,
    ]
    _, outcome = await place(tel, kit, "+77691234", actions)
    assert outcome.digits == "9" and outcome.reason is HangupReason.NORMAL


async def test_opt_out_key_ends_the_call(
    peer: SipAnsweringPeer, telephony: Any, kit: SimpleNamespace
) -> None:
    tel = await telephony(("127.0.0.1", peer.port))
    actions = [act("sleep", duration=15_000), act("talk", text="never said")]
    loop = asyncio.get_running_loop()
    start = loop.time()
    _, outcome = await place(tel, kit, "+77693333", actions, opt_out_key="9",
                             opt_out_confirmation="")  # fmt: skip
    assert outcome.opted_out and outcome.digits == "9"
    assert loop.time() - start < 10  # not after the 15 s sleep


async def test_digits_send_rfc4733_packets(
    peer: SipAnsweringPeer, telephony: Any, kit: SimpleNamespace
) -> None:
    tel = await telephony(("127.0.0.1", peer.port))
    actions = [
        act("digits_send", digits="12#", duration=100, interval=100),
        act("sleep", duration=300),
    ]
    request, outcome = await place(tel, kit, "+15550001", actions)
    assert outcome.reason is HangupReason.NORMAL
    seen = peer.calls[str(request.call_id)]
    assert "".join(k.digit for k in seen.keys_heard) == "12#"
    assert all(k.duration_ms == 100 and k.source == "rfc4733" for k in seen.keys_heard)
    ends = [p for p in seen.event_packets if p.payload[1] & 0x80]
    assert len(ends) == 9  # the final packet three times per key
    assert sum(p.marker for p in seen.event_packets) == 3  # one start per key


async def test_sip_info_keys(peer: SipAnsweringPeer, telephony: Any, kit: SimpleNamespace) -> None:
    tel = await telephony(("127.0.0.1", peer.port))
    holder: dict[str, str] = {}

    async def answered() -> None:
        async def later() -> None:
            await asyncio.sleep(0.3)
            peer.send_info(holder["id"], "application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n")
            await asyncio.sleep(0.2)
            peer.send_info(holder["id"], "application/dtmf", b"#")

        asyncio.get_running_loop().create_task(later())

    actions = [act("digits_receive", duration=4000, key="#")]
    request = kit.call_request(kit.tel("+15550002"), actions=actions)
    holder["id"] = str(request.call_id)
    outcome = await asyncio.wait_for(tel.place_call(request, answered), 20)
    assert outcome.digits == "5#"


async def test_recording_has_both_directions(
    peer: SipAnsweringPeer, telephony: Any, kit: SimpleNamespace, tmp_path: Path
) -> None:
    tel = await telephony(("127.0.0.1", peer.port))
    actions = [
        act("recording_start", format="wav", beep_start=True),
        act("sleep", duration=1500),
        act("recording_stop"),
        act("recording_start", end_of_key="#", duration=10),
        act("sleep", duration=300),
    ]
    _, outcome = await place(tel, kit, "+77812345", actions, recordings_dir=str(tmp_path))
    first, second = outcome.recordings
    assert first.status == "done" and first.channels == 2 and first.format == "wav", first
    assert 1400 <= first.duration_ms <= 2200
    assert Path(first.path) == tmp_path / str(_id(outcome, first)) / f"{first.id}.wav"
    with wave.open(first.path) as wav:
        assert wav.getnchannels() == 2 and wav.getframerate() == 8000
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    far, ours = frames[:, 0].astype(np.float64), frames[:, 1].astype(np.float64)
    assert np.sqrt(np.mean(far**2)) > 100  # "Hello?" from the far end
    assert np.sqrt(np.mean(ours[: 8 * 200] ** 2)) > 1000  # our beep_start tone
    assert np.abs(far[-8 * 300 :]).max() < 50  # the far end listens quietly afterwards
    assert second.status == "done" and second.duration_ms >= 250


def _id(outcome: CallOutcome, rec: Any) -> str:
    """The call id directory a recording was written under."""
    return Path(rec.path).parent.name


@pytest.mark.sipp
async def test_sipp_info_dtmf(sipp_uas: Any, telephony: Any, kit: SimpleNamespace) -> None:
    """A SIPp far end presses keys by SIP INFO (dtmf-relay, then dtmf): digits_receive ends on
    the `#` key, the outcome has both keys."""
    uas = await sipp_uas("uas_info_dtmf.xml")
    tel = await telephony()
    nope = act("hangup")
    actions = [
        act("digits_receive", duration=5000, key="#"),
        act("condition_call_digits", length=1, false_target_id=nope["id"]),
        act("sleep", duration=100),
        nope,
    ]
    request = kit.call_request(kit.sip(f"info@127.0.0.1:{uas.port}"), actions=actions)
    outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 20)
    assert outcome.reason is HangupReason.NORMAL and outcome.digits == "4#"
    assert await uas.wait() == 0, uas.text()
    assert uas.messages() == ["<INVITE", ">200", "<ACK", ">INFO", "<200", ">INFO", "<200",
                              "<BYE", ">200"]  # fmt: skip


async def test_recording_end_of_silence(
    peer: SipAnsweringPeer, telephony: Any, kit: SimpleNamespace, tmp_path: Path
) -> None:
    """778 says "Hello?" (400-1,100 ms) and listens: a recording with end_of_silence 1 s
    ends about 1 s after the greeting, while the call goes on."""
    tel = await telephony(("127.0.0.1", peer.port))
    actions = [act("recording_start", end_of_silence=1), act("sleep", duration=4000)]
    _, outcome = await place(tel, kit, "+77812345", actions, recordings_dir=str(tmp_path))
    (rec,) = outcome.recordings
    assert rec.status == "done"
    assert 900 <= rec.duration_ms <= 3000, rec  # (silence counts from the start too)
    assert outcome.reason is HangupReason.NORMAL
