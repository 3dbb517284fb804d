"""Text to speech with espeak-ng, cached on disk per (text, language) as 8 kHz mono WAV."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from pathlib import Path

from outdial.telephony.sip.audio import AudioError, pcm8k_to_wav, run_sox, wav_to_pcm8k

log = logging.getLogger("outdial.telephony.sip.tts")


class SpeechError(RuntimeError):
    """espeak-ng is missing or failed."""


class SpeechSynth:
    def __init__(self, cache_dir: Path, *, espeak: str | None, sox: str | None) -> None:
        self.cache_dir = cache_dir
        self.espeak = espeak
        self.sox = sox
        self._voices: set[str] | None = None
        self._pending: dict[str, asyncio.Task[None]] = {}
        self.rendered = 0  # espeak-ng runs (cache misses)

    @staticmethod
    def cache_key(text: str, language: str) -> str:
        return hashlib.sha256(f"espeak-ng\0{language.lower()}\0{text}".encode()).hexdigest()[:40]

    async def voices(self) -> set[str]:
        if self._voices is None:
            self._voices = set()
            if self.espeak:
                out = await self._run(self.espeak, "--voices")
                for line in out.decode(errors="replace").splitlines()[1:]:
                    parts = line.split()
                    if len(parts) >= 2:
                        self._voices.add(parts[1].lower())
        return self._voices

    async def voice_for(self, language: str) -> str:
        """`en-US` -> `en-us`; `de-DE` -> `de` when there is no `de-de`; else `en`."""
        voices = await self.voices()
        wanted = language.strip().lower().replace("_", "-") or "en-us"
        for candidate in (wanted, wanted.split("-")[0]):
            if candidate in voices:
                return candidate
        return "en-us" if "en-us" in voices else "en"

    async def render(self, text: str, language: str) -> Path:
        """The cached 8 kHz mono WAV of `text`, rendering it once even if asked concurrently."""
        key = self.cache_key(text, language)
        path = self.cache_dir / f"{key}.wav"
        if path.exists():
            return path
        task = self._pending.get(key)
        if task is None:
            # A task of its own: a call hung up mid-render does not abort it for the others.
            task = asyncio.get_running_loop().create_task(self._render(text, language, path))
            self._pending[key] = task
            task.add_done_callback(lambda t: self._finished(key, t))
        await asyncio.shield(task)
        return path

    def _finished(self, key: str, task: asyncio.Task[None]) -> None:
        self._pending.pop(key, None)
        if not task.cancelled():
            task.exception()  # mark retrieved; the waiters got it (or nobody was left)

    async def _render(self, text: str, language: str, path: Path) -> None:
        if not self.espeak:
            raise SpeechError("espeak-ng is not installed; talk actions cannot be spoken")
        voice = await self.voice_for(language)
        await asyncio.to_thread(self.cache_dir.mkdir, parents=True, exist_ok=True)
        raw = path.with_suffix(f".{os.getpid()}.raw.wav")
        tmp = path.with_suffix(f".{os.getpid()}.tmp.wav")
        try:
            await self._run(self.espeak, "-v", voice, "-w", str(raw), "--", text)
            if self.sox:
                await run_sox(self.sox, raw, tmp)
            else:
                data = await asyncio.to_thread(raw.read_bytes)
                pcm = await asyncio.to_thread(wav_to_pcm8k, data)
                await asyncio.to_thread(tmp.write_bytes, pcm8k_to_wav(pcm))
            await asyncio.to_thread(os.replace, tmp, path)
            self.rendered += 1
            log.info("rendered speech %s (%s, %d chars)", path.name, voice, len(text))
        except AudioError as exc:
            raise SpeechError(str(exc)) from exc
        finally:
            for leftover in (raw, tmp):
                leftover.unlink(missing_ok=True)

    async def _run(self, *argv: str) -> bytes:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await proc.communicate()
        if proc.returncode != 0:
            detail = err.decode(errors="replace").strip()[:200]
            raise SpeechError(f"{argv[0]} failed with exit code {proc.returncode}: {detail}")
        return out
