"""Campaign actions: VoIPBIN flow actions `{id, next_id, type, option}` played on answer."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

from outdial.domain.errors import InvalidArgument
from outdial.domain.ids import NIL_UUID, new_id
from outdial.domain.text import check_name, check_unicode

MAX_ACTIONS = 100
MAX_OPTION_DEPTH = 16
MAX_OPTION_BYTES = 64 * 1024
PLAYABLE = frozenset({"talk", "play", "sleep", "hangup"})


def _uuid_field(item: dict[str, Any], key: str, field: str, default: uuid.UUID) -> str:
    value = item.get(key)
    if value is None or value == "":
        return str(default)
    if not isinstance(value, str):
        raise InvalidArgument(f"{field}.{key} must be a UUID string")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidArgument(f"{field}.{key} is not a valid UUID", reason="INVALID_ID") from None


def parse_actions(raw: Any, field: str = "actions") -> list[dict[str, Any]]:
    """Validate and normalise a list of actions; each gets an id when it has none."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidArgument(f"{field} must be a list")
    if len(raw) > MAX_ACTIONS:
        raise InvalidArgument(f"{field} has more than {MAX_ACTIONS} actions")
    out = []
    for n, item in enumerate(raw):
        where = f"{field}[{n}]"
        if not isinstance(item, dict):
            raise InvalidArgument(f"{where} must be an object")
        kind = item.get("type")
        if not isinstance(kind, str) or not kind.strip() or len(kind) > 64:
            raise InvalidArgument(f"{where}.type must be a non-empty string")
        check_name(kind, f"{where}.type")
        option = item.get("option", {})
        if option is None:
            option = {}
        if not isinstance(option, dict):
            raise InvalidArgument(f"{where}.option must be an object")
        _check_json(option, f"{where}.option", 1)
        if len(json.dumps(option, ensure_ascii=False).encode("utf-8")) > MAX_OPTION_BYTES:
            raise InvalidArgument(f"{where}.option is larger than {MAX_OPTION_BYTES} bytes")
        _check_option(kind, option, where)
        out.append(
            {
                "id": _uuid_field(item, "id", where, new_id()),
                "next_id": _uuid_field(item, "next_id", where, NIL_UUID),
                "type": kind,
                "option": option,
            }
        )
    return out


def _check_json(value: Any, where: str, depth: int) -> None:
    """Free-form JSON that can be stored and sent back: finite numbers, valid Unicode
    strings without NUL, nesting at most MAX_OPTION_DEPTH deep."""
    if depth > MAX_OPTION_DEPTH:
        raise InvalidArgument(f"{where} is nested deeper than {MAX_OPTION_DEPTH} levels")
    if isinstance(value, str):
        check_unicode(value, where)
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgument(f"{where} must not be NaN or infinite")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json(key, where, depth)
            _check_json(item, f"{where}.{key}" if len(key) < 64 else where, depth + 1)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            _check_json(item, f"{where}[{n}]", depth + 1)


def _check_option(kind: str, option: dict[str, Any], where: str) -> None:
    if kind == "talk" and not isinstance(option.get("text", ""), str):
        raise InvalidArgument(f"{where}.option.text must be a string")
    if kind == "sleep":
        duration = option.get("duration", 0)
        if isinstance(duration, bool) or not isinstance(duration, int) or duration < 0:
            raise InvalidArgument(f"{where}.option.duration must be a non-negative integer (ms)")
    if kind == "play":
        urls = option.get("stream_urls", [])
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise InvalidArgument(f"{where}.option.stream_urls must be a list of strings")
