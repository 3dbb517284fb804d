"""G.711 decode to 16-bit PCM by table lookup, for whole RTP payloads at once.

The per-sample reference is `outdial.telephony.sip.g711` (ITU-T G.711); this module turns it
into two 256-entry tables so a 160-byte payload decodes in one numpy indexing (about 1 µs
instead of about 40 µs in a Python loop).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

from outdial.telephony.listen.frames import Samples

PCMU = 0
PCMA = 8
AUDIO_PAYLOAD_TYPES = frozenset({PCMU, PCMA})


@cache
def table(payload_type: int) -> Samples:
    """The 16-bit sample of every code of `payload_type` (0 μ-law, 8 A-law)."""
    if payload_type not in AUDIO_PAYLOAD_TYPES:
        raise ValueError(f"not a G.711 payload type: {payload_type}")
    # Imported here, not at the top: `outdial.telephony.sip` imports this package (the calls
    # listen), so a module-level import would make the two packages import each other.
    from outdial.telephony.sip.g711 import alaw_decode_sample, ulaw_decode_sample

    fn = alaw_decode_sample if payload_type == PCMA else ulaw_decode_sample
    out = np.array([fn(code) for code in range(256)], dtype=np.int16)
    out.flags.writeable = False
    return out


def silence(payload_type: int, samples: int) -> bytes:
    """G.711 silence (the code of 0): 0xFF in μ-law, 0xD5 in A-law."""
    return bytes([0xD5 if payload_type == PCMA else 0xFF]) * samples


def decode(payload: bytes, payload_type: int) -> Samples:
    """A G.711 payload (one byte per sample) as int16 samples."""
    return table(payload_type)[np.frombuffer(payload, dtype=np.uint8)]


def decode_frames(coded: Sequence[tuple[bytes, int]]) -> Samples:
    """Many frames of 160 codes (with their payload types) as one (n, 160) int16 array, in
    one lookup."""
    codes = np.frombuffer(b"".join(c for c, _ in coded), dtype=np.uint8).reshape(len(coded), -1)
    kinds = {pt for _, pt in coded}
    if len(kinds) == 1:
        return table(kinds.pop())[codes]
    alaw = np.array([pt == PCMA for _, pt in coded], dtype=np.intp)[:, None]
    return _both()[alaw, codes]


@cache
def _both() -> Samples:
    return np.stack([table(PCMU), table(PCMA)])
