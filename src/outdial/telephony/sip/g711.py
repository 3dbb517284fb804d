"""G.711 μ-law (PCMU) and A-law (PCMA) for 16-bit signed little-endian PCM (ITU-T G.711).

Single-sample functions are the reference; `encode` maps a whole buffer through a 64 Ki
lookup table built on first use (about 50 ms), so a minute of audio encodes in milliseconds.
"""

from __future__ import annotations

import sys
from array import array
from functools import cache

_ULAW_BIAS = 0x21  # in the 14-bit domain of the encoder
_ULAW_CLIP = 8159
_ALAW_SEGMENT_ENDS = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)

ULAW_SILENCE = 0xFF
ALAW_SILENCE = 0xD5


def ulaw_encode_sample(sample: int) -> int:
    pcm = sample >> 2  # μ-law works on 14-bit samples
    if pcm < 0:
        pcm, mask = -pcm, 0x7F
    else:
        mask = 0xFF
    pcm = min(pcm, _ULAW_CLIP) + _ULAW_BIAS
    segment = pcm.bit_length() - 6  # pcm >= 0x21, so bit_length >= 6
    if segment >= 8:
        return 0x7F ^ mask
    return (((segment << 4) | ((pcm >> (segment + 1)) & 0x0F)) ^ mask) & 0xFF


def ulaw_decode_sample(code: int) -> int:
    code = ~code & 0xFF
    exponent = (code >> 4) & 0x07
    magnitude = ((((code & 0x0F) << 3) + 0x84) << exponent) - 0x84
    return -magnitude if code & 0x80 else magnitude


def alaw_encode_sample(sample: int) -> int:
    pcm = sample >> 3  # G.711 A-law works on 13-bit samples
    if pcm >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        pcm = -pcm - 1
    segment = next((i for i, end in enumerate(_ALAW_SEGMENT_ENDS) if pcm <= end), 8)
    if segment >= 8:
        return 0x7F ^ mask
    value = segment << 4
    value |= (pcm >> 1 if segment < 2 else pcm >> segment) & 0x0F
    return value ^ mask


def alaw_decode_sample(code: int) -> int:
    code ^= 0x55
    magnitude = (code & 0x0F) << 4
    segment = (code & 0x70) >> 4
    if segment == 0:
        magnitude += 8
    else:
        magnitude = (magnitude + 0x108) << (segment - 1)
    return magnitude if code & 0x80 else -magnitude


@cache
def _table(alaw: bool) -> bytes:
    """Code for every 16-bit value, indexed by the value read as unsigned."""
    encode = alaw_encode_sample if alaw else ulaw_encode_sample
    return bytes(encode(u - 65536 if u >= 32768 else u) for u in range(65536))


def _samples(pcm: bytes, signed: bool) -> array[int]:
    values = array("h" if signed else "H")
    values.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":  # pragma: no cover - PCM in WAV is little-endian
        values.byteswap()
    return values


def encode(pcm: bytes, payload_type: int) -> bytes:
    """Encode 16-bit LE PCM: payload type 0 gives μ-law, 8 gives A-law."""
    table = _table(payload_type == 8)
    return bytes(map(table.__getitem__, _samples(pcm, signed=False)))


def decode(payload: bytes, payload_type: int) -> bytes:
    """Decode to 16-bit LE PCM (used by tests and the answering peer)."""
    fn = alaw_decode_sample if payload_type == 8 else ulaw_decode_sample
    out = array("h", (fn(b) for b in payload))
    if sys.byteorder == "big":  # pragma: no cover
        out.byteswap()
    return out.tobytes()


@cache
def transcode_table(source: int, target: int) -> bytes:
    """A `bytes.translate` table from one G.711 law to the other: every code decoded to PCM and
    encoded again, so a payload changes codec at C speed when a re-INVITE changes it."""
    if source == target:
        return bytes(range(256))
    decode_one = alaw_decode_sample if source == 8 else ulaw_decode_sample
    encode_one = alaw_encode_sample if target == 8 else ulaw_encode_sample
    return bytes(encode_one(decode_one(code)) for code in range(256))


def silence(payload_type: int, samples: int) -> bytes:
    return bytes([ALAW_SILENCE if payload_type == 8 else ULAW_SILENCE]) * samples
