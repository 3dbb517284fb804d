"""Generated test audio at 8 kHz: silence, tones, DTMF, noise and a speech-like signal.

Everything is float samples (scale of 16-bit PCM) until `frames()` rounds it to int16 frames
of 160 samples, the detectors' input. Seeds are fixed, so every run hears the same audio.
"""

from __future__ import annotations

import subprocess
import wave
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from outdial.telephony.listen.dtmf import COLUMNS, KEYS, ROWS
from outdial.telephony.listen.frames import DBM0_RMS, RATE, sine_amplitude

Signal = np.ndarray


def silence(seconds: float) -> Signal:
    return np.zeros(round(seconds * RATE))


def tone(freq: float, seconds: float, dbm0: float = -12.0, *, ramp_ms: float = 2.0) -> Signal:
    t = np.arange(round(seconds * RATE)) / RATE
    edge = np.minimum(1.0, np.minimum(t, t[-1] - t) / (ramp_ms / 1000)) if ramp_ms else 1.0
    return sine_amplitude(dbm0) * np.sin(2 * np.pi * freq * t) * edge


def key_freqs(key: str) -> tuple[float, float]:
    for r, row in enumerate(KEYS):
        if key in row:
            return ROWS[r], COLUMNS[row.index(key)]
    raise ValueError(key)


def dtmf(
    key: str,
    seconds: float = 0.08,
    dbm0: float = -10.0,
    *,
    deviation: float = 0.0,
    twist_db: float = 0.0,
) -> Signal:
    """Tone pair of `key`, each tone at `dbm0`; twist_db > 0 makes the low tone louder."""
    low, high = key_freqs(key)
    return tone(low * (1 + deviation), seconds, dbm0 + twist_db / 2, ramp_ms=1) + tone(
        high * (1 + deviation), seconds, dbm0 - twist_db / 2, ramp_ms=1
    )


def dtmf_sequence(keys: str, on: float = 0.08, off: float = 0.08, **kwargs: float) -> Signal:
    parts: list[Signal] = [silence(0.1)]
    for key in keys:
        parts += [dtmf(key, on, **kwargs), silence(off)]
    parts.append(silence(0.2))
    return np.concatenate(parts)


def noise(seconds: float, dbm0: float, seed: int = 1) -> Signal:
    """White noise at `dbm0` (RMS)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(round(seconds * RATE)) * DBM0_RMS * 10 ** (dbm0 / 20)


def speech(
    syllables: Sequence[float],
    gaps: Sequence[float] | float = 0.04,
    dbm0: float = -16.0,
    *,
    f0: float = 120.0,
    seed: int = 7,
) -> Signal:
    """Voiced speech-like sound: a harmonic series whose pitch glides and wobbles, shaped by
    two formants that move from syllable to syllable, with a rise and fall in each syllable.
    `syllables` are their lengths in seconds, `gaps` the quiet between them."""
    rng = np.random.default_rng(seed)
    gaps = [gaps] * len(syllables) if isinstance(gaps, float) else list(gaps)
    parts: list[Signal] = []
    for i, length in enumerate(syllables):
        n = round(length * RATE)
        t = np.arange(n) / RATE
        pitch = f0 * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(1.5, 3.5) * t + rng.uniform(0, 6)))
        pitch *= 1 + 0.02 * rng.standard_normal(n).cumsum() / np.sqrt(np.arange(1, n + 1))
        phase = 2 * np.pi * np.cumsum(pitch) / RATE
        f1, f2 = rng.uniform(300, 800), rng.uniform(900, 2300)
        x = np.zeros(n)
        for k in range(1, int(3400 / f0)):
            fk = k * pitch
            gain = 1 / (1 + ((fk - f1) / 120) ** 2) + 0.6 / (1 + ((fk - f2) / 180) ** 2)
            x += gain * np.sin(k * phase) / np.sqrt(k)
        x *= np.sin(np.pi * np.arange(n) / n) ** 0.5
        parts.append(x)
        if i < len(gaps):
            parts.append(np.zeros(round(gaps[i] * RATE)))
    out = np.concatenate(parts)
    voiced = out[np.abs(out) > 0]
    rms = np.sqrt(np.mean(voiced**2))
    return out * (DBM0_RMS * 10 ** (dbm0 / 20) / rms)


def greeting(seconds: float, dbm0: float = -16.0, seed: int = 7) -> Signal:
    """A machine greeting: words of 2-3 syllables with short pauses, for about `seconds`."""
    rng = np.random.default_rng(seed)
    syllables: list[float] = []
    gaps: list[float] = []
    total = 0.0
    while total < seconds:
        for _ in range(int(rng.integers(1, 4))):
            syllables.append(float(rng.uniform(0.12, 0.25)))
            gaps.append(0.02)
        gaps[-1] = float(rng.uniform(0.08, 0.3))
        total += sum(syllables[-3:]) + gaps[-1]
    return speech(syllables, gaps, dbm0, seed=seed)[: round(seconds * RATE)]


def mix(*parts: tuple[float, Signal], seconds: float | None = None) -> Signal:
    """Add signals each starting at its time in seconds."""
    end = max(round(at * RATE) + len(x) for at, x in parts)
    if seconds is not None:
        end = max(end, round(seconds * RATE))
    out = np.zeros(end)
    for at, x in parts:
        start = round(at * RATE)
        out[start : start + len(x)] += x
    return out


def frames(x: Signal) -> Iterable[np.ndarray]:
    """int16 frames of 160 samples (the last one padded with silence)."""
    pcm = np.clip(np.round(x), -32768, 32767).astype(np.int16)
    pcm = np.concatenate([pcm, np.zeros(-len(pcm) % 160, dtype=np.int16)])
    return list(pcm.reshape(-1, 160))


def espeak(text: str, voice: str, workdir: Path, binary: str) -> Signal:
    """espeak-ng's rendering of `text`, at 8 kHz, band limited to 300-3400 Hz, at -16 dBm0."""
    path = workdir / f"speech-{abs(hash((text, voice)))}.wav"
    subprocess.run([binary, "-v", voice, "-w", str(path), "--", text], check=True)
    with wave.open(str(path), "rb") as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    n = len(x) * RATE // rate
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    spectrum[(freqs < 300) | (freqs > 3400)] = 0
    y = np.fft.irfft(spectrum[: n // 2 + 1], n) * (n / len(x))
    loud = np.flatnonzero(np.abs(y) > 0.02 * np.abs(y).max())
    y = y[loud[0] : loud[-1] + 1]
    return y * (DBM0_RMS * 10 ** (-16 / 20) / np.sqrt(np.mean(y**2)))
