"""Voice activity per 20 ms frame: is the far end making sound, or is it quiet?

`EnergyVad` is Asterisk's energy gate made noise-aware. A frame is voice when its energy is

- at least `min_dbm0` (-35 dBm0; Asterisk's fixed gate, a mean |x| of 256, is about -34),
- at least `margin_db` (12 dB) above the noise floor, and
- within `range_db` (20 dB) of the loudest frame so far (decaying 1 dB/s): background
  talk or a TV 20 dB under the callee is not the callee.

The floor is the quietest frame of the last 1.5 s (minimum statistics over three 0.5 s
blocks): speech dips between syllables every few hundred ms, steady noise does not. It follows
freely for the first 0.5 s (noise present from the answer is learnt at once), then rises by at
most 3 dB/s, so a sound that goes on and on (music, a hum) stays voice for seconds instead of
becoming "noise" after 1.5 s; it falls at once. Digital silence counts for the floor only in
runs of 60 ms: a lost packet the jitter buffer filled with zeros amid noise says nothing
about the noise. `hangover_frames` keeps one frame voiced after a voiced one.

On the AMD corpus (docs/listening.md) AMD scored 96.6 % on the held-out half with this VAD
against 94.0 % with `WebRtcVad` (WebRTC's GMM VAD, the `webrtcvad-wheels` package, mode 3)
and the same thresholds, at 10 against 7 µs a frame; so WebRTC's is an option
(`AmdSettings(vad="webrtc")`, `pip install "outdial[vad]"`), not the default.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from outdial.telephony.listen.frames import FRAME_SAMPLES, RATE, Frame, as_samples, dbm0_to_power

_PEAK_DECAY = float(10.0 ** (-0.02 / 10.0))  # 1 dB per second at 50 frames a second
_QUIET_RUN = 3  # frames
_RISE = float(10.0 ** (0.06 / 10.0))  # the floor rises by at most 3 dB per second


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
        self.margin = float(10.0 ** (margin_db / 10.0))
        self.min_energy = dbm0_to_power(min_dbm0) * FRAME_SAMPLES
        # below this a frame is quiet whatever the floor; such frames count for the floor (as
        # this level) only in runs of `_QUIET_RUN`: digital silence is evidence of no noise,
        # but a lost packet the jitter buffer filled with zeros amid noise is not
        self.quiet_energy = self.min_energy / self.margin
        self._quiet_run = 0
        self._floor: float = self.quiet_energy
        self._frames = 0
        self.range = float(10.0 ** (-range_db / 10.0)) if range_db > 0 else 0.0
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
        return self._floor

    def _estimate(self) -> float:
        floor = min(self._block_min, *self._minima) if self._minima else self._block_min
        return self.quiet_energy if floor == math.inf else floor

    def is_voice(self, frame: Frame) -> bool:
        x = as_samples(frame).astype(np.float32)
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
        self._frames += 1
        estimate = self._estimate()
        if self._frames > self.block_frames:  # after the first 0.5 s the floor rises slowly
            estimate = min(estimate, self._floor * _RISE)
        self._floor = estimate
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
            self._quiet_run = 0
            self._block_min = min(self._block_min, energy)
        else:
            self._quiet_run += 1
            if self._quiet_run >= _QUIET_RUN:
                self._block_min = min(self._block_min, self.quiet_energy)
        self._in_block += 1
        if self._in_block >= self.block_frames:
            self._minima.append(self._block_min)
            if len(self._minima) > self._blocks - 1:
                del self._minima[0]
            self._block_min = math.inf
            self._in_block = 0


class WebRtcVad:
    """`webrtcvad.Vad(mode)` (3: the most aggressive, the best for AMD on the corpus) on 20 ms
    frames at 8 kHz; ImportError if it is not installed."""

    def __init__(self, mode: int = 3) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(mode)

    def is_voice(self, frame: Frame) -> bool:
        return bool(self._vad.is_speech(as_samples(frame).tobytes(), RATE))
