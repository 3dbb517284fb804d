"""Runs a campaign's actions on an answered call: the flow (domain/flow.py) plus the call
actions, over a `CallMedia` the backend provides (SIP: real audio; sim: virtual time).

Call actions (VoIPBIN names and options, docs/telephony.md):

- `talk` (`text`, `language`, `digits_handle: next` ends it on a key press, `wait_for_beep`),
  `play` (`stream_urls`, `wait_for_beep`), `sleep` (`duration` ms), `hangup`;
- `amd` (`machine_handle` hangup|continue, `async`): human / machine / notsure from the far
  end's first seconds; a machine with `hangup` ends the call with hangup reason `amd`;
- `digits_receive` (`duration` ms, `key`, `length`): sets `voipbin.call.digits`;
- `digits_send` (`digits`, `duration` 100-1000 ms per key, `interval` 0-5000 ms);
- `recording_start` (`format` wav, `duration` s, `end_of_silence` s, `end_of_key`
  none|any|<keys>, `beep_start`) and `recording_stop`;
- `connect` (`destinations`): dial the destinations one after the other (each rings up to
  CONNECT_RING_MS) and bridge the call to the first that answers (`CallMedia.bridge`); once
  connected the call ends with the conversation; when none answers the actions go on;
- the campaign's opt-out key, pressed at any moment, stops whatever runs, speaks the
  confirmation, hangs up and marks the outcome `opted_out`.

Digits are kept in the order received (`digits` of the outcome); the ones no `digits_receive`
has taken yet wait for the next one. Unknown or not-for-calls types (`webhook_send`, ...) are
logged and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from outdial.domain.address import DIALABLE_TYPES, Address, parse_address
from outdial.domain.errors import InvalidArgument
from outdial.domain.flow import DigitGather, Flow
from outdial.domain.outcome import HangupReason, RecordingFile
from outdial.telephony.bridge import BridgeResult, OnBridgeAnswer
from outdial.telephony.recording import Recorder, failed

log = logging.getLogger("outdial.telephony.interpreter")
DIGIT_KEYS = frozenset("0123456789*#ABCD")
CONNECT_RING_MS = 30_000  # how long each `connect` destination rings
MAX_CONNECT_DESTINATIONS = 10


class CallMedia(Protocol):
    """What a call backend does for the interpreter."""

    def elapsed_ms(self) -> int:
        """Milliseconds since the answer."""
        ...

    def now(self) -> datetime: ...

    async def wait(self, ms: int) -> None:
        """Wait (in the backend's time) without sending anything new."""
        ...

    async def talk(self, text: str, language: str) -> None: ...

    async def play(self, urls: list[str]) -> None: ...

    async def silence(self, ms: int) -> None: ...

    async def beep(self) -> None:
        """A short tone (recording_start's `beep_start`)."""
        ...

    async def send_digits(self, digits: str, duration_ms: int, interval_ms: int) -> None: ...

    async def amd(self) -> tuple[str, int]:
        """The AMD decision: (human|machine|notsure, ms after the answer)."""
        ...

    async def drop_cue(self) -> str:
        """Wait for the moment to drop a voicemail message: `beep`, `silence` or `timeout`."""
        ...

    def started(self) -> None:
        """The first call action is about to run."""
        ...

    def record(self, recorder: Recorder | None) -> None:
        """Feed (or, with None, stop feeding) a recorder with both directions."""
        ...

    async def bridge(
        self,
        destination: Address,
        ring_timeout_ms: int,
        *,
        ring_also: Sequence[Address] = (),
        on_answer: OnBridgeAnswer | None = None,
    ) -> BridgeResult:
        """Call `destination` (and `ring_also` at the same time) as a second leg and connect
        the two (telephony/bridge.py)."""
        ...


class Connector(Protocol):
    """Runs `queue_join` and `connect` on an answered call (the engine's agent desk,
    engine/desk.py): finds the second party, bridges through `media`, and says whether the
    call is over (connected and hung up, or abandoned)."""

    async def run(self, kind: str, option: dict[str, Any], media: CallMedia) -> bool: ...


@dataclass(slots=True)
class ScriptResult:
    reason: HangupReason = HangupReason.NORMAL
    amd_result: str = ""
    amd_ms: int = 0
    digits: str = ""
    opted_out: bool = False
    recordings: list[RecordingFile] = field(default_factory=list)
    played: list[str] = field(default_factory=list)  # the call actions that ran
    bridges: list[BridgeResult] = field(default_factory=list)  # connect's tries, in order


class _Stop(Exception):
    """The script ends now (opt-out, AMD hang-up)."""


class CallScript:
    def __init__(
        self,
        actions: list[dict[str, Any]],
        media: CallMedia,
        *,
        call_id: uuid.UUID,
        variables: dict[str, str] | None = None,
        opt_out_key: str = "",
        opt_out_confirmation: str = "",
        recordings_dir: str = "",
        label: str = "",
        connector: Connector | None = None,
    ) -> None:
        self.flow = Flow(actions, variables)
        self.media = media
        self.call_id = call_id
        self.opt_out_key = opt_out_key if opt_out_key in DIGIT_KEYS else ""
        self.opt_out_confirmation = opt_out_confirmation
        self.recordings_dir = recordings_dir
        self.label = label or str(call_id)
        self.result = ScriptResult()
        self.connector = connector  # queue_join / connect (None: skipped, logged)
        self.pending = ""  # received, not yet taken by a digits_receive
        self._stop: asyncio.Future[HangupReason] | None = None
        self._digit_waiters: list[Callable[[str], None]] = []
        self._amd: asyncio.Task[tuple[str, int]] | None = None
        self._recorder: Recorder | None = None
        self._rec_end_key = ""
        self._rec_timer: asyncio.Task[None] | None = None
        self._started = False
        self._over = False  # the actions are done: a late AMD decision hangs nothing up

    # -- input from the backend ------------------------------------------------------------

    def on_digit(self, digit: str) -> None:
        """A key press from any source (RFC 4733, SIP INFO, in-band)."""
        if digit not in DIGIT_KEYS or self.result.opted_out:
            return
        self.result.digits += digit
        log.info("call %s: key %s", self.label, digit)
        if self.opt_out_key and digit == self.opt_out_key:
            self.result.opted_out = True
            self._halt(HangupReason.NORMAL)
            return
        if self._recorder is not None and self._rec_end_key:
            if self._rec_end_key == "any" or digit in self._rec_end_key:
                self._stop_recording()
        self.pending += digit
        for waiter in list(self._digit_waiters):
            waiter(digit)

    def on_silence_limit(self) -> None:
        """The recording's `end_of_silence` passed (the backend measures it)."""
        self._stop_recording()

    # -- running ---------------------------------------------------------------------------

    async def run(self) -> ScriptResult:
        loop = asyncio.get_running_loop()
        self._stop = loop.create_future()
        if self.result.opted_out:  # the key came before the first action
            self._stop.set_result(HangupReason.NORMAL)
        try:
            while (action := self.flow.next(self.media.now())) is not None:
                kind = str(action.get("type") or "")
                if kind == "hangup":
                    self.result.played.append(kind)
                    break
                if not self._started:
                    self._started = True
                    self.media.started()
                await self._guarded(self._execute(kind, action["option"]))
        except _Stop:
            pass
        finally:
            if self._amd is not None and not self._amd.done():
                self._amd.cancel()
        self._over = True
        if self.result.opted_out:
            await self._confirm_opt_out()
        self._stop_recording()
        return self.result

    def finish(self) -> ScriptResult:
        """At the end of the call (whatever ended it): close a recording still running."""
        self._stop_recording()
        if self._amd is not None and not self._amd.done():
            self._amd.cancel()
        return self.result

    async def _guarded(self, work: Any) -> None:
        """Run one action unless the script is stopped meanwhile."""
        assert self._stop is not None
        if self._stop.done():
            raise _Stop
        task = asyncio.ensure_future(work)
        try:
            done, _ = await asyncio.wait({task, self._stop}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task not in done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            raise _Stop
        task.result()
        if self._stop.done():
            raise _Stop

    def _halt(self, reason: HangupReason) -> None:
        if self._stop is not None and not self._stop.done():
            self.result.reason = reason
            self._stop.set_result(reason)

    async def _confirm_opt_out(self) -> None:
        text = self.opt_out_confirmation.strip()
        if not text:
            return
        try:
            await self.media.talk(text, "")
            self.result.played.append("opt_out_confirmation")
        except Exception as exc:  # the call ends anyway
            log.warning("call %s: opt-out confirmation not spoken: %s", self.label, exc)

    async def _execute(self, kind: str, opt: dict[str, Any]) -> None:
        if kind in ("talk", "play"):
            await self._speak(kind, opt)
        elif kind == "sleep":
            await self.media.silence(_int(opt.get("duration"), 0))
        elif kind == "amd":
            await self._run_amd(opt)
        elif kind == "digits_receive":
            await self._receive(opt)
        elif kind == "digits_send":
            digits = "".join(d for d in str(opt.get("digits") or "").upper() if d in DIGIT_KEYS)
            duration = min(1000, max(100, _int(opt.get("duration"), 100)))
            interval = min(5000, max(0, _int(opt.get("interval"), 100)))
            if digits:
                await self.media.send_digits(digits[:100], duration, interval)
        elif kind == "recording_start":
            await self._start_recording(opt)
        elif kind == "recording_stop":
            self._stop_recording()
        elif kind in ("queue_join", "connect") and self.connector is not None:
            over = await self.connector.run(kind, opt, self.media)
            self.result.played.append(kind)
            if over:  # the conversation (or the abandon message) ended the call
                self._halt(HangupReason.NORMAL)
            return
        elif kind == "connect":
            await self._connect(opt)
        else:
            log.info("call %s: action type %r does nothing on a call, skipped", self.label, kind)
            return
        self.result.played.append(kind)

    async def _connect(self, opt: dict[str, Any]) -> None:
        """VoIPBIN's `connect`: the first of `destinations` that answers is bridged to the
        call; the conversation's end ends the call. `early_media` and `relay_reason` are
        accepted and not used (the callee hears silence while the destination rings)."""
        raw = opt.get("destinations")
        if not isinstance(raw, list) or not raw:
            log.warning("call %s: connect without destinations, skipped", self.label)
            return
        for index, item in enumerate(raw[:MAX_CONNECT_DESTINATIONS]):
            try:
                destination = parse_address(item, f"connect.destinations[{index}]")
            except InvalidArgument as exc:
                log.warning("call %s: %s, skipped", self.label, exc)
                continue
            if destination is None or destination.type not in DIALABLE_TYPES:
                log.warning("call %s: connect destination %d cannot be dialed, skipped",
                            self.label, index)  # fmt: skip
                continue
            result = await self.media.bridge(destination, CONNECT_RING_MS)
            self.result.bridges.append(result)
            log.info("call %s: connect to %s: %s", self.label, destination.target,
                     result.end.value)  # fmt: skip
            if result.connected:  # the conversation is over, and so is the call
                self._halt(HangupReason.NORMAL)
                return

    async def _speak(self, kind: str, opt: dict[str, Any]) -> None:
        if opt.get("wait_for_beep") is True:
            cue = await self.media.drop_cue()
            log.info("call %s: voicemail drop cue: %s", self.label, cue)
        if kind == "talk":
            text = opt.get("text")
            if not isinstance(text, str) or not text.strip():
                log.warning("call %s: talk without text, skipped", self.label)
                return
            work = self.media.talk(text, str(opt.get("language") or ""))
        else:
            urls = opt.get("stream_urls")
            urls = [urls] if isinstance(urls, str) else urls
            if not isinstance(urls, list) or not urls:
                log.warning("call %s: play without stream_urls, skipped", self.label)
                return
            work = self.media.play([str(u) for u in urls])
        if kind == "talk" and opt.get("digits_handle") == "next":
            await self._until_digit(work)
        else:
            await work

    async def _until_digit(self, work: Any) -> None:
        """`digits_handle: next`: a key pressed while it plays ends it (the key is kept)."""
        loop = asyncio.get_running_loop()
        pressed: asyncio.Future[None] = loop.create_future()

        def waiter(_: str) -> None:
            if not pressed.done():
                pressed.set_result(None)

        task = asyncio.ensure_future(work)
        self._digit_waiters.append(waiter)
        try:
            await asyncio.wait({task, pressed}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            self._digit_waiters.remove(waiter)
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        else:
            task.result()

    async def _run_amd(self, opt: dict[str, Any]) -> None:
        if self._amd is None:
            self._amd = asyncio.ensure_future(self.media.amd())
        hangup = opt.get("machine_handle") == "hangup"
        if opt.get("async") is True:
            self._amd.add_done_callback(lambda t: self._amd_done(t, hangup))
            return
        await asyncio.shield(self._amd)
        self._amd_done(self._amd, hangup)

    def _amd_done(self, task: asyncio.Task[tuple[str, int]], hangup: bool) -> None:
        if task.cancelled() or task.exception() is not None:
            return
        result, ms = task.result()
        if not self.result.amd_result:
            self.result.amd_result, self.result.amd_ms = result, ms
            log.info("call %s: amd %s after %d ms", self.label, result, ms)
        if result == "machine" and hangup and not self._over:
            self._halt(HangupReason.AMD)

    async def _receive(self, opt: dict[str, Any]) -> None:
        gather = DigitGather(opt)
        taken = 0
        for digit in self.pending:
            taken += 1
            if gather.feed(digit):
                break
        self.pending = self.pending[taken:]
        if not gather.done:
            loop = asyncio.get_running_loop()
            finished: asyncio.Future[None] = loop.create_future()

            def waiter(digit: str) -> None:
                if finished.done():
                    return
                self.pending = self.pending[:-1] if self.pending.endswith(digit) else self.pending
                if gather.feed(digit):
                    finished.set_result(None)

            self._digit_waiters.append(waiter)
            timer = asyncio.ensure_future(self.media.wait(gather.duration_ms))
            try:
                await asyncio.wait({finished, timer}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                self._digit_waiters.remove(waiter)
                timer.cancel()
        self.flow.set_digits(gather.digits)
        log.info("call %s: digits_receive got %r", self.label, gather.digits)

    async def _start_recording(self, opt: dict[str, Any]) -> None:
        self._stop_recording()  # one at a time: a second start ends the first
        rec_id = uuid.uuid4()
        start = self.media.now()
        fmt = str(opt.get("format") or "wav").lower()
        if not self.recordings_dir:
            self.result.recordings.append(failed(rec_id, "recordings disabled", start))
            return
        if fmt != "wav":
            self.result.recordings.append(failed(rec_id, f"format {fmt!r} not supported", start))
            return
        recorder = Recorder(rec_id, self.recordings_dir, self.call_id, self.media.now())
        self._recorder = recorder
        self.flow.variables["voipbin.recording.id"] = str(rec_id)
        key = str(opt.get("end_of_key") or "")
        self._rec_end_key = "" if key == "none" else key
        self.media.record(recorder)
        limit_s = _int(opt.get("duration"), 0)
        if limit_s > 0:
            self._rec_timer = asyncio.ensure_future(self._recording_limit(recorder, limit_s))
        silence_s = _int(opt.get("end_of_silence"), 0)
        if silence_s > 0:
            recorder.end_of_silence_ms = silence_s * 1000
            recorder.on_silence = self.on_silence_limit
        if opt.get("beep_start") is True:  # the beep opens the recording
            await self.media.beep()

    async def _recording_limit(self, recorder: Recorder, seconds: int) -> None:
        await self.media.wait(seconds * 1000)
        if self._recorder is recorder:
            self._stop_recording()

    def _stop_recording(self) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return
        if self._rec_timer is not None:
            self._rec_timer.cancel()
            self._rec_timer = None
        self.media.record(None)
        started = recorder.start
        elapsed = int((self.media.now() - started).total_seconds() * 1000)
        recorder.pad_to(elapsed)
        file = recorder.finish(self.media.now())
        log.info("call %s: recording %s %s (%d ms)", self.label, file.id, file.status,
                 file.duration_ms)  # fmt: skip
        self.result.recordings.append(file)


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return default
