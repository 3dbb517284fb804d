"""Voice activity per 20 ms frame: is the far end making sound, or is it quiet?

`EnergyVad` (the default) is Asterisk's energy gate made noise-aware: a frame is voice when its
level is at least `margin_db` above the noise floor and above `min_dbm0` (Asterisk uses a
fixed mean |x| of 256, about -34 dBm0, which background noise at that level defeats). The
floor is the quietest frame of the last 1.5 s (minimum statistics over three 0.5 s blocks):
speech dips between syllables at least every few hundred ms, noise does not, so the floor
follows steady noise within 1.5 s and never climbs onto speech. `hangover_frames` keeps a
frame voiced after a voiced one, bridging the short dips inside a word.

`WebRtcVad` wraps `webrtcvad` (the `webrtcvad-wheels` package, WebRTC's GMM VAD in C) when it
is installed; on the benchmark corpus it was less accurate for AMD than the energy gate
(docs/listening.md), so it is an option, not the default.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from outdial.telephony.listen.frames import FRAME_SAMPLES, RATE, Frame, as_samples, dbm0_to_power

_PEAK_DECAY = 10.0 ** (-0.02 / 10.0)  # 1 dB per second at 50 frames a second


class Vad(Protocol):
    def is_voice(self, frame: Frame) -> bool: ...


class EnergyVad:
    def __init__(
        self,
        *,
        margin_db: float = 12.0,
        min_dbm0: float = -35.0,
        range_db: float = 20.0,
        hangover_frames: int = 1,
        block_frames: int = 25,
        blocks: int = 3,
    ) -> None:
        self.margin = 10.0 ** (margin_db / 10.0)
        self.min_energy = dbm0_to_power(min_dbm0) * FRAME_SAMPLES
        # quieter frames say nothing about the noise: digital silence, or a lost packet the
        # jitter buffer filled with zeros, must not pull the floor down to nothing
        self.quiet_energy = self.min_energy / self.margin
        self.range = 10.0 ** (-range_db / 10.0) if range_db > 0 else 0.0
        self._peak = 0.0  # loudest frame so far, decaying by 1 dB a second
        self.hangover_frames = hangover_frames
        self.block_frames = block_frames
        self._minima: list[float] = []  # quietest energy of each of the last full blocks
        self._blocks = blocks
        self._block_min = math.inf
        self._in_block = 0
        self._hang = 0
        self.energy = 0.0  # of the last frame (sum of squares)

    @property
    def floor(self) -> float:
        """The noise floor as the energy (sum of squares) of one frame."""
        floor = min(self._block_min, *self._minima) if self._minima else self._block_min
        return self.quiet_energy if floor == math.inf else floor

    def is_voice(self, frame: Frame) -> bool:
        x = as_samples(frame).astype(np.float64)
        return self.is_voice_energy(float(np.dot(x, x)))

    def is_voice_energy(self, energy: float) -> bool:
        """The decision for a frame whose sum of squares is `energy` (shared with callers that
        already computed it)."""
        self.energy = energy
        floor = self.floor
        voiced = (
            energy >= self.min_energy
            and energy >= floor * self.margin
            and energy >= self._peak * self.range
        )
        self._track(energy)
        self._peak = max(self._peak * _PEAK_DECAY, energy)
        if voiced:
            self._hang = self.hangover_frames
            return True
        if self._hang > 0:
            self._hang -= 1
            return True
        return False

    def _track(self, energy: float) -> None:
        if energy >= self.quiet_energy:
            self._block_min = min(self._block_min, energy)
        self._in_block += 1
        if self._in_block >= self.block_frames:
            self._minima.append(self._block_min)
            if len(self._minima) > self._blocks - 1:
                del self._minima[0]
            self._block_min = math.inf
            self._in_block = 0


class WebRtcVad:
    """`webrtcvad.Vad(mode)` on 20 ms frames at 8 kHz; ImportError if it is not installed."""

    def __init__(self, mode: int = 2) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(mode)

    def is_voice(self, frame: Frame) -> bool:
        return bool(self._vad.is_speech(as_samples(frame).tobytes(), RATE))
