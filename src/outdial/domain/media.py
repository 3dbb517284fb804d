"""Uploaded media (issue 10): WAV audio a customer stores and `play` actions reference as
`media:<id>`, so no action ever needs a path on the server's disk."""

from __future__ import annotations

import io
import uuid
import wave
from dataclasses import dataclass
from datetime import datetime

from outdial.domain.errors import InvalidArgument

MAX_MEDIA_BYTES = 16 * 1024 * 1024  # about 17 minutes of 8 kHz 16-bit mono
PREFIX = "media:"


@dataclass(frozen=True, slots=True)
class WavInfo:
    duration_ms: int
    sample_rate: int
    channels: int


@dataclass(frozen=True, slots=True)
class Media:
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    size: int
    duration_ms: int
    sample_rate: int
    channels: int
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None = None

    @property
    def reference(self) -> str:
        return f"{PREFIX}{self.id}"


def inspect_wav(data: bytes) -> WavInfo:
    """The shape of a PCM WAV file (what the telephony plays); 400 for anything else."""
    if not data:
        raise InvalidArgument("the body must be a WAV file", reason="INVALID_MEDIA")
    if len(data) > MAX_MEDIA_BYTES:
        raise InvalidArgument(
            f"the WAV file is larger than {MAX_MEDIA_BYTES} bytes", reason="INVALID_MEDIA"
        )
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            frames = wav.getnframes()
    except (wave.Error, EOFError, ValueError, OverflowError):
        raise InvalidArgument("the body is not a PCM WAV file", reason="INVALID_MEDIA") from None
    if not 8000 <= rate <= 192_000 or not 1 <= channels <= 8 or width not in (1, 2, 3, 4):
        raise InvalidArgument(
            "the WAV file must be PCM, 8 to 192 kHz, 1 to 8 channels, 8 to 32 bit",
            reason="INVALID_MEDIA",
        )
    if frames <= 0:
        raise InvalidArgument("the WAV file has no audio", reason="INVALID_MEDIA")
    return WavInfo(frames * 1000 // rate, rate, channels)


def media_id(reference: str) -> uuid.UUID | None:
    """The id in a `media:<id>` reference; None when `reference` is not one."""
    if not reference.startswith(PREFIX):
        return None
    try:
        return uuid.UUID(reference[len(PREFIX) :])
    except ValueError:
        return None
