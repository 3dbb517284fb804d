"""Keypresses from any source as one value, and the digit <-> RFC 4733 event code map."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# RFC 4733 section 3.2: events 0-9, 10 '*', 11 '#', 12-15 'A'-'D' (16 is flash, not a key)
DIGITS = "0123456789*#ABCD"
EVENT_CODES = {digit: code for code, digit in enumerate(DIGITS)}

Source = Literal["inband", "rfc4733", "info"]


@dataclass(frozen=True, slots=True)
class DigitEvent:
    """One key press, reported once when it ends (or when its end is known to be lost)."""

    digit: str  # one of DIGITS
    duration_ms: int
    source: Source
    start_ms: int | None = None  # when it began in the call's audio (None: not known)
    level_dbm0: float | None = None  # in-band: the weaker tone; RFC 4733: -volume


def digit_for_code(code: int) -> str | None:
    return DIGITS[code] if 0 <= code < len(DIGITS) else None


def code_for_digit(digit: str) -> int:
    try:
        return EVENT_CODES[digit.upper()]
    except KeyError:
        raise ValueError(f"not a DTMF digit: {digit!r}") from None
