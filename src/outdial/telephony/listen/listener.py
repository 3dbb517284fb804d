"""Everything one call listens for, fed one 20 ms frame at a time.

`CallListener` shares the per-frame work between the detectors: the frame is converted and
its energy taken once, one `EnergyVad` decision serves AMD and the voicemail-drop cue, and
each detector runs only while it is wanted (AMD until it decides, the drop cue from
`wait_for_beep()` until it fires, DTMF for the whole call).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from outdial.telephony.listen.amd import AmdDetector, AmdResult, AmdSettings
from outdial.telephony.listen.dtmf import DtmfDetector, DtmfSettings
from outdial.telephony.listen.events import DigitEvent
from outdial.telephony.listen.frames import FRAME_MS, Frame, as_samples
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
        self.frames += 1
        heard = Heard()
        if self.dtmf is not None:
            heard.digits = self.dtmf.feed(frame)
        amd_on = self.amd is not None and self.amd.result is None
        drop_on = self.drop is not None and self.drop.cue is None
        if not (amd_on or drop_on):
            return heard
        x = as_samples(frame).astype(np.float64)
        energy = float(np.dot(x, x))
        voiced = self.vad.is_voice_energy(energy)
        if amd_on and self.amd is not None:
            heard.amd = self.amd.step(voiced)
        if drop_on and self.drop is not None:
            heard.drop = self.drop.step(x, energy, voiced)
        return heard

    def finish(self) -> list[DigitEvent]:
        """At hang-up: the key still held, if any."""
        return self.dtmf.flush() if self.dtmf is not None else []
