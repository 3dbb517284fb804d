"""Call outcomes: hangup reasons, SIP response mapping and the attempt result (SPEC 1, 5)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import Enum


class HangupReason(str, Enum):
    NONE = ""
    NORMAL = "normal"
    BUSY = "busy"
    NOANSWER = "noanswer"
    FAILED = "failed"
    CANCEL = "cancel"
    TIMEOUT = "timeout"
    DIALOUT = "dialout"
    AMD = "amd"
    LOST = "lost"


class CallResult(str, Enum):
    NONE = ""
    SUCCESS = "success"
    FAIL = "fail"


def result_for(reason: HangupReason) -> CallResult:
    """Only a call that was answered and ended normally is a success."""
    return CallResult.SUCCESS if reason is HangupReason.NORMAL else CallResult.FAIL


def reason_for_sip_code(code: int) -> HangupReason:
    """Map a final SIP response to an INVITE (one that did not answer) to a hangup reason."""
    if code in (486, 600, 603):
        return HangupReason.BUSY
    if code in (480, 408):
        return HangupReason.NOANSWER
    if code == 487:
        return HangupReason.CANCEL
    return HangupReason.FAILED


# Details of an end that a campaigncall shows (`hangup_detail`); any other detail is only
# logged (it may name internal hosts).
TRUNK_DOWN = "trunk_down"  # the trunk was down: the attempt does not count as a try
DESTINATION_BLOCKED = "destination_blocked"
SERVICE_TIMEOUT = "service_timeout"  # the queue's service_timeout ended the conversation
PUBLIC_DETAILS = frozenset({TRUNK_DOWN, DESTINATION_BLOCKED})


@dataclass(frozen=True, slots=True)
class RecordingFile:
    """One recording a call made (written by the telephony under recordings_dir)."""

    id: uuid.UUID
    path: str
    format: str  # "wav"
    channels: int
    duration_ms: int
    status: str  # "done" | "failed"
    detail: str
    tm_start: str  # ISO like other tm_ fields, or ""
    tm_end: str


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """How one call ended, as the telephony reports it to the engine."""

    reason: HangupReason
    answered: bool = False
    sip_code: int | None = None
    detail: str = ""
    amd_result: str = ""  # human | machine | notsure; empty when no amd action ran
    amd_ms: int = 0  # time from answer to the amd decision
    digits: str = ""  # all digits received, in order
    opted_out: bool = False
    recordings: tuple[RecordingFile, ...] = ()

    @property
    def result(self) -> CallResult:
        return result_for(self.reason)

    @property
    def public_detail(self) -> str:
        return self.detail if self.detail in PUBLIC_DETAILS else ""

    @property
    def counts_as_try(self) -> bool:
        """An attempt that failed because the trunk was down is given back its try."""
        return self.detail != TRUNK_DOWN
