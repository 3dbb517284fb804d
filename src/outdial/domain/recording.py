"""Call recordings (issue 12): VoIPBIN's recording resource (bin-call-manager
`models/recording`), made by `recording_start` .. `recording_stop` on a campaign's call."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class RecordingStatus(str, Enum):
    # VoIPBIN's statuses: a recording outdial stores has ended (the call is over) ...
    INITIATING = "initiating"
    RECORDING = "recording"
    STOPPING = "stopping"
    ENDED = "ended"
    # ... or failed: recording was off (no OUTDIAL_RECORDINGS_DIR), the disk was full or not
    # writable. The call went on; `detail` says why; there is no file.
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Recording:
    id: uuid.UUID
    customer_id: uuid.UUID
    campaign_id: uuid.UUID
    campaigncall_id: uuid.UUID
    reference_type: str
    reference_id: uuid.UUID
    status: str
    format: str
    channels: int
    duration_ms: int
    detail: str
    tm_start: datetime | None
    tm_end: datetime | None
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None = None
