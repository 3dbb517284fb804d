"""Webhook signatures (`X-Outdial-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`).

Like Stripe's: the HMAC-SHA256 of `<t>.<raw body>` keyed with the customer's signing secret,
one `v1` per secret that signs (after a rotation the previous secret signs beside the new one
for 24 hours). The timestamp is inside the signed bytes, so a receiver that rejects an old
`t` (more than 5 minutes) cannot be fed a recorded delivery again. `verify` is what a Python
receiver runs; docs/events.md shows it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

HEADER = "X-Outdial-Signature"
TOLERANCE_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256, with `secret`, of `<timestamp>.<body>`."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """`t=<timestamp>,v1=<hex>` with one `v1` per secret, the newest first."""
    return ",".join([f"t={timestamp}", *(f"v1={sign(s, timestamp, body)}" for s in secrets)])


class SignatureError(ValueError):
    """The header is malformed, too old, or no `v1` matches the secret."""


def verify(
    header: str,
    body: bytes,
    secret: str,
    *,
    tolerance_s: int = TOLERANCE_S,
    now: float | None = None,
) -> int:
    """Check a delivery; returns its timestamp. Raises SignatureError when the header is
    malformed, `t` is further than `tolerance_s` from now, or no `v1` was made with `secret`."""
    stamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            stamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if stamp is None or not candidates:
        raise SignatureError("the signature header has no t= or no v1=")
    if abs((time.time() if now is None else now) - stamp) > tolerance_s:
        raise SignatureError("the signature is too old (or from the future)")
    expected = sign(secret, stamp, body)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureError("no v1 signature matches the secret")
    return stamp
