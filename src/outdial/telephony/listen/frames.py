"""Audio frames as the detectors see them: 8 kHz mono 16-bit PCM in 20 ms frames of 160 samples.

Time in this package is always a sample count (160 samples = 20 ms), never the wall clock, so
every detector gives the same answer for the same audio however fast it is fed.

Levels are in dBm0 for G.711: the largest sine μ-law can carry is +3.17 dBm0 with a peak of
8159 in its 14-bit scale (32,636 in 16-bit PCM), so a 0 dBm0 sine has a peak of about 22,650
and an RMS of about 16,000 in the 16-bit samples used here.
"""

from __future__ import annotations

import math
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

RATE = 8000
FRAME_SAMPLES = 160
FRAME_MS = 20
DBM0_RMS = 16_000.0  # RMS of a 0 dBm0 sine in 16-bit PCM (G.711)

Samples: TypeAlias = NDArray[np.int16]
Floats: TypeAlias = NDArray[np.float32]  # analysis is single precision: twice as fast
Frame: TypeAlias = bytes | bytearray | memoryview | NDArray[np.int16]


def as_samples(frame: Frame) -> Samples:
    """A frame as int16 samples without copying (bytes are read as little-endian PCM)."""
    if isinstance(frame, np.ndarray):
        return frame
    return np.frombuffer(frame, dtype="<i2").astype(np.int16, copy=False)


def as_floats(frame: Frame) -> Floats:
    """One frame as a (1, 160) float32 row, the shape the batch analyses take."""
    return as_samples(frame).astype(np.float32).reshape(1, -1)


def ms_to_samples(ms: float) -> int:
    return round(ms * RATE / 1000)


def samples_to_ms(samples: int) -> int:
    return samples * 1000 // RATE


def dbm0_to_power(dbm0: float) -> float:
    """Mean square (per sample) of a signal at `dbm0` in 16-bit PCM."""
    return float(DBM0_RMS**2 * 10.0 ** (dbm0 / 10.0))


def power_to_dbm0(mean_square: float) -> float:
    if mean_square <= 0.0:
        return -math.inf
    return 10.0 * math.log10(mean_square / DBM0_RMS**2)


def sine_amplitude(dbm0: float) -> float:
    """Peak amplitude of a sine at `dbm0` (for generating test tones)."""
    return math.sqrt(2.0 * dbm0_to_power(dbm0))
