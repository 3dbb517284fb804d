"""The test number plan (SPEC 5): what a simulated or test far end does for a number."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class FarEnd(str, Enum):
    ANSWER = "answer"
    BUSY = "busy"  # 486 Busy Here
    UNAVAILABLE = "unavailable"  # 480 Temporarily Unavailable
    DECLINE = "decline"  # 603 Decline
    SERVICE_UNAVAILABLE = "service_unavailable"  # 503 Service Unavailable
    NEVER_ANSWER = "never_answer"  # rings until the caller gives up
    MACHINE = "machine"  # 777: an answering machine (greeting, beep, silence)
    HUMAN = "human"  # 778: "Hello?", then listens
    SILENT = "silent"  # 779: answers and says nothing
    KEYPRESS = "keypress"  # 776: a short greeting, then presses the number's 4th digit


@dataclass(frozen=True, slots=True)
class Behaviour:
    far_end: FarEnd
    sip_code: int | None  # the final response the far end sends, None when it answers or rings


_PLAN: dict[str, Behaviour] = {
    "486": Behaviour(FarEnd.BUSY, 486),
    "480": Behaviour(FarEnd.UNAVAILABLE, 480),
    "603": Behaviour(FarEnd.DECLINE, 603),
    "503": Behaviour(FarEnd.SERVICE_UNAVAILABLE, 503),
    "408": Behaviour(FarEnd.NEVER_ANSWER, None),
    "777": Behaviour(FarEnd.MACHINE, None),
    "778": Behaviour(FarEnd.HUMAN, None),
    "779": Behaviour(FarEnd.SILENT, None),
    "776": Behaviour(FarEnd.KEYPRESS, None),
}
_ANSWER = Behaviour(FarEnd.ANSWER, None)


def behaviour_for(number_or_user: str) -> Behaviour:
    """Read the first three digits after an optional `+` (a tel number or a SIP user part)."""
    digits = number_or_user.removeprefix("+")[:3]
    return _PLAN.get(digits, _ANSWER)


@dataclass(frozen=True, slots=True)
class Listening:
    """What an answered far end of the plan says, in ms after the answer, and what a listener
    should conclude (the simulated telephony reports these; the answering peer plays them)."""

    greeting_start_ms: int = 0
    greeting_ms: int = 0  # 0: no greeting
    beep_start_ms: int = 0
    beep_ms: int = 0  # 0: no beep (777: 500 ms of 1 kHz after the greeting)
    amd: str = "notsure"  # human | machine | notsure
    amd_ms: int = 2500
    drop_cue: str = "timeout"  # beep | silence | timeout (voicemail drop, `wait_for_beep`)
    drop_ms: int = 30_000
    key: str = ""  # 776: the key pressed
    key_after_ms: int = 2000  # after the first action starts


BEEP_HZ = 1000
AMD_HUMAN_SILENCE_MS = 800  # quiet after a short greeting that makes a human
AMD_MACHINE_VOICE_MS = 1500  # voice that makes a machine
AMD_INITIAL_SILENCE_MS = 2500  # no voice at all: notsure
DROP_SILENCE_MS = 1500  # the greeting is over without a beep
DROP_TIMEOUT_MS = 30_000


def listening_for(number_or_user: str) -> Listening:
    """The far end's script for a number answered by the plan (777/778/779/776, anything else
    silent). The 777 greeting lasts 4-8 s, chosen from the number's digits."""
    digits = "".join(c for c in number_or_user.removeprefix("+") if c.isdigit())
    far_end = behaviour_for(number_or_user).far_end
    if far_end is FarEnd.MACHINE:
        start, greeting = 600, 4000 + (int(digits[3:] or "0") % 41) * 100
        beep = start + greeting + 100
        return Listening(start, greeting, beep, 500, "machine", start + AMD_MACHINE_VOICE_MS,
                         "beep", beep + 500 + 60)  # fmt: skip
    if far_end in (FarEnd.HUMAN, FarEnd.KEYPRESS):
        start, greeting = 400, 700
        end = start + greeting
        key = digits[3] if far_end is FarEnd.KEYPRESS and len(digits) > 3 else ""
        return Listening(start, greeting, amd="human", amd_ms=end + AMD_HUMAN_SILENCE_MS,
                         drop_cue="silence", drop_ms=end + DROP_SILENCE_MS, key=key)  # fmt: skip
    return Listening(amd_ms=AMD_INITIAL_SILENCE_MS, drop_ms=DROP_TIMEOUT_MS)
