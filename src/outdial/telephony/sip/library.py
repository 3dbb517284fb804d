"""Encoded audio for the actions, kept in memory so 300 calls saying the same text encode once.

`speech` renders text with `SpeechSynth` (cached on disk), `file` reads a local WAV or fetches
one over http(s); both return G.711 payload bytes for the call's payload type.
"""

from __future__ import annotations

import asyncio
import urllib.parse
import urllib.request
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path

from outdial.telephony.sip import g711
from outdial.telephony.sip.audio import AudioError, decode_audio
from outdial.telephony.sip.tts import SpeechSynth

MAX_FILE_BYTES = 50 * 1024 * 1024


def fetch(url: str, timeout: float) -> bytes:
    """Read a local path, a file:// URL or an http(s):// URL (blocking: run it in a thread)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme in ("http", "https"):
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            data: bytes = resp.read(MAX_FILE_BYTES + 1)
    elif parsed.scheme in ("", "file"):
        path = Path(urllib.parse.unquote(parsed.path) if parsed.scheme else url)
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    else:
        raise AudioError(f"unsupported URL scheme {parsed.scheme!r} in {url!r}")
    if len(data) > MAX_FILE_BYTES:
        raise AudioError(f"{url} is larger than {MAX_FILE_BYTES} bytes")
    return data


class AudioLibrary:
    def __init__(
        self,
        synth: SpeechSynth,
        *,
        sox: str | None,
        fetch_timeout: float = 10.0,
        max_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.synth = synth
        self.sox = sox
        self.fetch_timeout = fetch_timeout
        self.max_bytes = max_bytes
        self._pcm: OrderedDict[str, bytes] = OrderedDict()
        self._encoded: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._loading: dict[str, asyncio.Task[bytes]] = {}
        self._size = 0

    async def speech(self, text: str, language: str, payload_type: int) -> bytes:
        key = "tts:" + SpeechSynth.cache_key(text, language)

        async def load() -> bytes:
            path = await self.synth.render(text, language)
            return await decode_audio(await asyncio.to_thread(path.read_bytes), self.sox)

        return await self._get(key, load, payload_type)

    async def file(self, url: str, payload_type: int) -> bytes:
        async def load() -> bytes:
            data = await asyncio.to_thread(fetch, url, self.fetch_timeout)
            return await decode_audio(data, self.sox)

        return await self._get("url:" + url, load, payload_type)

    @staticmethod
    def silence(duration_ms: int, payload_type: int) -> bytes:
        return g711.silence(payload_type, max(0, duration_ms) * 8)

    async def _get(
        self, key: str, load: Callable[[], Awaitable[bytes]], payload_type: int
    ) -> bytes:
        encoded = self._encoded.get((key, payload_type))
        if encoded is not None:
            self._encoded.move_to_end((key, payload_type))
            return encoded
        pcm = self._pcm.get(key)
        if pcm is None:
            task = self._loading.get(key)
            if task is None:
                task = asyncio.get_running_loop().create_task(self._load(key, load))
                self._loading[key] = task
                task.add_done_callback(lambda t: self._loaded(key, t))
            pcm = await asyncio.shield(task)
        encoded = g711.encode(pcm, payload_type)
        self._remember_encoded((key, payload_type), encoded)
        return encoded

    async def _load(self, key: str, load: Callable[[], Awaitable[bytes]]) -> bytes:
        pcm = await load()
        self._pcm[key] = pcm
        self._size += len(pcm)
        self._trim()
        return pcm

    def _loaded(self, key: str, task: asyncio.Task[bytes]) -> None:
        self._loading.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved by the waiters; keeps asyncio from warning

    def _remember_encoded(self, key: tuple[str, int], data: bytes) -> None:
        self._encoded[key] = data
        self._size += len(data)
        self._trim()

    def _trim(self) -> None:
        while self._size > self.max_bytes and self._encoded:
            self._size -= len(self._encoded.popitem(last=False)[1])
        while self._size > self.max_bytes and self._pcm:
            self._size -= len(self._pcm.popitem(last=False)[1])
