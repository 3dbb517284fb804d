"""The voicemail beep: one steady tone of 400-2,000 Hz lasting at least 200 ms, then quiet.

Each 20 ms frame goes through a bank of single-bin DFTs (`goertzel.Bank`) every 25 Hz from
400 to 2,000 Hz. A frame is *tonal* when it is loud enough (`min_dbm0`) and its strongest bin
holds at least `purity` of the frame's energy: a sine scores 0.81-1.0 (0.81 when it falls
midway between two bins), voiced speech 0.2-0.6 (its energy is spread over harmonics), noise
near 0. A tone is a run of tonal frames whose peak stays within `tolerance_hz` of where it
started and whose level stays within `level_tolerance_db`: speech is not steady, so a harmonic
that looks pure for a frame or two drifts away or changes level long before 200 ms.

One frame that is not tonal inside a tone (a lost packet, a click) is bridged. The beep is
reported at its trailing edge, once `trail_ms` (40 ms) more show no tone, so about 60 ms
after its end. Tones that follow each other at once are a sequence (the special information
tones of an intercept: 914, 1371, 1777 Hz), not a beep: none of them is reported.
The start and end inside their frames come from the share of the tone's power in the partial
frame (a tone filling m of N samples keeps (m/N)² of its power at the bin), so times are
accurate to a few ms, not to the frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from outdial.telephony.listen.frames import (
    FRAME_MS,
    FRAME_SAMPLES,
    RATE,
    Floats,
    Frame,
    as_floats,
    dbm0_to_power,
    power_to_dbm0,
)
from outdial.telephony.listen.goertzel import Bank


@dataclass(frozen=True, slots=True)
class BeepSettings:
    min_hz: int = 400
    max_hz: int = 2000
    min_ms: int = 200
    max_ms: int = 4000
    min_dbm0: float = -40.0
    purity: float = 0.7
    tolerance_hz: float = 30.0
    level_tolerance_db: float = 4.0
    trail_ms: int = 40

    def __post_init__(self) -> None:
        if not 100 <= self.min_hz < self.max_hz <= 3800:
            raise ValueError("beep frequencies must be within 100..3800 Hz, min below max")
        if not 40 <= self.min_ms <= self.max_ms <= 60_000:
            raise ValueError("beep durations must be within 40..60000 ms, min below max")
        if not 0.3 <= self.purity <= 1.0:
            raise ValueError("purity must be within 0.3..1.0")


@dataclass(frozen=True, slots=True)
class BeepEvent:
    start_ms: int
    end_ms: int
    frequency_hz: float
    level_dbm0: float
    detected_ms: int  # audio fed when it was reported

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(slots=True)
class _Tone:
    first: int  # index of its first tonal frame
    bin: int
    first_power: float  # bin power of its first tonal frame (maybe only partly filled)
    before: float  # bin power of the frame before it (maybe the tone's first few samples)
    level: float = 0.0  # mean bin power of its full frames (from the second on)
    full: int = 0  # full frames counted in `level`
    frames: int = 1  # frames from its first to its last tonal frame
    freq_sum: float = 0.0
    last_power: float = 0.0  # bin power of its last tonal frame
    end: float = 0.0  # sample where it ended (once it ended)
    quiet: int = 0  # frames without the tone since its last tonal frame
    chained: bool = False  # began right after another tone ended: part of a tone sequence

    @property
    def reference(self) -> float:
        return self.level if self.full else self.first_power


class BeepDetector:
    """`feed(frame)` returns a `BeepEvent` on the frame that confirms a beep, else None; it
    keeps listening afterwards (a second beep is reported too)."""

    def __init__(self, settings: BeepSettings | None = None, *, start_ms: int = 0) -> None:
        """`start_ms`: the time of the first frame fed (times are reported on that clock)."""
        self.settings = s = settings or BeepSettings()
        self.bank = _bank(s.min_hz, s.max_hz)
        self._min_energy = dbm0_to_power(s.min_dbm0) * FRAME_SAMPLES
        self._tol_bins = s.tolerance_hz / 25.0
        self._level_tol = float(10.0 ** (s.level_tolerance_db / 10.0))
        self._trail = max(1, math.ceil(s.trail_ms / FRAME_MS))
        self._frame = start_ms // FRAME_MS
        self._prev: Floats | None = None  # bin powers of the previous frame
        self._tone: _Tone | None = None
        self.events: list[BeepEvent] = []

    @property
    def busy(self) -> bool:
        """A tone is going on, or just ended and is not judged yet."""
        return self._tone is not None

    def feed(self, frame: Frame) -> BeepEvent | None:
        x = as_floats(frame)
        return analyse([self], x, np.einsum("ij,ij->i", x, x))[0]

    def _advance(self, peak: int, powers: Floats) -> BeepEvent | None:
        """One frame: its strongest bin if the frame is tonal (else -1), and its bin powers."""
        index = self._frame
        self._frame += 1
        if peak < 0 and self._tone is None:
            self._prev = powers
            return None
        event = None
        chained = False
        tone = self._tone
        if tone is not None:
            if peak >= 0 and self._continues(tone, peak, float(powers[peak])):
                self._extend(tone, powers, peak)
                self._prev = powers
                return None
            if tone.quiet == 0:
                tone.end = self._end_sample(tone, index, powers)
            tone.quiet += 1
            chained = peak >= 0  # another tone at once: a tone sequence (SIT), not a beep
            if chained:
                self._tone = None
            elif tone.quiet > self._trail:
                self._tone = None
                event = self._report(tone)
        if self._tone is None and peak >= 0:
            before = float(self._prev[peak]) if self._prev is not None else 0.0
            power = float(powers[peak])
            self._tone = _Tone(index, peak, power, before, freq_sum=self._refine(powers, peak),
                               last_power=power, chained=chained)  # fmt: skip
        self._prev = powers
        return event

    def _continues(self, tone: _Tone, peak: int, power: float) -> bool:
        if abs(peak - tone.bin) > self._tol_bins or tone.quiet > 1:
            return False
        if not tone.full:  # the first frame may hold only the start of the tone
            return power >= tone.first_power / self._level_tol
        return tone.level / self._level_tol <= power <= tone.level * self._level_tol

    def _extend(self, tone: _Tone, powers: Floats, peak: int) -> None:
        power = float(powers[peak])
        tone.frames += tone.quiet + 1  # a bridged frame counts as tone
        tone.quiet = 0
        tone.full += 1
        tone.level += (power - tone.level) / tone.full
        tone.freq_sum += self._refine(powers, peak)
        tone.last_power = power

    def _end_sample(self, tone: _Tone, index: int, powers: Floats) -> float:
        """Where the tone ended: inside this frame if some of it is here, else inside its last
        tonal frame if that one was only partly filled."""
        fill = _fill(float(powers[tone.bin]), tone.reference)
        if fill >= 0.1:
            return index * FRAME_SAMPLES + fill * FRAME_SAMPLES
        last = tone.first + tone.frames - 1
        return (last + _fill(tone.last_power, tone.reference)) * FRAME_SAMPLES

    def _start_sample(self, tone: _Tone) -> float:
        level = tone.reference
        first = _fill(tone.first_power, level)
        if first < 0.95:  # began inside its first tonal frame
            return (tone.first + 1 - first) * FRAME_SAMPLES
        return (tone.first - _fill(tone.before, level)) * FRAME_SAMPLES

    def _refine(self, powers: Floats, peak: int) -> float:
        """Peak frequency between bins (parabola through the log powers around the peak)."""
        freq = float(self.bank.freqs[peak])
        if 0 < peak < len(powers) - 1:
            a, b, c = (math.log(max(float(p), 1e-9)) for p in powers[peak - 1 : peak + 2])
            denom = a - 2 * b + c
            if denom < 0:
                freq += 25.0 * 0.5 * (a - c) / denom
        return freq

    def _report(self, tone: _Tone) -> BeepEvent | None:
        s = self.settings
        if tone.chained:
            return None
        start = self._start_sample(tone)
        duration = (tone.end - start) * 1000 / RATE
        if not s.min_ms - FRAME_MS / 2 <= duration <= s.max_ms:
            return None
        event = BeepEvent(
            start_ms=round(start * 1000 / RATE),
            end_ms=round(tone.end * 1000 / RATE),
            frequency_hz=round((tone.freq_sum / (tone.full + 1)), 1),
            level_dbm0=round(power_to_dbm0(tone.reference / FRAME_SAMPLES), 1),
            detected_ms=self._frame * FRAME_MS,
        )
        self.events.append(event)
        return event


@cache
def _bank(min_hz: int, max_hz: int) -> Bank:
    return Bank(list(range(min_hz, max_hz + 1, 25)), FRAME_SAMPLES)


def analyse(
    detectors: Sequence[BeepDetector], frames: Floats, energies: Floats
) -> list[BeepEvent | None]:
    """Feed frame i (row i of `frames`, with its energy) to detector i; detectors that share a
    frequency range share one matrix product."""
    out: list[BeepEvent | None] = [None] * len(detectors)
    groups: dict[Bank, list[int]] = {}
    for i, d in enumerate(detectors):
        groups.setdefault(d.bank, []).append(i)
    for bank, rows in groups.items():
        whole = len(rows) == len(detectors)
        x = frames if whole else frames[rows]
        e = energies if whole else energies[rows]
        powers = bank.power(x)
        peak = powers.argmax(axis=1)
        peak_power = np.take_along_axis(powers, peak[:, None], axis=1)[:, 0]
        minimum = np.array([detectors[i]._min_energy for i in rows])
        purity = np.array([detectors[i].settings.purity for i in rows])
        peaks = np.where((e >= minimum) & (peak_power >= purity * e), peak, -1).tolist()
        for j, i in enumerate(rows):
            out[i] = detectors[i]._advance(peaks[j], powers[j])
    return out


def _fill(power: float, level: float) -> float:
    """Share of a frame a tone filled, from its power there against a full frame's."""
    return min(1.0, math.sqrt(power / level)) if level > 0 else 0.0
