"""JSON bytes of a wire body: orjson (a 100-row page spends 0.05 ms there against 0.6 ms in
the standard library's encoder). Bodies may hold `orjson.Fragment` values: JSON text stored
as is (see target_read_model.py). A body orjson refuses (an integer past 64 bits, a lone
surrogate) falls back to the standard encoder, escaped to ASCII."""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(content: Any) -> bytes:
    try:
        return orjson.dumps(content)
    except orjson.JSONEncodeError:
        return _fallback(content).encode("ascii")


def _default(value: Any) -> Any:
    if isinstance(value, orjson.Fragment):
        return json.loads(orjson.dumps(value))
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_fallback = json.JSONEncoder(
    ensure_ascii=True,
    check_circular=False,
    allow_nan=False,
    separators=(",", ":"),
    default=_default,
).encode
