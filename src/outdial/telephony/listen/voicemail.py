"""When to start a voicemail drop: after the beep, or when the greeting has ended in silence.

A message left on an answering machine must start after its beep, or its start is lost to
the greeting. `VoicemailDropDetector` listens (from answer, or from when AMD said machine) and
gives one `DropCue`:

- `beep`: a beep (`beep.BeepDetector`) ended; about 60 ms after its end;
- `silence`: no beep, but after at least `min_greeting_ms` of voice there was `end_silence_ms`
  (1.5 s) of quiet, and no tone is going on: the greeting is over (machines that do not
  beep, or beep below 200 ms). Beeps come 0.1-1 s after the greeting, so 1.5 s does not
  pre-empt them;
- `timeout`: neither within `max_wait_ms` (30 s, Telnyx's beep window): drop anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from outdial.telephony.listen.beep import BeepDetector, BeepEvent, BeepSettings
from outdial.telephony.listen.frames import FRAME_MS, Frame
from outdial.telephony.listen.vad import EnergyVad, Vad


@dataclass(frozen=True, slots=True)
class DropSettings:
    end_silence_ms: int = 1500
    min_greeting_ms: int = 300
    max_wait_ms: int = 30_000
    beep: BeepSettings = field(default_factory=BeepSettings)

    def __post_init__(self) -> None:
        if not 200 <= self.end_silence_ms <= 10_000:
            raise ValueError("end_silence_ms must be within 200..10000")
        if not 1_000 <= self.max_wait_ms <= 120_000:
            raise ValueError("max_wait_ms must be within 1000..120000")


@dataclass(frozen=True, slots=True)
class DropCue:
    reason: Literal["beep", "silence", "timeout"]
    ms: int  # audio fed when the cue came
    beep: BeepEvent | None = None


class VoicemailDropDetector:
    """`feed(frame)` returns the `DropCue` once, on the frame that gives it."""

    def __init__(
        self, settings: DropSettings | None = None, *, vad: Vad | None = None, start_ms: int = 0
    ) -> None:
        """`start_ms`: the time of the first frame fed (the call's clock, e.g. when AMD said
        machine); cue and beep times are on that clock, `max_wait_ms` counts from it."""
        self.settings = settings or DropSettings()
        self.beep = BeepDetector(self.settings.beep, start_ms=start_ms)
        self.vad = vad or EnergyVad()
        self.cue: DropCue | None = None
        self._start = start_ms
        self._total = 0
        self._voice = 0
        self._silence = 0

    def feed(self, frame: Frame) -> DropCue | None:
        if self.cue is not None:
            return None
        voiced = self.vad.is_voice(frame)
        return self.step(self.beep.feed(frame), voiced)

    def step(self, event: BeepEvent | None, voiced: bool) -> DropCue | None:
        """One frame, once its beep detector has heard it and its voice decision is made (both
        shared with the other detectors by `CallListener`)."""
        if self.cue is not None:
            return None
        s = self.settings
        self._total += FRAME_MS
        if event is not None:
            return self._give("beep", event)
        if voiced:
            self._voice += FRAME_MS
            self._silence = 0
        else:
            self._silence += FRAME_MS
            if (
                self._voice >= s.min_greeting_ms
                and self._silence >= s.end_silence_ms
                and not self.beep.busy
            ):
                return self._give("silence")
        if self._total >= s.max_wait_ms:
            return self._give("timeout")
        return None

    def _give(
        self, reason: Literal["beep", "silence", "timeout"], beep: BeepEvent | None = None
    ) -> DropCue:
        self.cue = DropCue(reason, self._start + self._total, beep)
        return self.cue
