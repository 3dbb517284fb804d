"""Everything one call listens for, fed one 20 ms frame at a time.

`CallListener` shares the per-frame work between the detectors: the frame is converted and
its energy taken once, one `EnergyVad` decision serves AMD and the voicemail-drop cue, and
each detector runs only while it is wanted (AMD until it decides, the drop cue from
`wait_for_beep()` until it fires, DTMF for the whole call).

`listen(listeners, frames)` does the same for many calls at once, one frame each (a media
clock's tick): their DFTs become a few matrix products over all calls, which is what makes
300 calls cheap (numpy's cost is per call of it, not per sample; figures in
docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from outdial.telephony.listen import beep, dtmf, g711
from outdial.telephony.listen.amd import AmdDetector, AmdResult, AmdSettings
from outdial.telephony.listen.beep import BeepEvent
from outdial.telephony.listen.dtmf import DtmfDetector, DtmfSettings
from outdial.telephony.listen.events import DigitEvent
from outdial.telephony.listen.frames import FRAME_MS, FRAME_SAMPLES, Floats, Frame, as_samples
from outdial.telephony.listen.vad import EnergyVad
from outdial.telephony.listen.voicemail import DropCue, DropSettings, VoicemailDropDetector


@dataclass(slots=True)
class Heard:
    """What one frame told: the AMD decision, keys that ended, the drop cue (each rarely)."""

    amd: AmdResult | None = None
    digits: list[DigitEvent] = field(default_factory=list)
    drop: DropCue | None = None


class CallListener:
    def __init__(
        self,
        *,
        amd: AmdSettings | None = None,
        dtmf: DtmfSettings | None = None,
        drop: DropSettings | None = None,
        detect_digits: bool = True,
    ) -> None:
        """AMD runs when `amd` is given; in-band DTMF unless `detect_digits` is False."""
        self.amd_settings = amd
        vad_settings = amd or AmdSettings()
        self.vad = EnergyVad(
            margin_db=vad_settings.vad_margin_db,
            min_dbm0=vad_settings.vad_min_dbm0,
            range_db=vad_settings.vad_range_db,
        )
        self.amd = AmdDetector(amd, vad=self.vad) if amd is not None else None
        self.dtmf = DtmfDetector(dtmf) if detect_digits else None
        self.drop_settings = drop or DropSettings()
        self.drop: VoicemailDropDetector | None = None
        self.frames = 0

    def wait_for_beep(self) -> None:
        """Start listening for the voicemail-drop cue (the beep, or the greeting's end)."""
        if self.drop is None:
            self.drop = VoicemailDropDetector(
                self.drop_settings, vad=self.vad, start_ms=self.frames * FRAME_MS
            )

    def feed(self, frame: Frame) -> Heard:
        return listen([self], as_samples(frame).reshape(1, FRAME_SAMPLES))[0]

    def finish(self) -> list[DigitEvent]:
        """At hang-up: the key still held, if any."""
        return self.dtmf.flush() if self.dtmf is not None else []


def listen(listeners: Sequence[CallListener], frames: NDArray[Any]) -> list[Heard]:
    """One frame for each of many calls (row i of `frames`, shape (n, 160), for listener i),
    as a media clock's tick would give them: the DFTs of all calls are shared matrix products,
    so the cost per call is mostly the detectors' bookkeeping."""
    x = np.asarray(frames, dtype=np.float32)
    energies = np.einsum("ij,ij->i", x, x)
    heard = [Heard() for _ in listeners]
    keys = [(i, ear.dtmf) for i, ear in enumerate(listeners) if ear.dtmf is not None]
    if keys:
        rows = [i for i, _ in keys]
        found = dtmf.analyse([d for _, d in keys], x if len(rows) == len(x) else x[rows])
        for i, digits in zip(rows, found, strict=True):
            heard[i].digits = digits
    drops = [(i, d) for i, ear in enumerate(listeners) if (d := ear.drop) and d.cue is None]
    beeps: dict[int, BeepEvent | None] = {}
    if drops:
        rows = [i for i, _ in drops]
        events = beep.analyse([d.beep for _, d in drops], x[rows], energies[rows])
        beeps = dict(zip(rows, events, strict=True))
    levels = energies.tolist()
    for i, ear in enumerate(listeners):
        ear.frames += 1
        amd_on = ear.amd is not None and ear.amd.result is None
        if not (amd_on or i in beeps):
            continue
        voiced = ear.vad.is_voice_energy(levels[i])
        if amd_on and ear.amd is not None:
            heard[i].amd = ear.amd.step(voiced)
        if i in beeps and ear.drop is not None:
            heard[i].drop = ear.drop.step(beeps[i], voiced)
    return heard


@dataclass(frozen=True, slots=True)
class Silence:
    """One 20 ms frame of G.711 silence (every code the one of 0) of a payload type, as
    `listen` sees it."""

    codes: bytes  # the 160 G.711 bytes
    pcm: bytes  # decoded, int16 little-endian (what a recording gets)
    energy: float  # the frame's sum of squares, as `listen` computes it
    tail: Floats  # the frame's second half, as the DTMF detector keeps it
    window_energy: float  # a DTMF analysis window of it, as `dtmf.analyse` computes it


@cache
def silence(payload_type: int) -> Silence:
    codes = g711.silence(payload_type, FRAME_SAMPLES)
    row = g711.decode_frames([(codes, payload_type)])
    x = np.asarray(row, dtype=np.float32)
    energy = np.einsum("ij,ij->i", x, x).tolist()[0]
    window = x[:, None, :]  # a window of the constant is the frame itself
    window_energy = np.einsum("nwk,nwk->nw", window, window).tolist()[0][0]
    tail = x[0, FRAME_SAMPLES // 2 :].copy()
    tail.flags.writeable = False
    pcm = row[0].astype("<i2").tobytes()
    return Silence(codes, pcm, float(energy), tail, float(window_energy))


def listen_silence(listener: CallListener, quiet: Silence) -> Heard | None:
    """One frame of G.711 silence (`quiet`: `silence(payload_type)`, what the jitter buffer
    gives while the far end sends nothing) to `listener` without decoding or DFTs: the same
    effect on the listener and the same `Heard` as `listen([listener], frame)`, or None
    (nothing changed) when the frame needs `listen` (the drop cue is being waited for, a key
    is being detected). AMD, when it has not decided, steps on the frame's known energy.
    The `Heard` of a frame that told nothing is shared: read it, do not change it."""
    drop = listener.drop
    if drop is not None and drop.cue is None:
        return None
    keys = listener.dtmf
    if keys is not None and not keys.skip_constant(quiet.tail, quiet.window_energy):
        return None
    listener.frames += 1
    amd = listener.amd
    if amd is not None and amd.result is None:
        decided = amd.step(listener.vad.is_voice_energy(quiet.energy))
        if decided is not None:
            return Heard(amd=decided)
    return _NOTHING


_NOTHING = Heard()  # listen_silence's answer when the frame told nothing (never changed)
