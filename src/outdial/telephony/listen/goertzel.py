"""Single-bin DFT powers (what a Goertzel filter computes) for a bank of frequencies at once.

A Goertzel filter is the recursive way to get |X(f)|² of one block at one frequency; for a
bank of filters over one 160-sample frame, a matrix product with precomputed cosines and sines
gives the same values in one numpy call (for 65 frequencies about 4 µs, against about 40 µs
for 65 Goertzel recursions even in numpy).

`power` is scaled so that a sine at exactly the bin frequency gives the energy (sum of
squares) it has in the block: a pure tone scores 1.0 of the block's energy, white noise about
2/N of it per bin.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from outdial.telephony.listen.frames import RATE, Floats


class Bank:
    def __init__(self, freqs: Sequence[float], n: int, *, rate: int = RATE) -> None:
        self.freqs = np.asarray(freqs, dtype=np.float64)
        self.n = n
        t = np.arange(n, dtype=np.float64)[:, None] / rate
        phase = 2.0 * np.pi * self.freqs[None, :] * t
        self.basis = np.hstack([np.cos(phase), np.sin(phase)]).astype(np.float32)
        self._k = len(self.freqs)
        self._scale = 2.0 / n

    def spectrum(self, block: Floats) -> Floats:
        """Real and imaginary parts: shape (..., 2k) for blocks of shape (..., n)."""
        out: Floats = block @ self.basis
        return out

    def power(self, block: Floats) -> Floats:
        """Energy of each bank frequency in `block` (shape (..., k))."""
        r = block @ self.basis
        re, im = r[..., : self._k], r[..., self._k :]
        out: Floats = (re * re + im * im) * np.float32(self._scale)
        return out
