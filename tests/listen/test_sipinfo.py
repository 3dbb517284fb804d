"""Key presses in SIP INFO bodies: application/dtmf-relay and application/dtmf."""

from __future__ import annotations

import pytest

from outdial.telephony.listen import DigitEvent, parse_info


@pytest.mark.parametrize(
    ("content_type", "body", "digit", "duration"),
    [
        ("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", "5", 160),
        ("Application/DTMF-Relay; charset=utf-8", "signal= #\nduration = 250", "#", 250),
        ("application/dtmf-relay", b"Duration=100\r\nSignal=*\r\n", "*", 100),
        ("application/dtmf-relay", "Signal=11\r\nDuration=80\r\n", "#", 80),  # event code
        ("application/dtmf-relay", "Signal=d\r\n", "D", 250),  # no Duration: the default
        ("application/dtmf-relay", "Signal=7\r\nDuration=999999\r\n", "7", 60_000),
        ("application/dtmf", "9", "9", 250),
        ("application/dtmf", " 10\r\n", "*", 250),
    ],
)
def test_keys_are_read(content_type: str, body: str | bytes, digit: str, duration: int) -> None:
    assert parse_info(content_type, body) == DigitEvent(digit, duration, "info")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/dtmf-relay", "Signal=!\r\nDuration=100\r\n"),  # hook flash
        ("application/dtmf-relay", "Duration=100\r\n"),
        ("application/dtmf-relay", "Signal=12345\r\n"),
        ("application/dtmf-relay", ""),
        ("application/dtmf", "55"),
        ("application/dtmf", "E"),
        ("application/media_control+xml", "<media_control/>"),
        ("text/plain", "Signal=5"),
    ],
)
def test_other_bodies_are_no_key(content_type: str, body: str) -> None:
    assert parse_info(content_type, body) is None
