"""The one interface between the dialing engine and a call backend."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from outdial.domain.address import Address
from outdial.domain.outcome import CallOutcome

OnAnswer = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CallRequest:
    """One attempt to place: who calls whom, how long to ring, what to play on answer."""

    call_id: uuid.UUID
    source: Address
    destination: Address
    dial_timeout_ms: int  # how long to ring; 0 (none given): the system default, 60 s
    actions: list[dict[str, Any]] = field(default_factory=list)
    sip_headers: tuple[tuple[str, str], ...] = ()  # the outplan's own headers (validated)
    opt_out_key: str = ""  # the campaign's opt-out key; empty = none
    opt_out_confirmation: str = ""  # text to speak before hanging up on an opt-out
    variables: dict[str, str] = field(default_factory=dict)  # target data for ${...}
    recordings_dir: str = ""  # empty = recording disabled
    # Issue 13: runs `queue_join` / `connect` (telephony/interpreter.py Connector); None:
    # those actions are skipped. Typed loosely: the interpreter's Protocol, not imported here.
    connector: Any = None


class MediaSource(Protocol):
    """Where `play` actions' `media:<id>` audio comes from (uploaded WAV files)."""

    async def wav(self, media_id: uuid.UUID) -> bytes:
        """The WAV file; LookupError when there is no such live media."""
        ...


class Telephony(Protocol):
    """A call backend. `place_call` runs one whole call and reports how it ended.

    It calls `on_answer` once when the far end answers (before the actions play), and
    returns when the call is over. It never raises for a call that failed: a failure is an
    outcome (`HangupReason.FAILED`, ...). Cancelling the task hangs the call up (CANCEL or BYE)
    before the cancellation propagates.
    """

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def place_call(self, request: CallRequest, on_answer: OnAnswer) -> CallOutcome: ...

    def trunk_down(self) -> str | None:
        """Why the trunk counts as down (the engine starts no attempts meanwhile), or None."""
        ...
