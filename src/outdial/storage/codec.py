"""Encoding of composite values stored in text columns."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from json.encoder import encode_basestring_ascii
from typing import Any

from outdial.domain.address import Address, address_from_json, address_from_parts
from outdial.domain.callwindow import CallWindow, parse_call_window
from outdial.domain.retry import RetryRule, parse_retry_rules

_esc = encode_basestring_ascii
_ADDRESS = '{"type":%s,"target":%s,"target_name":%s,"name":%s,"detail":%s}'
# ASCII-only output: escapes keep lone surrogates or NULs from reaching the database raw.
_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode


def dump_address(value: Address | None) -> str | None:
    """The same text as `_compact(value.to_json())`, built without the generic encoder
    (this runs for every destination of a bulk load)."""
    if value is None:
        return None
    return _ADDRESS % (
        _esc(value.type.value),
        _esc(value.target),
        _esc(value.target_name),
        _esc(value.name),
        _esc(value.detail),
    )


# What dump_address writes when no field needed an escape (nearly always): read without the
# generic JSON decoder, which a page of 100 targets would otherwise run 100 times.
PLAIN_ADDRESS = re.compile(
    r'\{"type":"([a-z]*)","target":"([^"\\]*)","target_name":"([^"\\]*)",'
    r'"name":"([^"\\]*)","detail":"([^"\\]*)"\}'
)


def load_address(text: str | None) -> Address | None:
    if text is None:
        return None
    plain = PLAIN_ADDRESS.fullmatch(text)
    if plain is not None:
        return address_from_parts(*plain.groups())
    return address_from_json(json.loads(text))


def dump_json(value: Any) -> str:
    return _compact(value)


def load_json(text: str) -> Any:
    return json.loads(text)


def dump_window(value: CallWindow | None) -> str:
    """A calling window as a campaigncall keeps it: JSON, `null` for none."""
    return "null" if value is None else dump_json(value.to_json())


@lru_cache(maxsize=1024)
def load_call_window(text: str | None) -> CallWindow | None:
    """An outplan's stored window (validated when it was written); cached, since the engine
    reads every running outplan each round."""
    return None if text is None else parse_call_window(json.loads(text))


@lru_cache(maxsize=256)  # one outplan's rules are read for every attempt that ends
def load_retry_rules(text: str | None) -> tuple[RetryRule, ...]:
    """An outplan's stored retry rules (validated when written; "[]": none)."""
    if not text or text == "[]":
        return ()
    return parse_retry_rules(json.loads(text))


def dump_retry_rules(rules: tuple[RetryRule, ...]) -> str:
    return json.dumps([r.to_json() for r in rules], separators=(",", ":"))


def load_sip_headers(text: str | None) -> tuple[tuple[str, str], ...]:
    """An outplan's stored SIP headers (validated when written), in their order."""
    if not text:
        return ()
    loaded = json.loads(text)
    return tuple((str(k), str(v)) for k, v in loaded.items()) if isinstance(loaded, dict) else ()
