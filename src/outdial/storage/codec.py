"""Encoding of composite values stored in text columns."""

from __future__ import annotations

import json
from typing import Any

from outdial.domain.address import Address, address_from_json

# ASCII-only output: escapes keep lone surrogates or NULs from reaching the database raw.
_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode


def dump_address(value: Address | None) -> str | None:
    return None if value is None else _compact(value.to_json())


def load_address(text: str | None) -> Address | None:
    return None if text is None else address_from_json(json.loads(text))


def dump_json(value: Any) -> str:
    return _compact(value)


def load_json(text: str) -> Any:
    return json.loads(text)
