"""Campaign actions: VoIPBIN flow actions `{id, next_id, type, option}` played on answer."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from outdial.domain import action_options
from outdial.domain.errors import InvalidArgument
from outdial.domain.ids import NIL_UUID, new_id
from outdial.domain.media import PREFIX as MEDIA_PREFIX
from outdial.domain.media import media_id
from outdial.domain.netpolicy import NetworkPolicy
from outdial.domain.text import check_name, check_unicode

MAX_ACTIONS = 100
MAX_OPTION_DEPTH = 16
MAX_OPTION_BYTES = 64 * 1024
PLAYABLE = frozenset({"talk", "play", "sleep", "hangup"})
# Option keys that hold a time in ms (VoIPBIN's `duration`, `timeout`, `*_timeout`, ...):
# none may be longer than the longest call.
_TIME_KEYS = frozenset({"duration", "timeout", "duration_ms", "timeout_ms"})
_TIME_SUFFIXES = ("_duration", "_timeout")


@dataclass(frozen=True, slots=True)
class ActionRules:
    """What the operator allows actions to do: which hosts `play` URLs may name (literal
    addresses checked here; names when fetched) and the longest time any action may take
    (the longest call, OUTDIAL_ENGINE_MAX_CALL)."""

    network: NetworkPolicy = field(default_factory=NetworkPolicy)
    max_time_ms: int = 3_600_000


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


def parse_actions(
    raw: Any, field: str = "actions", rules: ActionRules | None = None
) -> list[dict[str, Any]]:
    """Validate and normalise a list of actions (at most MAX_ACTIONS); each gets an id when
    it has none."""
    rules = rules or ActionRules()
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
        try:
            out.append(_parse_one(item, where, rules))
        except InvalidArgument as exc:
            named = _given_id(item)
            if named is None:
                raise
            raise InvalidArgument(f"{exc.message} (action id {named})", reason=exc.reason) from None
    action_options.check_targets(out, field)
    return out


def _given_id(item: dict[str, Any]) -> str | None:
    """The action's own id, when the caller gave a valid one (to name it in errors)."""
    given = item.get("id")
    if not isinstance(given, str):
        return None
    try:
        return str(uuid.UUID(given))
    except ValueError:
        return None


def _parse_one(item: dict[str, Any], where: str, rules: ActionRules) -> dict[str, Any]:
    kind = item.get("type")
    if not isinstance(kind, str) or not kind.strip() or len(kind) > 64:
        raise InvalidArgument(f"{where}.type must be a non-empty string")
    check_name(kind, f"{where}.type")
    action_options.check_type(kind, where)
    option = item.get("option", {})
    if option is None:
        option = {}
    if not isinstance(option, dict):
        raise InvalidArgument(f"{where}.option must be an object")
    _check_json(option, f"{where}.option", 1)
    if len(json.dumps(option, ensure_ascii=False).encode("utf-8")) > MAX_OPTION_BYTES:
        raise InvalidArgument(f"{where}.option is larger than {MAX_OPTION_BYTES} bytes")
    _check_option(kind, option, where, rules)
    return {
        "id": _uuid_field(item, "id", where, new_id()),
        "next_id": _uuid_field(item, "next_id", where, NIL_UUID),
        "type": kind,
        "option": option,
    }


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


def _check_option(kind: str, option: dict[str, Any], where: str, rules: ActionRules) -> None:
    action_options.check_option(kind, option, where, rules.network)
    for key, value in option.items():
        if (key in _TIME_KEYS or key.endswith(_TIME_SUFFIXES)) and _is_number(value):
            if value < 0 or value > rules.max_time_ms:
                raise InvalidArgument(
                    f"{where}.option.{key} must be between 0 and {rules.max_time_ms} ms "
                    "(the longest call)"
                )
    if kind == "play":
        urls = option.get("stream_urls", [])
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise InvalidArgument(f"{where}.option.stream_urls must be a list of strings")
        for n, url in enumerate(urls):
            check_play_url(url, f"{where}.option.stream_urls[{n}]", rules.network)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_play_url(url: str, where: str, network: NetworkPolicy) -> None:
    """`media:<id>` (an uploaded WAV file) or an http(s) URL of printable ASCII whose host,
    when it is an address literal, the policy allows. Local paths and file:// are refused:
    nothing on the server's disk can be played through the API."""
    if url.startswith(MEDIA_PREFIX):
        if media_id(url) is None:
            raise InvalidArgument(f"{where} must be {MEDIA_PREFIX}<uuid>", reason="INVALID_URI")
        return
    action_options.check_http_url(
        url, where, network, f"an http(s) URL or {MEDIA_PREFIX}<id> (an uploaded WAV file)"
    )


def media_refs(actions: Iterable[dict[str, Any]]) -> set[uuid.UUID]:
    """The uploaded media the `play` actions name (each must be the customer's)."""
    found: set[uuid.UUID] = set()
    for action in actions:
        if action.get("type") != "play":
            continue
        for url in action.get("option", {}).get("stream_urls", []):
            ref = media_id(url) if isinstance(url, str) else None
            if ref is not None:
                found.add(ref)
    return found
