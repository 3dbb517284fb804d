"""Plays a campaign's actions (VoIPBIN flow actions `{id, next_id, type, option}`) on a call.

`SipMedia` is what the action interpreter (`telephony/interpreter.py`) runs the actions on in
a SIP call; `ActionPlayer` renders the speech ahead of the answer and is the older player of
talk/play/sleep/hangup only. `talk` speaks `option.text` in `option.language`, `play` streams
`option.stream_urls`, `sleep`
sends silence for `option.duration` ms, `hangup` ends the call. Unknown types are skipped with a
log line. Actions run in list order; a `next_id` naming another action's `id` jumps there.
An action whose audio cannot be produced is logged and skipped: the call goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from outdial.domain.address import Address
from outdial.telephony.bridge import BridgeEnd, BridgeResult, OnBridgeAnswer
from outdial.telephony.listen.rfc4733_send import digits_packets
from outdial.telephony.recording import Recorder
from outdial.telephony.sip import g711
from outdial.telephony.sip.audio import AudioError
from outdial.telephony.sip.library import AudioLibrary
from outdial.telephony.sip.listening import CallEar
from outdial.telephony.sip.media import RtpStream
from outdial.telephony.sip.tts import SpeechError

log = logging.getLogger("outdial.telephony.sip.actions")
NIL_ID = "00000000-0000-0000-0000-000000000000"
MAX_STEPS_PER_ACTION = 10  # a next_id loop still ends


def _option(action: dict[str, Any]) -> dict[str, Any]:
    option = action.get("option")
    return option if isinstance(option, dict) else {}


def action_order(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The actions in the order they run, following `next_id` jumps, bounded."""
    by_id = {str(a.get("id")): i for i, a in enumerate(actions) if a.get("id")}
    order: list[dict[str, Any]] = []
    index = 0
    while 0 <= index < len(actions) and len(order) < MAX_STEPS_PER_ACTION * len(actions):
        action = actions[index]
        order.append(action)
        next_id = str(action.get("next_id") or "")
        index = by_id[next_id] if next_id and next_id != NIL_ID and next_id in by_id else index + 1
    return order


class ActionPlayer:
    def __init__(self, library: AudioLibrary, *, label: str) -> None:
        self.library = library
        self.label = label
        self.played: list[str] = []  # the types that ran, for tests and logs

    async def prepare(self, actions: list[dict[str, Any]], payload_type: int) -> None:
        """Render and encode the audio ahead of the answer (errors show up again at play)."""
        jobs: list[Awaitable[bytes]] = []
        for action in actions:
            opt = _option(action)
            if action.get("type") == "talk" and isinstance(opt.get("text"), str):
                jobs.append(
                    self.library.speech(opt["text"], str(opt.get("language") or ""), payload_type)
                )
        await asyncio.gather(*jobs, return_exceptions=True)

    async def run(self, actions: list[dict[str, Any]], stream: RtpStream) -> None:
        """Play until the last action or a `hangup` action."""
        for action in action_order(actions):
            kind = str(action.get("type") or "")
            if kind == "hangup":
                self.played.append(kind)
                log.info("call %s: hangup action", self.label)
                return
            if kind == "sleep":  # silence made as it is sent, never allocated up front
                try:
                    await self.library.play_silence(stream, _option(action).get("duration", 0))
                    self.played.append(kind)
                except ValueError as exc:
                    log.warning("call %s: sleep action skipped: %s", self.label, exc)
                continue
            try:
                codec = stream.payload_type  # the stream changes it if a re-INVITE does
                payload = await self._audio(kind, _option(action), codec)
            except (AudioError, SpeechError, OSError, ValueError) as exc:
                log.warning("call %s: %s action skipped: %s", self.label, kind, exc)
                continue
            if payload is None:
                log.info("call %s: action type %r is not supported here, skipped", self.label, kind)
                continue
            self.played.append(kind)
            log.debug("call %s: %s, %d ms of audio", self.label, kind, len(payload) // 8)
            await stream.play(payload, codec)

    async def _audio(self, kind: str, opt: dict[str, Any], payload_type: int) -> bytes | None:
        if kind == "talk":
            text = opt.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ValueError("option.text is missing")
            return await self.library.speech(text, str(opt.get("language") or ""), payload_type)
        if kind == "play":
            urls = opt.get("stream_urls")
            if isinstance(urls, str):
                urls = [urls]
            if not isinstance(urls, list) or not urls:
                raise ValueError("option.stream_urls is missing")
            parts: list[bytes] = []
            for url in urls:
                try:
                    parts.append(await self.library.file(str(url), payload_type))
                except (AudioError, OSError, ValueError) as exc:
                    log.warning("call %s: cannot play %s: %s", self.label, url, exc)
            return b"".join(parts)
        return None


def tone(frequencies: tuple[float, ...], ms: int, payload_type: int, level: float = 0.25) -> bytes:
    """A steady tone (one frequency: a beep; two: an in-band DTMF key), G.711 encoded."""
    n = ms * 8
    t = np.arange(n) / 8000.0
    wave = sum(np.sin(2 * np.pi * f * t) for f in frequencies) / len(frequencies)
    pcm = (np.asarray(wave) * level * 32767).astype("<i2").tobytes()
    return g711.encode(pcm, payload_type)


class SipMedia:
    """The `CallMedia` of an answered SIP call: audio out through the call's `RtpStream`, the
    far end heard through its `CallEar` (AMD, the voicemail-drop cue, keys)."""

    def __init__(
        self,
        library: AudioLibrary,
        stream: RtpStream,
        ear: CallEar,
        *,
        label: str,
        event_payload_type: int | None,
        bridger: Callable[..., Awaitable[BridgeResult]] | None = None,
    ) -> None:
        self.bridger = bridger
        self.library = library
        self.stream = stream
        self.ear = ear
        self.label = label
        self.event_payload_type = event_payload_type
        self.loop = asyncio.get_running_loop()
        self.answered = self.loop.time()
        self._recording_since = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    def elapsed_ms(self) -> int:
        return int((self.loop.time() - self.answered) * 1000)

    async def wait(self, ms: int) -> None:
        if ms > 0:
            await asyncio.sleep(ms / 1000)

    async def talk(self, text: str, language: str) -> None:
        codec = self.stream.payload_type
        try:
            payload = await self.library.speech(text, language, codec)
        except (AudioError, SpeechError, OSError, ValueError) as exc:
            log.warning("call %s: talk skipped: %s", self.label, exc)
            return
        await self.stream.play(payload, codec)

    async def play(self, urls: list[str]) -> None:
        codec = self.stream.payload_type
        parts: list[bytes] = []
        for url in urls:
            try:
                parts.append(await self.library.file(url, codec))
            except (AudioError, OSError, ValueError) as exc:
                log.warning("call %s: cannot play %s: %s", self.label, url, exc)
        if parts:
            await self.stream.play(b"".join(parts), codec)

    async def silence(self, ms: int) -> None:
        try:
            await self.library.play_silence(self.stream, ms)
        except ValueError as exc:
            log.warning("call %s: sleep skipped: %s", self.label, exc)

    async def beep(self) -> None:
        codec = self.stream.payload_type
        await self.stream.play(tone((1000.0,), 250, codec), codec)

    async def send_digits(self, digits: str, duration_ms: int, interval_ms: int) -> None:
        if self.event_payload_type is None:  # no telephone-event in the answer: in-band tones
            codec = self.stream.payload_type
            gap = silence_bytes(codec, interval_ms)
            audio = b"".join(tone(DTMF_FREQUENCIES[d], duration_ms, codec) + gap for d in digits)
            await self.stream.play(audio, codec)
            return
        packets = digits_packets(
            digits,
            timestamp=self.stream.media_timestamp(),
            duration_ms=duration_ms,
            gap_ms=interval_ms,
        )
        await self.stream.send_events(packets, self.event_payload_type)

    async def amd(self) -> tuple[str, int]:
        return await asyncio.shield(self.ear.amd)

    async def drop_cue(self) -> str:
        return await asyncio.shield(self.ear.wait_for_beep())

    def started(self) -> None:
        return None

    async def bridge(
        self,
        destination: Address,
        ring_timeout_ms: int,
        *,
        ring_also: Sequence[Address] = (),
        on_answer: OnBridgeAnswer | None = None,
    ) -> BridgeResult:
        """Dial `destination` as a second leg and relay audio with it (sip/b2bua.py)."""
        if self.bridger is None:
            return BridgeResult(BridgeEnd.NOT_ANSWERED)
        return await self.bridger(
            destination, ring_timeout_ms, ring_also=ring_also, on_answer=on_answer
        )

    def record(self, recorder: Recorder | None) -> None:
        self.ear.record(recorder)
        if recorder is None:
            self.stream.on_sent = None
            return
        since = self.loop.time()

        def sent(chunk: bytes, payload_type: int) -> None:
            at = int((self.loop.time() - since) * 1000)
            recorder.add_out(g711.decode(chunk, payload_type), at)

        self.stream.on_sent = sent


DTMF_FREQUENCIES: dict[str, tuple[float, ...]] = {
    key: (low, high)
    for row, low in zip(("123A", "456B", "789C", "*0#D"), (697.0, 770.0, 852.0, 941.0), strict=True)
    for key, high in zip(row, (1209.0, 1336.0, 1477.0, 1633.0), strict=True)
}


def silence_bytes(payload_type: int, ms: int) -> bytes:
    return g711.silence(payload_type, ms * 8)
