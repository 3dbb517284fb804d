"""What the answering peer says for the listening numbers of the plan (SPEC 5: 776-779).

`FarEndVoice.timeline(number)` is the far end's audio from the answer on, as 16-bit 8 kHz PCM:
silence, a greeting (espeak-ng; tone bursts under 400 Hz when espeak-ng is missing, so they
are voice to a detector and never a beep), for 777 a 1 kHz beep of 0.5 s, then silence. The
timing comes from `numberplan.listening_for`, which the simulated telephony reports too.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import wave
from pathlib import Path

import numpy as np

from outdial.domain.numberplan import BEEP_HZ, FarEnd, behaviour_for, listening_for
from outdial.telephony.sip import g711
from outdial.telephony.sip.tts import SpeechError, SpeechSynth

log = logging.getLogger("outdial.telephony.sip.farend")
RATE = 8000
HUMAN_TEXT = "Hello?"
MACHINE_TEXT = (
    "Hello, you have reached the voicemail of Sam Taylor. I am not available to take your "
    "call right now. Please leave your name, your number and a short message after the tone, "
    "and I will call you back as soon as I can. Thank you, and have a nice day."
)
TRAILING_MS = 20_000  # the silence sent after the greeting (until the caller hangs up)
LEVEL = 0.3  # of full scale: speech about -14 dBm0


def _silence(ms: int) -> np.ndarray:
    return np.zeros(ms * RATE // 1000, dtype=np.int16)


def tone_ms(frequency: float, ms: int, level: float = LEVEL) -> np.ndarray:
    t = np.arange(ms * RATE // 1000) / RATE
    return (np.sin(2 * np.pi * frequency * t) * level * 32767).astype(np.int16)


def bursts(ms: int) -> np.ndarray:
    """Speech-like audio without espeak-ng: 'syllables' of a 150 Hz buzz (harmonics up to 450
    Hz, no single strong tone) 180 ms long with 60 ms gaps, shaped like words."""
    out = _silence(ms).astype(np.float64)
    t = np.arange(180 * RATE // 1000) / RATE
    syllable = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in (1, 2, 3))
    syllable *= np.hanning(len(t))
    step = 240 * RATE // 1000
    for start in range(0, len(out) - len(t), step):
        out[start : start + len(t)] = syllable
    peak = float(np.max(np.abs(out))) or 1.0
    scaled: np.ndarray = (out / peak * LEVEL * 32767).astype(np.int16)
    return scaled


def _fit(pcm: np.ndarray, ms: int) -> np.ndarray:
    """Exactly `ms` long: repeated or cut."""
    n = ms * RATE // 1000
    if len(pcm) == 0:
        return bursts(ms)
    reps = -(-n // len(pcm))
    return np.tile(pcm, reps)[:n]


class FarEndVoice:
    def __init__(self, cache_dir: Path | None = None, *, espeak: str | None = "espeak-ng") -> None:
        espeak_path = shutil.which(espeak) if espeak else None
        sox = shutil.which("sox")
        cache = cache_dir or Path(tempfile.gettempdir()) / "outdial-peer-speech"
        self.synth = SpeechSynth(cache, espeak=espeak_path, sox=sox)
        self._speech: dict[str, np.ndarray] = {}
        self._encoded: dict[tuple[bool, int, int, int], bytes] = {}

    async def prepare(self) -> None:
        for text in (HUMAN_TEXT, MACHINE_TEXT):
            await self._say(text)

    async def _say(self, text: str) -> np.ndarray:
        if text in self._speech:
            return self._speech[text]
        pcm = np.zeros(0, dtype=np.int16)
        if self.synth.espeak:
            try:
                path = await self.synth.render(text, "en-US")
                with wave.open(str(path)) as wav:
                    pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
                pcm = _trim(pcm)
                peak = int(np.max(np.abs(pcm.astype(np.int32)))) if len(pcm) else 0
                if peak:
                    pcm = (pcm.astype(np.float64) * (LEVEL * 32767 / peak)).astype(np.int16)
            except (SpeechError, OSError, wave.Error) as exc:
                log.warning("peer: espeak-ng failed (%s): tone bursts instead", exc)
                pcm = np.zeros(0, dtype=np.int16)
        self._speech[text] = pcm
        return pcm

    async def encoded(self, number: str, payload_type: int) -> bytes | None:
        """`timeline` in G.711, made once per distinct far end (many calls share one)."""
        far_end = behaviour_for(number).far_end
        if far_end not in (FarEnd.MACHINE, FarEnd.HUMAN, FarEnd.KEYPRESS):
            return None
        plan = listening_for(number)
        key = (far_end is FarEnd.MACHINE, plan.greeting_ms, plan.beep_start_ms, payload_type)
        if key not in self._encoded:
            pcm = await self.timeline(number)
            if pcm is None:
                return None
            self._encoded[key] = g711.encode(pcm, payload_type)
        return self._encoded[key]

    async def timeline(self, number: str) -> bytes | None:
        """The far end's audio from the answer on (16-bit LE PCM), None for a silent one."""
        far_end = behaviour_for(number).far_end
        if far_end not in (FarEnd.MACHINE, FarEnd.HUMAN, FarEnd.KEYPRESS):
            return None
        plan = listening_for(number)
        text = MACHINE_TEXT if far_end is FarEnd.MACHINE else HUMAN_TEXT
        speech = await self._say(text)
        if far_end is FarEnd.MACHINE:
            greeting = _fit(speech, plan.greeting_ms)
        else:
            greeting = (
                speech[: plan.greeting_ms * RATE // 1000]
                if len(speech)
                else bursts(min(plan.greeting_ms, 480))
            )
        parts = [_silence(plan.greeting_start_ms), greeting]
        if plan.beep_ms:
            gap = plan.beep_start_ms - plan.greeting_start_ms - len(greeting) * 1000 // RATE
            parts += [_silence(max(0, gap)), tone_ms(BEEP_HZ, plan.beep_ms, 0.25)]
        parts.append(_silence(TRAILING_MS))
        return np.concatenate(parts).astype("<i2").tobytes()


def _trim(pcm: np.ndarray, threshold: int = 300) -> np.ndarray:
    """Without the silence espeak-ng leaves before and after the words."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > threshold)
    if len(loud) == 0:
        return pcm
    return pcm[loud[0] : loud[-1] + 1]
