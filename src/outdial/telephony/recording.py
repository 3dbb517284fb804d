"""Call recordings: two channels (left: the far end, right: what outdial sent), 16-bit WAV.

A `Recorder` collects 8 kHz int16 samples for each direction as they are heard and sent. A
direction that was quiet (no packet sent while nothing played) is padded with silence at its
place in time, so the channels stay aligned: `add_in` / `add_out` take the time of the audio
in ms since the recording began. `finish()` writes `recordings_dir/<call_id>/<id>.wav`; a
disk that is full or unwritable gives a `RecordingFile` with status `failed` and the error in
`detail`, never an exception: the call goes on.
"""

from __future__ import annotations

import contextlib
import os
import uuid
import wave
from collections.abc import Callable
from datetime import datetime

import numpy as np

from outdial.domain.outcome import RecordingFile

RATE = 8000
SAMPLES_PER_MS = RATE // 1000
QUIET_PEAK = 500  # a frame whose samples all stay under this is quiet (about -36 dBm0)
MAX_RECORDING_MS = 3 * 3600 * 1000  # a bound on memory whatever the options say


def _iso(moment: datetime | None) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else ""


def failed(rec_id: uuid.UUID, detail: str, start: datetime | None = None) -> RecordingFile:
    return RecordingFile(rec_id, "", "wav", 2, 0, "failed", detail, _iso(start), _iso(start))


class Recorder:
    def __init__(
        self, rec_id: uuid.UUID, directory: str, call_id: uuid.UUID, start: datetime
    ) -> None:
        self.id = rec_id
        self.directory = directory
        self.call_id = call_id
        self.start = start
        self.channels: tuple[bytearray, bytearray] = (bytearray(), bytearray())
        self.stopped = False
        self.end_of_silence_ms = 0  # > 0: `on_silence` once the far end was quiet this long
        self.on_silence: Callable[[], None] | None = None
        self._quiet_ms = 0

    @property
    def path(self) -> str:
        return os.path.join(self.directory, str(self.call_id), f"{self.id}.wav")

    def duration_ms(self) -> int:
        return max(len(c) for c in self.channels) // (2 * SAMPLES_PER_MS)

    def _add(self, channel: int, samples: bytes, at_ms: int | None) -> None:
        if self.stopped:
            return
        buf = self.channels[channel]
        if at_ms is not None:
            want = min(at_ms, MAX_RECORDING_MS) * SAMPLES_PER_MS * 2
            if want > len(buf):
                buf.extend(bytes(want - len(buf)))
        if len(buf) < MAX_RECORDING_MS * SAMPLES_PER_MS * 2:
            buf.extend(samples)

    def add_in(self, samples: bytes, at_ms: int | None = None) -> None:
        """The far end's audio (int16 little-endian), heard `at_ms` after the start."""
        self._add(0, samples, at_ms)
        if self.end_of_silence_ms and samples and not self.stopped:
            peak = int(np.abs(np.frombuffer(samples, dtype="<i2").astype(np.int32)).max())
            self._quiet_ms = self._quiet_ms + len(samples) // 16 if peak < QUIET_PEAK else 0
            if self._quiet_ms >= self.end_of_silence_ms and self.on_silence is not None:
                callback, self.on_silence = self.on_silence, None
                callback()

    def add_out(self, samples: bytes, at_ms: int | None = None) -> None:
        """Our audio as it was sent."""
        self._add(1, samples, at_ms)

    def pad_to(self, ms: int) -> None:
        """Both channels at least `ms` long (silence where nothing was heard or sent)."""
        for channel in (0, 1):
            self._add(channel, b"", ms)

    def finish(self, end: datetime) -> RecordingFile:
        """Write the WAV file (2 channels, 8 kHz, 16-bit) and describe it."""
        self.stopped = True
        left, right = self.channels
        n = max(len(left), len(right)) // 2
        stereo = np.zeros((n, 2), dtype="<i2")
        stereo[: len(left) // 2, 0] = np.frombuffer(bytes(left), dtype="<i2")
        stereo[: len(right) // 2, 1] = np.frombuffer(bytes(right), dtype="<i2")
        duration = n // SAMPLES_PER_MS
        path = self.path
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with wave.open(path, "wb") as out:
                out.setnchannels(2)
                out.setsampwidth(2)
                out.setframerate(RATE)
                out.writeframes(stereo.tobytes())
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(path)
            detail = f"cannot write the recording: {exc.strerror or exc}"
            return RecordingFile(
                self.id, "", "wav", 2, duration, "failed", detail, _iso(self.start), _iso(end)
            )
        return RecordingFile(
            self.id, path, "wav", 2, duration, "done", "", _iso(self.start), _iso(end)
        )
