"""The options of each VoIPBIN action type (bin-flow-manager `models/action/option.go`),
checked when a campaign's actions are created or changed (issue 12 item 7).

VoIPBIN decodes an option into a typed struct and ignores keys it does not know; so do we.
A known key with a value of the wrong type or out of range is a 400 naming the action and
the field (`actions[2].option.machine_handle ...`). Action ids named by `goto`, `branch` and
the `condition_*` actions must be actions of the same list."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from outdial.domain.errors import InvalidArgument
from outdial.domain.ids import NIL_UUID
from outdial.domain.netpolicy import BlockedAddress, NetworkPolicy

# VoIPBIN's TypeListAll plus `block` and `empty`, which it also names.
KNOWN_TYPES = frozenset(
    {
        "amd", "answer", "ai_summary", "ai_talk", "beep", "block", "branch", "call",
        "condition_call_digits", "condition_call_status", "condition_datetime",
        "condition_variable", "confbridge_join", "conference_join", "connect",
        "conversation_send", "digits_receive", "digits_send", "echo", "email_send", "empty",
        "external_media_start", "external_media_stop", "fetch", "fetch_flow", "goto", "hangup",
        "message_send", "mute", "play", "queue_join", "recording_start", "recording_stop",
        "sleep", "stop", "stream_echo", "talk", "transcribe_start", "transcribe_stop",
        "transcribe_recording", "variable_set", "webhook_send",
    }
)  # fmt: skip
# Types that need no call leg (VoIPBIN's MapRequiredMediasByType: none / non_rtc): the only
# ones a `flow` campaign runs.
NON_CALL_TYPES = frozenset(
    {
        "ai_summary", "block", "branch", "call", "condition_datetime", "condition_variable",
        "conversation_send", "email_send", "empty", "fetch", "fetch_flow", "goto",
        "message_send", "stop", "transcribe_recording", "variable_set", "webhook_send",
    }
)  # fmt: skip
DTMF_KEYS = frozenset("0123456789*#ABCD")
CONDITIONS = ("==", "!=", ">", ">=", "<", "<=")
MAX_URL = 2000
MAX_DIGITS = 100


def _where(where: str, key: str) -> str:
    return f"{where}.option.{key}"


def _string(option: dict[str, Any], key: str, where: str, choices: Iterable[str] = ()) -> str:
    value = option.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidArgument(f"{_where(where, key)} must be a string")
    allowed = tuple(choices)
    if allowed and value not in allowed:
        raise InvalidArgument(
            f"{_where(where, key)} must be one of {', '.join(repr(c) for c in allowed)}"
        )
    return value


def _bool(option: dict[str, Any], key: str, where: str) -> bool:
    value = option.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidArgument(f"{_where(where, key)} must be true or false")
    return value


def _int(option: dict[str, Any], key: str, where: str, low: int, high: int | None = None) -> int:
    value = option.get(key, 0)
    if value is None:
        value = 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    bad = isinstance(value, bool) or not isinstance(value, int)
    if bad or value < low or (high is not None and value > high):
        span = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidArgument(f"{_where(where, key)} must be an integer {span}")
    return int(value)


def _uuid(option: dict[str, Any], key: str, where: str) -> uuid.UUID:
    value = option.get(key, "")
    if value is None or value == "":
        return NIL_UUID
    if not isinstance(value, str):
        raise InvalidArgument(f"{_where(where, key)} must be a UUID string")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument(
            f"{_where(where, key)} is not a valid UUID", reason="INVALID_ID"
        ) from None


def _keys(value: str, field: str, allowed: frozenset[str], most: int) -> None:
    if len(value) > most or any(c not in allowed for c in value):
        raise InvalidArgument(
            f"{field} must be at most {most} of the keys {''.join(sorted(allowed))}"
        )


def check_http_url(
    url: str, where: str, network: NetworkPolicy, expected: str = "an http(s) URL"
) -> None:
    """An http(s) URL of printable ASCII whose host, when it is an address literal, the
    policy allows (names are checked again when the request is made). `expected` names
    what the field must be in the error."""
    if len(url) > MAX_URL or not all(" " < c < "\x7f" for c in url):
        raise InvalidArgument(
            f"{where} must be printable ASCII without spaces, at most {MAX_URL} characters",
            reason="INVALID_URI",
        )
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port, parts = None, urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument(f"{where} must be {expected}", reason="INVALID_URI")
    try:
        network.check_literal(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    except BlockedAddress as exc:
        kind = exc.reason.replace("_", " ")
        raise InvalidArgument(f"{where} points at a {kind} address", reason="INVALID_URI") from None


# ---- per type -------------------------------------------------------------------------------
Check = Callable[[dict[str, Any], str, NetworkPolicy], None]


def _talk(o: dict[str, Any], w: str, _: NetworkPolicy) -> None:
    for key in ("text", "language", "provider", "voice_id"):
        _string(o, key, w)
    _string(o, "digits_handle", w, ("", "next"))
    _bool(o, "async", w)


def _sleep(o: dict[str, Any], w: str, _: NetworkPolicy) -> None:
    _int(o, "duration", w, 0)


def _hangup(o: dict[str, Any], w: str, _: NetworkPolicy) -> None:
    _string(o, "reason", w)
    _uuid(o, "reference_id", w)


# outdial's own `amd` options: the detector's thresholds, named as Asterisk's AMD() names them
# (ms, or a count of words), each 0 or absent for the tuned default (telephony/listen/amd.py).
AMD_THRESHOLDS: dict[str, int] = {  # option -> the largest value allowed
    "initial_silence": 60_000,
    "greeting": 60_000,
    "after_greeting_silence": 60_000,
    "total_analysis_time": 60_000,
    "min_word_length": 60_000,
    "between_words_silence": 60_000,
    "maximum_number_of_words": 100,
    "maximum_word_length": 60_000,
}


def amd_thresholds(option: dict[str, Any], where: str = "amd") -> dict[str, int]:
    """The thresholds an `amd` action sets (0 and absent, the default, left out), each checked."""
    chosen = {key: _int(option, key, where, 0, high) for key, high in AMD_THRESHOLDS.items()}
    return {key: value for key, value in chosen.items() if value}


def _amd(o: dict[str, Any], w: str, _: NetworkPolicy) -> None:
    _string(o, "machine_handle", w, ("", "hangup", "continue"))
    _bool(o, "async", w)
    _bool(o, "wait_for_beep", w)
    amd_thresholds(o, w)


def _digits_receive(o: dict[str, Any], w: str, _: NetworkPolicy) -> None:
    _int(o, "duration", w, 0)
    _keys(_string(o, "key", w), _where(w, "key"), DTMF_KEYS, 16)
    _int(o, "length", w, 0, MAX_DIGITS)


def _digits_send(o: dict[str, Any], w: str, _: NetworkPolicy) -> None:
    digits = _string(o, "digits", w)
    if not digits:
        raise InvalidArgument(f"{_where(w, 'digits')} must name at least one key")
    _keys(digits, _where(w, "digits"), DTMF_KEYS, MAX_DIGITS)
    duration = _int(o, "duration", w, 0, 1000)
    if 0 < duration < 100:
        raise InvalidArgument(f"{_where(w, 'duration')} must be between 100 and 1000 (ms)")
    _int(o, "interval", w, 0, 5000)


def _condition_call_digits(o: dict[str, Any], w: str, _: NetworkPolicy) -> None:
    _int(o, "length", w, 0, MAX_DIGITS)
    _keys(_string(o, "key", w), _where(w, "key"), DTMF_KEYS, 16)
    _uuid(o, "false_target_id", w)


def _condition_datetime(o: dict[str, Any], w: str, _: NetworkPolicy) -> None:
    _string(o, "condition", w, ("", *CONDITIONS))
    _int(o, "minute", w, 0, 59)
    _int(o, "hour", w, 0, 23)
    _int(o, "day", w, 0, 31)
    _int(o, "month", w, 0, 12)
    days = o.get("weekdays", [])
    if days is None:
        days = []
    if not isinstance(days, list) or any(
        isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in days
    ):
        raise InvalidArgument(f"{_where(w, 'weekdays')} must be a list of 0 (Sunday) to 6")
    _uuid(o, "false_target_id", w)


def _condition_variable(o: dict[str, Any], w: str, _: NetworkPolicy) -> None:
    _string(o, "condition", w, ("", *CONDITIONS))
    if not _string(o, "variable", w):
        raise InvalidArgument(f"{_where(w, 'variable')} must name a variable")
    _string(o, "value_type", w, ("", "string", "number", "length"))
    _string(o, "value_string", w)
    number = o.get("value_number", 0)
    if number is not None and (isinstance(number, bool) or not isinstance(number, int | float)):
        raise InvalidArgument(f"{_where(w, 'value_number')} must be a number")
    _int(o, "value_length", w, 0)
    _uuid(o, "false_target_id", w)


def _branch(o: dict[str, Any], w: str, _: NetworkPolicy) -> None:
    _string(o, "variable", w)
    _uuid(o, "default_target_id", w)
    targets = o.get("target_ids", {})
    if targets is None:
        targets = {}
    if not isinstance(targets, dict):
        raise InvalidArgument(f"{_where(w, 'target_ids')} must be an object of value -> id")
    for key, value in targets.items():
        if not isinstance(value, str):
            raise InvalidArgument(f"{w}.option.target_ids.{key} must be an action id")
        try:
            uuid.UUID(value)
        except ValueError:
            raise InvalidArgument(
                f"{w}.option.target_ids.{key} is not a valid UUID", reason="INVALID_ID"
            ) from None


def _goto(o: dict[str, Any], w: str, _: NetworkPolicy) -> None:
    if _uuid(o, "target_id", w) == NIL_UUID:
        raise InvalidArgument(f"{_where(w, 'target_id')} must name an action of the list")
    _int(o, "loop_count", w, 0, 1000)


def _variable_set(o: dict[str, Any], w: str, _: NetworkPolicy) -> None:
    if not _string(o, "key", w):
        raise InvalidArgument(f"{_where(w, 'key')} must name a variable")
    _string(o, "value", w)


def _recording_start(o: dict[str, Any], w: str, _: NetworkPolicy) -> None:
    _string(o, "format", w, ("", "wav"))
    _int(o, "end_of_silence", w, 0, 3600)
    end_key = _string(o, "end_of_key", w)
    if end_key not in ("", "none", "any") and (len(end_key) != 1 or end_key not in DTMF_KEYS):
        raise InvalidArgument(f"{_where(w, 'end_of_key')} must be none, any or one key")
    _int(o, "duration", w, 0, 3600)
    _bool(o, "beep_start", w)
    _uuid(o, "on_end_flow_id", w)


def _webhook_send(o: dict[str, Any], w: str, network: NetworkPolicy) -> None:
    _bool(o, "sync", w)
    uri = _string(o, "uri", w)
    check_http_url(uri, _where(w, "uri"), network)
    _string(o, "method", w, ("", "POST", "GET", "PUT", "DELETE"))
    _string(o, "data_type", w)
    data = o.get("data", "")
    if data is not None and not isinstance(data, str | dict | list):
        raise InvalidArgument(f"{_where(w, 'data')} must be a string")


CHECKS: dict[str, Check] = {
    "talk": _talk,
    "sleep": _sleep,
    "hangup": _hangup,
    "amd": _amd,
    "digits_receive": _digits_receive,
    "digits_send": _digits_send,
    "condition_call_digits": _condition_call_digits,
    "condition_datetime": _condition_datetime,
    "condition_variable": _condition_variable,
    "branch": _branch,
    "goto": _goto,
    "variable_set": _variable_set,
    "recording_start": _recording_start,
    "webhook_send": _webhook_send,
}


def check_type(kind: str, where: str) -> None:
    if kind not in KNOWN_TYPES:
        raise InvalidArgument(
            f"{where}.type {kind!r} is not a VoIPBIN action type (bin-flow-manager's list)"
        )


def check_option(kind: str, option: dict[str, Any], where: str, network: NetworkPolicy) -> None:
    check = CHECKS.get(kind)
    if check is not None:
        check(option, where, network)


def _targets(action: dict[str, Any]) -> list[tuple[str, Any]]:
    option = action.get("option") or {}
    kind = action.get("type")
    if kind == "goto":
        return [("target_id", option.get("target_id"))]
    if kind == "branch":
        found = [("default_target_id", option.get("default_target_id"))]
        found += [(f"target_ids.{k}", v) for k, v in (option.get("target_ids") or {}).items()]
        return found
    if kind in ("condition_call_digits", "condition_datetime", "condition_variable"):
        return [("false_target_id", option.get("false_target_id"))]
    return []


def check_targets(actions: list[dict[str, Any]], field: str = "actions") -> None:
    """Ids that `goto`, `branch` and `condition_*` jump to are actions of this list."""
    ids = {a["id"] for a in actions}
    for n, action in enumerate(actions):
        nxt = action.get("next_id")
        if nxt and nxt != str(NIL_UUID) and nxt not in ids:
            raise InvalidArgument(
                f"{field}[{n}].next_id {nxt} is not the id of an action in {field}"
            )
        for key, value in _targets(action):
            if value in (None, "") or str(uuid.UUID(value)) == str(NIL_UUID):
                continue
            if str(uuid.UUID(value)) not in ids:
                raise InvalidArgument(
                    f"{field}[{n}].option.{key} {value} is not the id of an action in {field}"
                )
