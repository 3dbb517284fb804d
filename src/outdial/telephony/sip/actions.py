"""Plays a campaign's actions (VoIPBIN flow actions `{id, next_id, type, option}`) on a call.

`talk` speaks `option.text` in `option.language`, `play` streams `option.stream_urls`, `sleep`
sends silence for `option.duration` ms, `hangup` ends the call. Unknown types are skipped with a
log line. Actions run in list order; a `next_id` naming another action's `id` jumps there.
An action whose audio cannot be produced is logged and skipped: the call goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from outdial.telephony.sip.audio import AudioError
from outdial.telephony.sip.library import AudioLibrary
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
