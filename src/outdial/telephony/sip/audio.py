"""Audio files to the telephone format: 8 kHz, mono, 16-bit signed little-endian PCM.

WAV files in PCM (8, 16, 24 or 32 bit, any rate, any channel count) are read and converted in
Python; anything else the `wave` module cannot read goes through `sox` when it is installed.
"""

from __future__ import annotations

import asyncio
import io
import sys
import tempfile
import wave
from array import array
from pathlib import Path

RATE = 8000


class AudioError(ValueError):
    """An audio file we cannot read or convert."""


def _to_int16(frames: bytes, width: int) -> array[int]:
    if width == 2:
        out = array("h")
        out.frombytes(frames[: len(frames) - len(frames) % 2])
        if sys.byteorder == "big":  # pragma: no cover
            out.byteswap()
        return out
    if width == 1:  # unsigned 8-bit
        return array("h", ((b - 128) << 8 for b in frames))
    if width in (3, 4):  # keep the top 16 bits of each little-endian sample
        return array(
            "h",
            (
                int.from_bytes(frames[i + width - 2 : i + width], "little", signed=True)
                for i in range(0, len(frames) - width + 1, width)
            ),
        )
    raise AudioError(f"unsupported sample width: {width} bytes")


def _mix_down(samples: array[int], channels: int) -> array[int]:
    if channels == 1:
        return samples
    return array(
        "h",
        (
            sum(samples[i : i + channels]) // channels
            for i in range(0, len(samples) - channels + 1, channels)
        ),
    )


def resample(samples: array[int], rate: int, target: int = RATE) -> array[int]:
    """Linear interpolation; good enough for speech (sox, when present, does better)."""
    if rate == target or not samples:
        return samples
    count = len(samples) * target // rate
    step = rate / target
    last = len(samples) - 1
    out = array("h", bytes(2 * count))
    for i in range(count):
        pos = i * step
        j = int(pos)
        frac = pos - j
        nxt = samples[j + 1] if j < last else samples[last]
        out[i] = int(samples[j] + (nxt - samples[j]) * frac)
    return out


def wav_to_pcm8k(data: bytes) -> bytes:
    """A WAV file's bytes to 8 kHz mono 16-bit PCM; AudioError if it is not PCM WAV."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioError(f"not a PCM WAV file: {exc}") from exc
    samples = resample(_mix_down(_to_int16(frames, width), channels), rate)
    if sys.byteorder == "big":  # pragma: no cover
        samples.byteswap()
    return samples.tobytes()


def pcm8k_to_wav(pcm: bytes) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm)
    return buf.getvalue()


async def run_sox(sox: str, source: Path, target: Path) -> None:
    """Convert any file sox reads to 8 kHz mono 16-bit WAV."""
    proc = await asyncio.create_subprocess_exec(
        sox, str(source), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
        str(target),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise AudioError(f"sox failed ({proc.returncode}): {err.decode(errors='replace')[:200]}")


async def decode_audio(data: bytes, sox: str | None) -> bytes:
    """Bytes of an audio file to 8 kHz mono PCM: Python for PCM WAV, else sox if available."""
    try:
        return await asyncio.to_thread(wav_to_pcm8k, data)
    except AudioError:
        if sox is None:
            raise
    with tempfile.TemporaryDirectory(prefix="outdial-audio-") as tmp:
        source, target = Path(tmp, "in"), Path(tmp, "out.wav")
        await asyncio.to_thread(source.write_bytes, data)
        await run_sox(sox, source, target)
        return await asyncio.to_thread(lambda: wav_to_pcm8k(target.read_bytes()))
