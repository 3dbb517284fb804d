"""Key presses carried in SIP INFO bodies (RFC 6086 INFO, the de facto DTMF packages).

- `application/dtmf-relay` (Cisco's, the common one): lines `Signal=5` and `Duration=160`
  (milliseconds), in any order and case, CRLF or LF;
- `application/dtmf`: the body is the key itself (`5`, `*`, `#`, `A`-`D`).

Some phones send the RFC 4733 event code instead of the key (`Signal=10` for `*`, `11` for
`#`, 12-15 for `A`-`D`); those are understood too. Anything else (a flash `!`, an empty or
unknown body) gives None: the INFO is answered as usual but no key is reported.
"""

from __future__ import annotations

from outdial.telephony.listen.events import DIGITS, DigitEvent, digit_for_code

DEFAULT_DURATION_MS = 250  # when dtmf-relay leaves Duration out (Cisco's default)
MAX_DURATION_MS = 60_000


def _key(value: str) -> str | None:
    value = value.strip().upper()
    if len(value) == 1 and value in DIGITS:
        return value
    if value.isdigit() and 10 <= int(value) <= 15:
        return digit_for_code(int(value))
    return None


def parse_info(content_type: str, body: str | bytes) -> DigitEvent | None:
    """The key press an INFO request's body carries, or None."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/dtmf":
        key = _key(body)
        return DigitEvent(key, DEFAULT_DURATION_MS, "info") if key else None
    if kind != "application/dtmf-relay":
        return None
    fields: dict[str, str] = {}
    for line in body.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            fields[name.strip().lower()] = value.strip()
    key = _key(fields.get("signal", ""))
    if key is None:
        return None
    duration = DEFAULT_DURATION_MS
    raw = fields.get("duration", "")
    if raw.isdigit():
        duration = min(int(raw), MAX_DURATION_MS)
    return DigitEvent(key, duration, "info")
