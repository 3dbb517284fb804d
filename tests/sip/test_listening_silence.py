"""The listening tick's cheap path for silent frames (`Ears(skip_silence=True)`, the default)
gives exactly what decoding every frame and running every detector on it gives
(`skip_silence=False`): the same keys, AMD decision, drop cue, recorded audio and frame
counts, and the same detector state after every tick, for the same packets at the same times."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from outdial.telephony.listen import AmdSettings
from outdial.telephony.sip import g711, listening
from outdial.telephony.sip.listening import CallEar, Ears
from outdial.telephony.sip.rtp import RtpPacketizer
from outdial.telephony.sip.sdp import PCMA, PCMU
from tests.listen import signals

STEP = 0.02


@dataclass
class Step:
    payload: bytes | None = None  # one 20 ms packet from the far end, or none this step
    tick: bool = True  # False: the listening tick comes late (catches up next time)
    beep: bool = False  # the action interpreter starts waiting for the drop cue
    record: bool = False  # a recording starts


@dataclass
class Heard:
    digits: list[tuple[int, str]] = field(default_factory=list)
    amd: tuple[int, tuple[str, int]] | None = None
    drop: tuple[int, str] | None = None
    recorded: list[tuple[int, bytes]] = field(default_factory=list)
    states: list[Any] = field(default_factory=list)


class FakeRecorder:
    def __init__(self, into: list[tuple[int, bytes]]) -> None:
        self.into = into

    def add_in(self, samples: bytes, at_ms: int | None = None) -> None:
        self.into.append((at_ms or 0, samples))


def state(obj: Any, seen: set[int] | None = None) -> Any:
    """Every attribute of a detector, recursively, as plain values (numpy arrays as lists)."""
    seen = set() if seen is None else seen
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (list, tuple)):
        return [state(o, seen) for o in obj]
    if isinstance(obj, dict):
        return {k: state(v, seen) for k, v in obj.items()}
    if type(obj).__module__.startswith("outdial.telephony.listen") and not isinstance(
        obj, (int, float, str)
    ):
        if id(obj) in seen:
            return "<seen>"
        seen.add(id(obj))
        names = list(getattr(obj, "__dict__", {})) or list(getattr(obj, "__slots__", ()))
        return {n: state(getattr(obj, n), seen) for n in names}
    if isinstance(obj, float) and math.isnan(obj):
        return "nan"
    return obj


def run(steps: list[Step], payload_type: int, skip: bool) -> tuple[Heard, int]:
    """Feed `steps` to one call's ear through an `Ears` tick (the loop's clock replaced by
    the steps' times); what it heard, and how many frames took the cheap path."""
    import asyncio

    heard = Heard()
    quick = 0
    real = listening.listen_silence

    def counting(listener: Any, quiet: Any) -> Any:
        nonlocal quick
        got = real(listener, quiet)
        quick += got is not None
        return got

    async def go() -> None:
        now = [0.0]
        ear = CallEar(lambda d: heard.digits.append((ear.frames, d)), amd=AmdSettings())
        ear._time = lambda: now[0]
        ear.started_at = 0.0
        ears = Ears(skip_silence=skip)
        packets = RtpPacketizer(payload_type, ssrc=1234, sequence=65500, timestamp=2**32 - 800)
        for k, step in enumerate(steps):
            now[0] = k * STEP + 0.003
            if step.payload is not None:
                ear.on_packet(packets.packet(step.payload))
            else:
                packets.skip(160)
            if step.beep:
                ear.wait_for_beep()
            if step.record:
                ear.record(FakeRecorder(heard.recorded))  # type: ignore[arg-type]
            if step.tick:
                ears.tick([ear], now[0])
                heard.states.append((ear.frames, state(ear.listener), state(ear.receiver)))
            if heard.amd is None and ear.amd.done():
                heard.amd = (ear.frames, ear.amd.result())
            if heard.drop is None and ear.drop is not None and ear.drop.done():
                heard.drop = (ear.frames, ear.drop.result())
        ear.close()
        heard.states.append(state(ear.listener))

    listening.listen_silence = counting
    try:
        asyncio.run(go())
    finally:
        listening.listen_silence = real
    return heard, quick


def frames_of(x: np.ndarray, payload_type: int) -> list[bytes]:
    pcm = np.clip(np.round(x), -32768, 32767).astype("<i2")
    pcm = np.concatenate([pcm, np.zeros((-len(pcm)) % 160, dtype="<i2")])
    coded = g711.encode(pcm.tobytes(), payload_type)
    return [coded[i : i + 160] for i in range(0, len(coded), 160)]


def silent(payload_type: int, n: int) -> list[Step]:
    return [Step(g711.silence(payload_type, 160)) for _ in range(n)]


def audio(x: np.ndarray, payload_type: int) -> list[Step]:
    return [Step(f) for f in frames_of(x, payload_type)]


def nothing(n: int) -> list[Step]:
    return [Step() for _ in range(n)]


def keys_then_quiet(pt: int) -> list[Step]:
    """Silence sent, a key, the far end stops sending, a key, speech, silence, a key while
    a recording runs, and ticks that come late."""
    steps = silent(pt, 40) + audio(signals.dtmf("5", 0.1), pt) + silent(pt, 20)
    steps += nothing(60) + audio(signals.dtmf("#", 0.12), pt) + silent(pt, 3)
    steps += audio(signals.greeting(1.2), pt) + silent(pt, 50) + nothing(40)
    steps[len(steps) - 70].record = True
    steps += audio(signals.dtmf("9", 0.1, dbm0=-20), pt) + silent(pt, 30) + nothing(30)
    for k in range(5, len(steps), 17):
        steps[k].tick = False
    return steps


def machine_then_beep(pt: int) -> list[Step]:
    """A greeting (AMD: machine), the wait for the drop cue, its beep, then silence and
    nothing (the cue given, the cheap path may start again)."""
    steps = nothing(10) + audio(signals.greeting(2.5), pt) + silent(pt, 10)
    steps[len(steps) - 5].beep = True
    steps += audio(signals.tone(1000.0, 0.5, -12.0), pt) + silent(pt, 120) + nothing(60)
    steps[30].record = True
    return steps


def never_sends(pt: int) -> list[Step]:
    """The far end sends nothing at all (AMD: not sure after the initial silence), late ticks."""
    steps = nothing(400)
    steps[200].record = True
    for k in range(3, 400, 11):
        steps[k].tick = False
    return steps


def lossy_silence(pt: int) -> list[Step]:
    """Silence with lost packets (gaps filled by the jitter buffer), then a key amid it."""
    steps = [Step(None if k % 7 == 3 else g711.silence(pt, 160)) for k in range(300)]
    steps[150:155] = audio(signals.dtmf("1", 0.1), pt)
    return steps


SCENARIOS: dict[str, Callable[[int], list[Step]]] = {
    "keys-then-quiet": keys_then_quiet,
    "machine-then-beep": machine_then_beep,
    "never-sends": never_sends,
    "lossy-silence": lossy_silence,
}


@pytest.mark.parametrize("payload_type", [PCMU, PCMA], ids=["pcmu", "pcma"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_cheap_path_hears_what_the_full_path_hears(name: str, payload_type: int) -> None:
    steps = SCENARIOS[name](payload_type)
    full, none = run(steps, payload_type, skip=False)
    quick, used = run(steps, payload_type, skip=True)
    assert none == 0
    assert used > 100, "the cheap path was never taken"  # the test compares something
    assert quick.digits == full.digits
    assert quick.amd == full.amd
    assert quick.drop == full.drop
    assert quick.recorded == full.recorded
    assert len(quick.states) == len(full.states)
    for index, (a, b) in enumerate(zip(quick.states, full.states, strict=True)):
        assert a == b, f"state differs after tick {index}"


def test_the_scenarios_hear_something() -> None:
    """The scenarios exercise what matters: keys, each AMD outcome, the drop cue, recording."""
    keys, _ = run(keys_then_quiet(PCMU), PCMU, skip=True)
    assert [d for _, d in keys.digits] == ["5", "#", "9"]
    assert keys.amd is not None and keys.recorded
    machine, _ = run(machine_then_beep(PCMA), PCMA, skip=True)
    assert machine.amd is not None and machine.amd[1][0] == "machine"
    assert machine.drop is not None and machine.drop[1] == "beep"
    never, _ = run(never_sends(PCMU), PCMU, skip=True)
    assert never.amd is not None and never.amd[1][0] == "notsure"
    assert never.recorded and all(not any(pcm) for _, pcm in never.recorded)
    lossy, _ = run(lossy_silence(PCMU), PCMU, skip=True)
    assert [d for _, d in lossy.digits] == ["1"]


def test_usual_packets_read_as_parsed_ones() -> None:
    """`CallEar.on_packet` reads a plain header (0x80: no padding, extension or CSRC) itself;
    the same packets with a CSRC and padding (parsed by `RtpPacket.parse`) leave the ear in
    the same state and give the same keys."""
    import asyncio

    def feed(padded: bool) -> tuple[Any, list[str]]:
        digits: list[str] = []

        def wrap(data: bytes) -> bytes:
            """With `padded`, one CSRC and 3 bytes of padding: the same packet."""
            if not padded:
                return data
            return bytes([0xA1]) + data[1:12] + b"\0\0\0\1" + data[12:] + b"\0\0\3"

        async def go() -> Any:
            ear = CallEar(digits.append, event_payload_type=101)
            ear._time = lambda: 0.0
            packets = RtpPacketizer(PCMU, ssrc=7, sequence=65530, timestamp=2**32 - 320)
            events = RtpPacketizer(101, ssrc=7)
            at = 0
            for k, payload in enumerate(frames_of(signals.greeting(0.4), PCMU)):
                data = packets.packet(payload)
                if k in (3, 4):  # a key as RFC 4733 events: start, then end
                    at = at or packets.timestamp
                    ear.on_packet(wrap(events.packet(bytes([5, 0x80 * (k == 4), 0, 160]), at)))
                ear.on_packet(wrap(data))
            return state(ear.receiver), ear.packets, ear.malformed

        return asyncio.run(go()), digits

    plain, keys = feed(False)
    parsed, parsed_keys = feed(True)
    assert keys == parsed_keys == ["5"]
    assert plain == parsed and plain[1] > 20
