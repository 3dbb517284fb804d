"""Encoded audio for the actions, kept in memory so 300 calls saying the same text encode once.

`speech` renders text with `SpeechSynth` (cached on disk); `file` plays a `play` URL: an
uploaded WAV (`media:<id>`, read through the `MediaSource`) or an http(s) URL fetched under the
network policy (the host resolved and checked, the connection made to the checked address, no
redirects followed). Local paths and `file://` URLs are never read. Both return G.711 payload
bytes for the call's payload type. `play_silence` sends a `sleep` as it goes: one second of
silence is made once per payload type and queued again and again, never the whole duration.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import aiohttp

from outdial.domain.media import PREFIX as MEDIA_PREFIX
from outdial.domain.media import media_id
from outdial.domain.netpolicy import BlockedAddress, NetworkPolicy
from outdial.netguard import check_http_url, guarded_connector
from outdial.telephony.base import MediaSource
from outdial.telephony.sip import g711
from outdial.telephony.sip.audio import AudioError, decode_audio
from outdial.telephony.sip.tts import SpeechSynth

if TYPE_CHECKING:
    from outdial.telephony.sip.media import RtpStream

MAX_FILE_BYTES = 50 * 1024 * 1024
SILENCE_SAMPLES = 8000  # one second at 8 kHz: the block a sleep is sent in
_READ = 64 * 1024


async def fetch(url: str, network: NetworkPolicy, limit_s: float) -> bytes:
    """GET an http(s) URL whose host the policy allows (checked again at connect time, on the
    address connected to); a redirect or any status but 200 is an error, never followed."""
    try:
        check_http_url(url, network)
    except BlockedAddress as exc:
        raise AudioError(f"{url} is not reachable: {exc.reason}") from None
    except ValueError:
        raise AudioError(f"only http(s) URLs and {MEDIA_PREFIX}<id> can be played") from None
    try:
        async with (
            aiohttp.ClientSession(
                connector=guarded_connector(network),
                timeout=aiohttp.ClientTimeout(total=limit_s),
            ) as session,
            session.get(url, allow_redirects=False) as response,
        ):
            if response.status != 200:
                raise AudioError(f"{url} answered HTTP {response.status}")
            parts: list[bytes] = []
            size = 0
            while chunk := await response.content.read(_READ):
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise AudioError(f"{url} is larger than {MAX_FILE_BYTES} bytes")
                parts.append(chunk)
    except BlockedAddress as exc:
        raise AudioError(f"{url} is not reachable: {exc.reason}") from None
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise AudioError(f"cannot fetch {url}: {type(exc).__name__}") from None
    return b"".join(parts)


class AudioLibrary:
    def __init__(
        self,
        synth: SpeechSynth,
        *,
        sox: str | None,
        fetch_timeout: float = 10.0,
        max_bytes: int = 64 * 1024 * 1024,
        network: NetworkPolicy | None = None,
        media: MediaSource | None = None,
    ) -> None:
        self.synth = synth
        self.network = network or NetworkPolicy()  # what play URLs may reach
        self.media = media  # uploaded WAV files (media:<id>); None: none can be played
        self.sox = sox
        self.fetch_timeout = fetch_timeout
        self.max_bytes = max_bytes
        self._pcm: OrderedDict[str, bytes] = OrderedDict()
        self._encoded: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._loading: dict[str, asyncio.Task[bytes]] = {}
        self._size = 0
        self._silence: dict[int, bytes] = {}

    async def speech(self, text: str, language: str, payload_type: int) -> bytes:
        key = "tts:" + SpeechSynth.cache_key(text, language)

        async def load() -> bytes:
            path = await self.synth.render(text, language)
            return await decode_audio(await asyncio.to_thread(path.read_bytes), self.sox)

        return await self._get(key, load, payload_type)

    async def file(self, url: str, payload_type: int) -> bytes:
        """A `play` URL: `media:<id>` or http(s); nothing else (no paths, no file://)."""
        if url.startswith(MEDIA_PREFIX):
            found = media_id(url)
            if found is None:
                raise AudioError(f"{url!r} is not a {MEDIA_PREFIX}<id> reference")
            return await self._get(url, lambda: self._media(found), payload_type)

        async def load() -> bytes:
            data = await fetch(url, self.network, self.fetch_timeout)
            return await decode_audio(data, self.sox)

        return await self._get("url:" + url, load, payload_type)

    async def _media(self, found: uuid.UUID) -> bytes:
        if self.media is None:
            raise AudioError("uploaded media cannot be played here")
        try:
            data = await self.media.wav(found)
        except LookupError as exc:
            raise AudioError(str(exc)) from None
        return await decode_audio(data, self.sox)

    async def play_silence(self, stream: RtpStream, duration_ms: object) -> None:
        """Send `duration_ms` of silence on the stream as it goes: a one-second block queued
        again and again (two ahead, so no gap opens), never the whole duration at once."""
        if not isinstance(duration_ms, int | float) or isinstance(duration_ms, bool):
            raise ValueError("option.duration must be a number of milliseconds")
        payload_type = stream.payload_type
        block = self._silence.get(payload_type)
        if block is None:
            block = self._silence[payload_type] = g711.silence(payload_type, SILENCE_SAMPLES)
        left = max(0, int(duration_ms)) * 8
        queued: list[asyncio.Future[None]] = []
        while left > 0:
            size = min(left, SILENCE_SAMPLES)
            queued.append(stream.play(block if size == SILENCE_SAMPLES else block[:size]))
            left -= size
            if len(queued) > 1:
                await queued.pop(0)
        for done in queued:
            await done

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
