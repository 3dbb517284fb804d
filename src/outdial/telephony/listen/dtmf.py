"""In-band DTMF: key presses sent as tone pairs in the audio (ITU-T Q.23 tones, Q.24 rules).

Analysis windows are 160 samples (20 ms: 50 Hz resolution, so 697 and 770 Hz are resolved)
every 80 samples (10 ms): two per frame. Each tone has three DFT bins (nominal and +-1.5 %,
so a tone 1.5 % off keeps its power; `goertzel.Bank`), and `analyse` takes the windows of
many calls' frames in one matrix product. A window *hits* key K when

- both tones are at least `min_dbm0` (per tone; Q.24 operate range starts near -25 dBm0);
- twist: the low (row) tone is at most `normal_twist_db` (8) above the high (column) tone, and
  the high one at most `reverse_twist_db` (4) above the low one (Asterisk's AT&T values);
- each tone is `relative_peak_db` (8) above the other tones of its group;
- the two tones hold `purity` (70 %) of the window's energy: speech and noise spread theirs
  (this is the main talk-off guard);
- each tone's frequency, measured from the phase turn between this window and the previous
  one, is within `freq_tolerance` (2.5 %) of nominal: Q.24 wants tones within 1.5 % accepted
  and beyond 3.5 % rejected.

A key is *on* after `hits_to_start` (3) windows in a row hit it, so a tone needs about 30-40
ms (Q.24: accept >= 40 ms, reject <= 20 ms), and *off* after `misses_to_end` (3) windows do
not, so a break of 10 ms does not split a key and a pause of 40 ms ends it. The `DigitEvent` is
returned when the key ends, with its start and duration (to about 10 ms).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from outdial.telephony.listen.events import DigitEvent
from outdial.telephony.listen.frames import (
    FRAME_SAMPLES,
    RATE,
    Floats,
    Frame,
    as_floats,
    dbm0_to_power,
    power_to_dbm0,
)
from outdial.telephony.listen.goertzel import Bank

ROWS = (697.0, 770.0, 852.0, 941.0)
COLUMNS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYS = ("123A", "456B", "789C", "*0#D")
_OFFSETS = (-0.015, 0.0, 0.015)  # three bins per tone: a tone 1.5 % off keeps its power
_HALF = FRAME_SAMPLES // 2
_WINDOW = FRAME_SAMPLES


@dataclass(frozen=True, slots=True)
class DtmfSettings:
    min_dbm0: float = -36.0
    normal_twist_db: float = 8.0
    reverse_twist_db: float = 4.0
    relative_peak_db: float = 8.0
    purity: float = 0.7
    freq_tolerance: float = 0.025
    hits_to_start: int = 3
    misses_to_end: int = 3

    def __post_init__(self) -> None:
        if not 0.3 <= self.purity <= 1.0:
            raise ValueError("purity must be within 0.3..1.0")
        if not 0.005 <= self.freq_tolerance <= 0.05:
            raise ValueError("freq_tolerance must be within 0.005..0.05")
        if self.hits_to_start < 1 or self.misses_to_end < 1:
            raise ValueError("hits_to_start and misses_to_end must be at least 1")


def _ratio(db: float) -> float:
    return float(10.0 ** (db / 10.0))


_FREQS = np.array([f * (1.0 + d) for f in ROWS + COLUMNS for d in _OFFSETS])
_NOMINAL = np.repeat(np.array(ROWS + COLUMNS), len(_OFFSETS))
_BINS = len(_FREQS)
_BANK = Bank(_FREQS.tolist(), _WINDOW)
_TURN = np.exp(2j * np.pi * _FREQS * _HALF / RATE)  # phase a bin turns by in half a window


def analyse(detectors: Sequence[DtmfDetector], frames: Floats) -> list[list[DigitEvent]]:
    """Feed frame i (row i of `frames`, shape (n, 160)) to detector i: the DFTs of all of them
    are one matrix product, so many calls cost little more than one."""
    n = len(detectors)
    windows = np.empty((n, 2, _WINDOW), dtype=np.float32)
    windows[:, 0, :_HALF] = [d._tail for d in detectors]
    windows[:, 0, _HALF:] = frames[:, :_HALF]
    windows[:, 1, :] = frames
    energy = np.einsum("nwk,nwk->nw", windows, windows)
    # one matrix product for all windows: (2n, 160) x (160, 2 bins), cosine then sine parts
    r = (windows.reshape(2 * n, _WINDOW) @ _BANK.basis).reshape(n, 2, 2 * _BINS)
    power = r[..., :_BINS] ** 2 + r[..., _BINS:] ** 2
    # each tone's strongest of its three bins (np.maximum beats max() over a tiny axis)
    tones = np.maximum(np.maximum(power[..., 0::3], power[..., 1::3]), power[..., 2::3])
    tones *= 2.0 / _WINDOW
    best = tones[..., :4].max(axis=2) + tones[..., 4:].max(axis=2)
    purity = np.array([d.settings.purity for d in detectors])[:, None]
    floor = np.array([2.0 * d._min_tone for d in detectors])[:, None]
    candidates = ((best >= purity * energy) & (energy >= floor)).tolist()
    out: list[list[DigitEvent]] = []
    for i, d in enumerate(detectors):
        d._tail = frames[i, _HALF:]
        if not (candidates[i][0] or candidates[i][1] or d._busy):
            d._windows += 2
            out.append([])
            continue
        events = []
        for w in (0, 1):
            z = r[i, w, :_BINS] + 1j * r[i, w, _BINS:]
            key, level = d._classify(tones[i, w], power[i, w], z) if candidates[i][w] else ("", 0.0)
            event = d._window(key, level, z)
            if event is not None:
                events.append(event)
        d._busy = bool(d._key or d._candidate or d._window_z is not None)
        out.append(events)
    return out


class DtmfDetector:
    """`feed(frame)` returns the keys that ended in this frame (usually none); `analyse`
    feeds many detectors at once."""

    def __init__(self, settings: DtmfSettings | None = None) -> None:
        self.settings = s = settings or DtmfSettings()
        self._min_tone = dbm0_to_power(s.min_dbm0) * _WINDOW
        self._normal = _ratio(s.normal_twist_db)
        self._reverse = _ratio(s.reverse_twist_db)
        self._peak = _ratio(s.relative_peak_db)
        self._tail: Floats = np.zeros(_HALF, dtype=np.float32)  # last half of the last frame
        self._window_z: np.ndarray | None = None  # DFT of the last window, if it hit
        self._window_key = ""
        self._windows = 0  # windows analysed; window i covers samples 80 (i - 1) .. 80 (i + 1)
        self._candidate = ""
        self._hits = 0
        self._key = ""  # the key that is on
        self._start = 0  # its first hit window
        self._last = 0  # its last hit window
        self._misses = 0
        self._level = 0.0
        self._busy = False  # a key, a candidate or a hit window is pending: not idle

    def feed(self, frame: Frame) -> list[DigitEvent]:
        return analyse([self], as_floats(frame))[0]

    def skip_constant(self, tail: Floats, energy: float) -> bool:
        """A frame of one repeated sample (G.711 silence) whose second half is `tail` and whose
        windows' energy is `energy`, fed without a DFT when that is exactly what `analyse`
        would do: the detector is idle (no key, candidate or hit window pending), the last
        frame ended with the same samples (so both windows are this constant) and the windows
        are below the level any key needs (`analyse` then only counts them). True when fed,
        False (nothing changed) when the frame must go through `analyse`."""
        if self._busy or energy >= 2.0 * self._min_tone:
            return False
        if self._tail is not tail:
            if not np.array_equal(self._tail, tail):
                return False
            self._tail = tail  # equal values: the next such frame is recognised at once
        self._windows += 2
        return True

    def _window(self, key: str, level: float, z: np.ndarray) -> DigitEvent | None:
        index = self._windows
        self._windows += 1
        self._window_z, self._window_key = (z, key) if key else (None, "")
        event = None
        if self._key:
            if key == self._key:
                self._misses = 0
                self._last = index
                self._level = max(self._level, level)
                return None
            self._misses += 1
            if self._misses < self.settings.misses_to_end:
                return None
            event = self._end()
        if key and key == self._candidate:
            self._hits += 1
            self._level = max(self._level, level)
        elif key:
            self._candidate, self._hits, self._start, self._level = key, 1, index, level
        else:
            self._candidate, self._hits = "", 0
        if self._candidate and self._hits >= self.settings.hits_to_start:
            self._key, self._last, self._misses = self._candidate, index, 0
            self._candidate, self._hits = "", 0
        return event

    def _classify(self, tones: Floats, power: Floats, z: np.ndarray) -> tuple[str, float]:
        """The key of a window whose two strongest tones hold enough of its energy ("" if the
        other rules say no) and its weaker tone's energy."""
        p = tones.tolist()
        row = max(range(4), key=p.__getitem__)
        col = 4 + max(range(4), key=lambda i: p[4 + i])
        pr, pc = p[row], p[col]
        if min(pr, pc) < self._min_tone:
            return "", 0.0
        if pr > pc * self._normal or pc > pr * self._reverse:
            return "", 0.0
        others_row = max(p[i] for i in range(4) if i != row)
        others_col = max(p[i] for i in range(4, 8) if i != col)
        if pr < self._peak * others_row or pc < self._peak * others_col:
            return "", 0.0
        key = KEYS[row][col - 4]
        if self._window_key == key and self._window_z is not None:
            for tone in (row, col):  # the frequency, from the phase turn since the last window
                b = tone * len(_OFFSETS) + int(np.argmax(power[tone * len(_OFFSETS) :][:3]))
                turn = z[b] * np.conj(self._window_z[b]) * _TURN[b]
                shift = math.atan2(turn.imag, turn.real) * RATE / (2 * math.pi * _HALF)
                nominal = float(_NOMINAL[b])
                if abs(_FREQS[b] - shift - nominal) > self.settings.freq_tolerance * nominal:
                    return "", 0.0
        return key, min(pr, pc)

    def _end(self) -> DigitEvent:
        start = max(0, (self._start - 1) * _HALF)
        end = (self._last + 1) * _HALF
        event = DigitEvent(
            digit=self._key,
            duration_ms=(end - start) * 1000 // RATE,
            source="inband",
            start_ms=start * 1000 // RATE,
            level_dbm0=round(power_to_dbm0(self._level / _WINDOW), 1),
        )
        self._key, self._misses = "", 0
        return event

    def flush(self) -> list[DigitEvent]:
        """The key still on at the end of the audio, if any."""
        return [self._end()] if self._key else []
