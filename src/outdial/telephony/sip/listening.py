"""The far end's audio in an answered SIP call, fed to the listening blocks (telephony/listen).

Each call has a `CallEar`: inbound RTP goes through an `RtpReceiver` (jitter buffer for G.711,
RFC 4733 events with the payload type the answer negotiated) and SIP INFO bodies through
`parse_info`. One shared `Ears` task ticks every 20 ms: it takes one frame of every listening
call (the frames that are due; silence when the far end sends nothing, so time keeps
counting), decodes them in one lookup and runs all detectors in one `listen()` call (AMD, the
voicemail-drop cue, in-band DTMF), which is what keeps 300 calls cheap (docs/listening.md).
A frame of G.711 silence (the far end sends nothing, or silence) skips the decoding and the
DFTs when nothing of its call needs them (no drop cue awaited, no key being detected):
`listen_silence` gives the same results (AMD steps on its known energy).
Results go to the call: key presses to `on_digit`, the AMD decision and the drop cue to
futures the action interpreter awaits, the decoded audio to a recorder when one runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Callable
from typing import Any

from outdial.telephony.listen import AmdSettings, CallListener, DigitEvent, RtpReceiver
from outdial.telephony.listen import g711 as listen_g711
from outdial.telephony.listen.listener import Heard, listen, listen_silence, silence
from outdial.telephony.listen.rfc4733 import DEFAULT_PAYLOAD_TYPE
from outdial.telephony.listen.sipinfo import parse_info
from outdial.telephony.recording import Recorder
from outdial.telephony.sip.rtp import RtpPacket

log = logging.getLogger("outdial.telephony.sip.listening")
FRAME_S = 0.02
_QUIET_S = 0.06  # no packet for this long: the far end stopped sending, silence counts
_MAX_FRAMES_PER_TICK = 25  # catching up after a late tick (0.5 s)
_SILENCE = (silence(listen_g711.PCMU).codes, listen_g711.PCMU)  # 20 ms of μ-law silence
_FIELDS = struct.Struct("!BHII")  # an RTP header after its first byte: M+PT, sequence, ts, SSRC
_CHUNK = 20  # calls analysed at once; the media clock may send between chunks
_QUIET = {pt: silence(pt) for pt in listen_g711.AUDIO_PAYLOAD_TYPES}


class CallEar:
    def __init__(
        self,
        on_digit: Callable[[str], None],
        *,
        event_payload_type: int | None = None,
        amd: AmdSettings | None = None,
        label: str = "",
    ) -> None:
        self.on_digit = on_digit
        self.label = label
        self.receiver = RtpReceiver(event_payload_type=event_payload_type or DEFAULT_PAYLOAD_TYPE)
        self.listener = CallListener(amd=amd or AmdSettings())
        self.frames = 0  # 20 ms frames analysed since the answer
        self.packets = 0  # RTP packets received
        loop = asyncio.get_running_loop()
        self._time = loop.time
        self.started_at = loop.time()  # the answer: frame 0
        self.last_packet_at = float("-inf")
        self.amd: asyncio.Future[tuple[str, int]] = loop.create_future()
        self.drop: asyncio.Future[str] | None = None
        self.recorder: Recorder | None = None
        self.record_from = 0  # the frame a recording began at
        self.closed = False
        self.malformed = 0
        self.out_of_band = False  # an RFC 4733 or INFO key came

    def set_event_payload_type(self, payload_type: int | None) -> None:
        self.receiver.event_payload_type = payload_type or DEFAULT_PAYLOAD_TYPE

    def on_packet(self, data: bytes) -> None:
        """An RTP datagram from the far end."""
        if data[:1] == b"\x80" and len(data) >= 12:  # no padding, extension or CSRC: as usual
            second, sequence, timestamp, ssrc = _FIELDS.unpack_from(data, 1)
            self.packets += 1
            self.last_packet_at = self._time()
            events = self.receiver.push_fields(sequence, timestamp, ssrc, second & 0x7F, data[12:])
            if events:
                self._digits(events)
            return
        try:
            packet = RtpPacket.parse(data)
        except ValueError:
            self.malformed += 1
            return
        if packet.version != 2:
            self.malformed += 1
            return
        self.packets += 1
        self.last_packet_at = self._time()
        self._digits(self.receiver.push(packet))

    def on_info(self, content_type: str, body: bytes) -> None:
        """A SIP INFO in the dialog (application/dtmf-relay, application/dtmf)."""
        event = parse_info(content_type, body)
        if event is not None:
            self._digits([event])

    def wait_for_beep(self) -> asyncio.Future[str]:
        """The voicemail-drop cue (beep, silence or timeout), from now on."""
        if self.drop is None:
            self.drop = asyncio.get_running_loop().create_future()
            self.listener.wait_for_beep()
        return self.drop

    def record(self, recorder: Recorder | None) -> None:
        self.recorder = recorder
        self.record_from = self.frames

    def _digits(self, events: list[DigitEvent]) -> None:
        for event in events:
            if event.source == "inband" and self.out_of_band:
                continue  # the far end signals keys out of band: tones in the audio echo them
            if event.source != "inband":
                self.out_of_band = True
            try:
                self.on_digit(event.digit)
            except Exception:  # the interpreter's bug must not stop the audio path
                log.exception("call %s: key %s not handled", self.label, event.digit)

    def take(self, now: float) -> list[tuple[bytes, int]]:
        """The frames to analyse this tick (G.711 with their payload type): the ones due, or,
        while the far end sends nothing, silence up to the present (so time keeps counting
        even when ticks come late on a busy machine)."""
        jitter = self.receiver.jitter
        frames: list[tuple[bytes, int]] = []
        if jitter.started:
            while len(frames) < _MAX_FRAMES_PER_TICK:
                coded = jitter.pop_coded()
                if coded is None:
                    break
                frames.append(coded)
        if frames or now - self.last_packet_at < _QUIET_S:
            return frames  # audio is coming: wait for it rather than invent silence
        behind = min(_MAX_FRAMES_PER_TICK, int((now - self.started_at) / FRAME_S) - self.frames)
        if not jitter.started:  # no audio heard yet: time counts from the answer
            return [_SILENCE] * behind
        for _ in range(behind):
            coded = jitter.pop_coded(force=True)
            if coded is None:
                break
            frames.append(coded)
        return frames

    def close(self) -> None:
        self.closed = True
        self._digits(self.receiver.finish() + self.listener.finish())
        if not self.amd.done():
            self.amd.cancel()
        if self.drop is not None and not self.drop.done():
            self.drop.cancel()


class Ears:
    """The one 20 ms task that runs the detectors of every listening call."""

    def __init__(self, *, skip_silence: bool = True) -> None:
        self._ears: set[CallEar] = set()
        # silent frames on ears with no drop cue or key pending skip decoding and the DFTs
        # (`listen_silence`: the same results); False: every frame goes through `listen`
        self.skip_silence = skip_silence
        self._task: asyncio.Task[None] | None = None
        self.ticks = 0
        self.frames = 0

    def add(self, ear: CallEar) -> None:
        self._ears.add(ear)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def discard(self, ear: CallEar) -> None:
        self._ears.discard(ear)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while self._ears:
            ears = [ear for ear in self._ears if not ear.closed]
            self.ticks += 1
            for start in range(0, len(ears), _CHUNK):
                if start:
                    await asyncio.sleep(0)  # let the media clock send between chunks
                try:
                    self.tick(ears[start : start + _CHUNK], loop.time())
                except Exception:  # never let one bad frame stop every call's listening
                    log.exception("listening tick failed")
            next_tick += FRAME_S
            now = loop.time()
            if next_tick < now - 5 * FRAME_S:
                next_tick = now  # stalled: resume instead of racing to catch up
            await asyncio.sleep(max(0.0, next_tick - now))

    def tick(self, ears: list[CallEar], now: float) -> None:
        """One 20 ms frame (or a few, catching up) of each of these calls."""
        taken = [(ear, ear.take(now)) for ear in ears if not ear.closed]
        rounds = max((len(frames) for _, frames in taken), default=0)
        quiet = self.skip_silence
        for n in range(rounds):
            batch = [(ear, frames[n]) for ear, frames in taken if len(frames) > n]
            self.frames += len(batch)
            full: list[tuple[CallEar, tuple[bytes, int]]] = []  # decoded and `listen`ed
            for ear, coded in batch:
                # a silent frame (the far end sends nothing, or sends silence) on an ear with
                # nothing that needs the DFTs: the same result without them. Its results go
                # out before the other frames' analysis: they concern its own call only (no
                # key; an AMD decision is a future; at most its recorder's silence limit).
                if quiet:
                    silent = _QUIET.get(coded[1])
                    if silent is not None and coded[0] == silent.codes:
                        got = listen_silence(ear.listener, silent)
                        if got is not None:
                            _deliver(ear, got, silent.pcm)
                            continue
                full.append((ear, coded))
            if full:
                samples = listen_g711.decode_frames([coded for _, coded in full])
                heard = listen([ear.listener for ear, _ in full], samples)
                for (ear, _), row, got in zip(full, samples, heard, strict=True):
                    _deliver(ear, got, row)

    async def close(self) -> None:
        self._ears.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _deliver(ear: CallEar, got: Heard, audio: Any) -> None:
    """One frame's results to its call (`audio`: the frame decoded, for a recorder)."""
    ear.frames += 1
    if ear.recorder is not None:
        at = (ear.frames - 1 - ear.record_from) * 20
        ear.recorder.add_in(
            audio if isinstance(audio, bytes) else audio.astype("<i2").tobytes(), at
        )
    if got.amd is not None and not ear.amd.done():
        ear.amd.set_result((got.amd.status.value, got.amd.ms))
    if got.drop is not None and ear.drop is not None and not ear.drop.done():
        ear.drop.set_result(got.drop.reason)
    if got.digits:
        ear._digits(got.digits)
