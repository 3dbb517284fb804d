"""Connecting an answered call to a second party (an agent): the result of one bridge.

Shared by the engine's queue logic and every telephony (sim, sip). `CallMedia.bridge` (see
telephony/interpreter.py) dials `destination` as a second leg while the callee's leg stays up,
relays audio both ways once it answers, and returns when the conversation is over (either
side hung up; the other leg gets BYE) or when the second leg did not answer (the callee's
leg is then still up, so the caller may try another agent or play a message).

`ring_also`: more addresses rung at the same time as `destination` (an agent's `ringall`):
the first to answer is bridged, the others get CANCEL (`BridgeResult.index` says which one
answered: 0 `destination`, n the n-th of `ring_also`). `on_answer(answer_ms)` is awaited when
the second leg answers, before the conversation (the engine records the connection then).

A second party may also be a *local leg*: one outdial holds itself instead of dialing it, the
agent's browser phone (telephony/webrtc.py). Its address is `{"type": "sip", "target":
"webrtc:<agent id>"}` (`phone_address`), made by the engine's desk for an agent whose browser
phone is open and never stored; the SIP telephony hands such a target to its `local_legs`.
A local leg is always bridged alone (never in `ring_also`).

A *nailed-up* leg (`HeldLeg`) is a local leg the telephony dialed itself: the engine's desk
calls a `nailed_up` agent once (`open_leg`) and keeps the leg between calls; each callee is
bridged to `{"type": "sip", "target": "nailed:<agent id>"}` (`nailed_address`), which answers
at once (no ring). Like `webrtc:` it is made by the desk and never stored (docs/agents.md).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from outdial.domain.address import Address, AddressType

LOCAL_PREFIX = "webrtc:"  # the target of a local leg (the agent's browser phone)
NAILED_PREFIX = "nailed:"  # the target of an agent's nailed-up leg

OnBridgeAnswer = Callable[[int], Awaitable[None]]  # the answer's call-elapsed ms


class BridgeEnd(StrEnum):
    NOT_ANSWERED = "not_answered"  # the agent leg failed/rang out; the callee leg is still up
    CALLEE = "callee"  # the callee hung up during the conversation
    AGENT = "agent"  # the agent hung up during the conversation
    DIALER = "dialer"  # outdial ended it (cancelled, shutdown, limit)


@dataclass(frozen=True, slots=True)
class BridgeResult:
    end: BridgeEnd
    sip_code: int = 0  # the agent leg's final response (200 when answered)
    answer_ms: int = 0  # call elapsed ms (callee leg clock) when the agent answered; 0 if not
    talk_ms: int = 0  # how long the two were connected
    index: int = 0  # which address answered (0: `destination`, n: `ring_also[n - 1]`)

    @property
    def connected(self) -> bool:
        return self.end is not BridgeEnd.NOT_ANSWERED


class LocalLeg(Protocol):
    """A second party outdial holds itself (the agent's browser phone). Audio crosses it as
    16-bit little-endian mono PCM at 8 kHz, in 20 ms chunks."""

    @property
    def label(self) -> str: ...

    @property
    def ended(self) -> asyncio.Future[str]:
        """Resolved (with why) when the leg is gone: the page closed, ICE or DTLS failed."""
        ...

    def attach(self, speak: Callable[[bytes], None]) -> bool:
        """Start a conversation: what the agent says goes to `speak`; False: the leg is busy
        with another conversation or gone (not answered)."""
        ...

    def hear(self, pcm: bytes) -> None:
        """The callee's audio, for the agent to hear."""
        ...

    def detach(self) -> None:
        """The conversation is over (the leg itself stays open for the next one)."""
        ...


LocalLegs = Callable[[str], LocalLeg | None]  # a `webrtc:` target -> its open leg, or None


def phone_address(agent_id: uuid.UUID) -> Address:
    """The address the desk bridges to when the agent's browser phone is open."""
    return Address(AddressType.SIP, f"{LOCAL_PREFIX}{agent_id}")


class HeldLeg(LocalLeg, Protocol):
    """A nailed-up agent leg: dialed once by the telephony and kept open between calls."""

    def hang_up(self) -> None:
        """BYE: the desk ends the leg (the agent went away or offline, shutdown)."""
        ...


# (agent id, the agent's address) -> the answered leg, or None (not answered, failed)
LegOpener = Callable[[uuid.UUID, Address], Awaitable[HeldLeg | None]]


def nailed_address(agent_id: uuid.UUID) -> Address:
    """The address the desk bridges to when the agent's nailed-up leg is open."""
    return Address(AddressType.SIP, f"{NAILED_PREFIX}{agent_id}")
