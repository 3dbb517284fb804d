"""The control flow of a list of VoIPBIN actions, without I/O (shared by calls and flow campaigns).

A `Flow` walks the actions `{id, next_id, type, option}`: after an action comes the one its
`next_id` names (when set, not the nil UUID, and present), else the next in the list. The
control actions run inside the flow and never reach the caller:

- `variable_set` (`key`, `value`): sets a variable (the value is substituted first);
- `branch` (`variable`, default `voipbin.call.digits`; `target_ids` value -> action id;
  `default_target_id`): jumps to the target for the variable's value, else the default, else
  goes on with the next action;
- `goto` (`target_id`, `loop_count`): jumps to the target at most `loop_count` times (counted
  per goto action), then goes on with the next action;
- `condition_call_digits` (`length`, `key`, `false_target_id`): true when the digits received
  (`voipbin.call.digits`) are at least `length` long or contain `key`;
- `condition_datetime` (`condition` one of == != > >= < <=, `minute`, `hour`, `day`, `month`,
  `weekdays`, `false_target_id`): true when every given field of the current UTC time compares
  to the option's value as `current <condition> value` (a missing field, -1, or 0 for `day` /
  `month`, is any; `weekdays` lists the allowed days, Sunday 0); false jumps to
  `false_target_id` (or goes on when it is not set);
- `condition_variable` (`condition`, `variable`, `value_type` string|number|length,
  `value_string`, `value_number`, `value_length`, `false_target_id`);
- `stop` ends the flow; `empty` does nothing.

Every other action is returned by `next()` with its option's strings substituted: `${name}`
becomes the variable's value ("" when unset). `DigitGather` is the pure state of one
`digits_receive` (`duration`, `key`, `length`). A flow runs at most `max_steps` actions, so a
loop always ends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

NIL_ID = "00000000-0000-0000-0000-000000000000"
DIGITS_VARIABLE = "voipbin.call.digits"
CONTROL_TYPES = frozenset(
    {
        "variable_set",
        "branch",
        "goto",
        "condition_call_digits",
        "condition_datetime",
        "condition_variable",
        "stop",
        "empty",
    }
)
MAX_STEPS = 1000
DEFAULT_DIGITS_DURATION_MS = 5000
_VARIABLE = re.compile(r"\$\{([^{}]{1,200})\}")
_COMPARE = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def substitute(value: Any, variables: Mapping[str, str]) -> Any:
    """`${name}` in every string of a JSON value replaced by the variable ("" when unset)."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        return _VARIABLE.sub(lambda m: str(variables.get(m.group(1).strip(), "")), value)
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, variables) for key, item in value.items()}
    return value


def option_of(action: Mapping[str, Any]) -> dict[str, Any]:
    option = action.get("option")
    return option if isinstance(option, dict) else {}


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return default


def compare(condition: str, current: Any, value: Any) -> bool:
    """`current <condition> value`; an unknown condition is false."""
    op = _COMPARE.get(condition)
    try:
        return bool(op(current, value)) if op is not None else False
    except TypeError:
        return False


def datetime_matches(option: Mapping[str, Any], now: datetime) -> bool:
    """condition_datetime: every field set compares true against `now` (UTC)."""
    weekdays = option.get("weekdays")
    if isinstance(weekdays, list) and weekdays:
        sunday_first = (now.weekday() + 1) % 7
        if sunday_first not in [_int(day, -1) for day in weekdays]:
            return False
    condition = str(option.get("condition") or "==")
    fields = (
        ("month", now.month, 0),
        ("day", now.day, 0),
        ("hour", now.hour, -1),
        ("minute", now.minute, -1),
    )
    for name, current, any_value in fields:
        if name not in option:
            continue
        wanted = _int(option.get(name), any_value)
        if wanted == any_value or wanted < 0:
            continue
        if not compare(condition, current, wanted):
            return False
    return True


def variable_matches(option: Mapping[str, Any], variables: Mapping[str, str]) -> bool:
    """condition_variable: the variable (a name, or a `${name}` template) against a value."""
    raw = str(option.get("variable") or "")
    current = substitute(raw, variables) if "${" in raw else variables.get(raw, "")
    condition = str(option.get("condition") or "==")
    kind = option.get("value_type") or "string"
    if kind == "number":
        try:
            number = float(current)
        except ValueError:
            return False
        wanted = option.get("value_number", 0)
        return isinstance(wanted, int | float) and compare(condition, number, float(wanted))
    if kind == "length":
        return compare(condition, len(current), _int(option.get("value_length"), 0))
    return compare(condition, current, str(option.get("value_string") or ""))


class Flow:
    """One run of a list of actions. `next(now)` gives the next action the caller executes
    (call actions: talk, play, amd, ...), running the control actions itself; None when the
    flow is over (the list ran out, `stop`, or `max_steps`)."""

    def __init__(
        self,
        actions: list[dict[str, Any]],
        variables: Mapping[str, str] | None = None,
        *,
        max_steps: int = MAX_STEPS,
    ) -> None:
        self.actions = actions
        self.variables: dict[str, str] = dict(variables or {})
        self.max_steps = max_steps
        self.steps = 0
        self.trace: list[str] = []  # the types run, control actions included
        self._by_id = {str(a.get("id")): i for i, a in enumerate(actions) if a.get("id")}
        self._index = 0
        self._loops: dict[int, int] = {}
        self._ended = False

    @property
    def ended(self) -> bool:
        return self._ended

    def end(self) -> None:
        self._ended = True

    def set_digits(self, digits: str) -> None:
        """What the last digits_receive gathered (read by branch and condition_call_digits)."""
        self.variables[DIGITS_VARIABLE] = digits

    def jump(self, target_id: str) -> bool:
        """Go on at the action with this id (False, nothing changed, when there is none)."""
        index = self._by_id.get(str(target_id))
        if index is None:
            return False
        self._index = index
        return True

    def next(self, now: datetime) -> dict[str, Any] | None:
        while not self._ended:
            if not 0 <= self._index < len(self.actions) or self.steps >= self.max_steps:
                self._ended = True
                break
            index = self._index
            action = self.actions[index]
            self.steps += 1
            kind = str(action.get("type") or "")
            self.trace.append(kind)
            self._index = self._after(index)
            if kind in CONTROL_TYPES:
                self._control(index, kind, option_of(action), now)
                continue
            return {**action, "option": substitute(option_of(action), self.variables)}
        return None

    def _after(self, index: int) -> int:
        next_id = str(self.actions[index].get("next_id") or "")
        if next_id and next_id != NIL_ID and next_id in self._by_id:
            return self._by_id[next_id]
        return index + 1

    def _target(self, target_id: Any) -> None:
        """Jump when the id names an action; otherwise stay on the default next action."""
        if isinstance(target_id, str) and target_id and target_id != NIL_ID:
            self.jump(target_id)

    def _control(self, index: int, kind: str, opt: dict[str, Any], now: datetime) -> None:
        if kind == "stop":
            self._ended = True
        elif kind == "variable_set":
            key = opt.get("key")
            if isinstance(key, str) and key:
                self.variables[key] = str(substitute(opt.get("value", ""), self.variables))
        elif kind == "branch":
            name = str(opt.get("variable") or DIGITS_VARIABLE)
            if name.startswith("${") and name.endswith("}"):
                name = name[2:-1].strip()
            value = self.variables.get(name, "")
            targets = opt.get("target_ids")
            target = targets.get(value) if isinstance(targets, dict) else None
            self._target(target if target else opt.get("default_target_id"))
        elif kind == "goto":
            done = self._loops.get(index, 0)
            if done < _int(opt.get("loop_count"), 0):
                self._loops[index] = done + 1
                self._target(opt.get("target_id"))
        elif kind in ("condition_call_digits", "condition_datetime", "condition_variable"):
            if not self._condition(kind, opt, now):
                self._target(opt.get("false_target_id"))

    def _condition(self, kind: str, opt: dict[str, Any], now: datetime) -> bool:
        if kind == "condition_datetime":
            return datetime_matches(opt, now)
        if kind == "condition_variable":
            return variable_matches(opt, self.variables)
        digits = self.variables.get(DIGITS_VARIABLE, "")
        length = _int(opt.get("length"), 0)
        key = opt.get("key")
        if length > 0 and len(digits) >= length:
            return True
        return isinstance(key, str) and key != "" and key in digits


class DigitGather:
    """One `digits_receive`: ends when `key` is pressed (not kept), when `length` digits are
    in (1 when neither is set), or `duration` ms after it began (the caller's timer)."""

    def __init__(self, option: Mapping[str, Any]) -> None:
        key = option.get("key")
        self.key = key if isinstance(key, str) else ""
        self.length = max(0, _int(option.get("length"), 0))
        if not self.key and not self.length:
            self.length = 1
        duration = _int(option.get("duration"), 0)
        self.duration_ms = duration if duration > 0 else DEFAULT_DIGITS_DURATION_MS
        self.digits = ""
        self.done = False

    def feed(self, digit: str) -> bool:
        """Take one key press; True once the gathering is over."""
        if self.done:
            return True
        if self.key and digit in self.key:
            self.done = True
        else:
            self.digits += digit
            self.done = bool(self.length) and len(self.digits) >= self.length
        return self.done
