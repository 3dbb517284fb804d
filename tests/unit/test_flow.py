"""The pure action control flow (domain/flow.py): order, jumps, variables, conditions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from outdial.domain.flow import (
    DIGITS_VARIABLE,
    NIL_ID,
    DigitGather,
    Flow,
    datetime_matches,
    substitute,
)

NOW = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)  # a Tuesday


def act(kind: str, option: dict[str, Any] | None = None, **extra: str) -> dict[str, Any]:
    return {
        "id": extra.get("id", str(uuid.uuid4())),
        "next_id": extra.get("next_id", NIL_ID),
        "type": kind,
        "option": option or {},
    }


def run(flow: Flow) -> list[dict[str, Any]]:
    out = []
    while (action := flow.next(NOW)) is not None:
        out.append(action)
    return out


def texts(actions: list[dict[str, Any]]) -> list[str]:
    return [a["option"].get("text", a["type"]) for a in actions]


def test_list_order_and_next_id_jump() -> None:
    last = act("talk", {"text": "c"})
    actions = [act("talk", {"text": "a"}, next_id=last["id"]), act("talk", {"text": "b"}), last]
    assert texts(run(Flow(actions))) == ["a", "c"]


def test_variables_substituted_and_set() -> None:
    actions = [
        act("variable_set", {"key": "greeting", "value": "Hi ${name}"}),
        act("talk", {"text": "${greeting}, you owe ${amount}. ${unknown}!"}),
    ]
    flow = Flow(actions, {"name": "Ann", "amount": "12"})
    assert texts(run(flow)) == ["Hi Ann, you owe 12. !"]
    assert flow.variables["greeting"] == "Hi Ann"
    assert flow.trace == ["variable_set", "talk"]


def test_substitute_nested() -> None:
    value = {"a": ["${x}", 3, {"b": "${x}${x}"}], "c": True}
    assert substitute(value, {"x": "1"}) == {"a": ["1", 3, {"b": "11"}], "c": True}


def test_branch_on_digits_default_and_no_match() -> None:
    one = act("talk", {"text": "one"})
    other = act("talk", {"text": "other"})
    branch = act("branch", {"target_ids": {"1": one["id"]}, "default_target_id": other["id"]})
    actions = [branch, act("hangup"), one, act("hangup"), other]
    flow = Flow(actions)
    flow.set_digits("1")
    assert texts(run(flow)) == ["one", "hangup", "other"]  # hangup is the caller's to obey
    flow = Flow(actions)
    flow.set_digits("7")
    assert texts(run(flow))[0] == "other"
    no_default = [act("branch", {"target_ids": {"1": one["id"]}}), act("talk", {"text": "next"})]
    assert texts(run(Flow([*no_default, one])))[0] == "next"


def test_branch_on_named_variable() -> None:
    yes = act("talk", {"text": "yes"})
    actions = [
        act("branch", {"variable": "vip", "target_ids": {"true": yes["id"]}}),
        act("stop"),
        yes,
    ]
    assert texts(run(Flow(actions, {"vip": "true"}))) == ["yes"]
    assert texts(run(Flow(actions, {"vip": "no"}))) == []


def test_goto_loops_count_times() -> None:
    start = act("talk", {"text": "again"})
    actions = [start, act("goto", {"target_id": start["id"], "loop_count": 2}), act("hangup")]
    assert texts(run(Flow(actions))) == ["again", "again", "again", "hangup"]


def test_goto_without_count_goes_on_and_max_steps_bounds_loops() -> None:
    start = act("talk", {"text": "x"})
    actions = [start, act("goto", {"target_id": start["id"]}), act("hangup")]
    assert texts(run(Flow(actions))) == ["x", "hangup"]
    looping = act("talk", {"text": "y"})
    looping["next_id"] = looping["id"]
    assert len(run(Flow([looping], max_steps=50))) == 50


def test_condition_call_digits() -> None:
    false = act("talk", {"text": "false"})
    cond = act("condition_call_digits", {"length": 3, "key": "#", "false_target_id": false["id"]})
    actions = [cond, act("talk", {"text": "true"}), act("stop"), false]
    for digits, expected in [("123", "true"), ("1#", "true"), ("12", "false"), ("", "false")]:
        flow = Flow(actions)
        flow.set_digits(digits)
        assert texts(run(flow)) == [expected], digits


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ({"condition": ">=", "hour": 8}, True),
        ({"condition": ">=", "hour": 15}, False),
        ({"condition": "<", "hour": 15, "minute": 31}, True),
        ({"condition": "==", "hour": 14, "minute": 30, "day": 1, "month": 12}, True),
        ({"condition": "==", "hour": -1, "minute": -1, "day": 0, "month": 0}, True),
        ({"condition": "==", "weekdays": [2]}, True),  # Tuesday
        ({"condition": "==", "weekdays": [0, 6]}, False),
        ({"condition": "~", "hour": 14}, False),
    ],
)
def test_condition_datetime(option: dict[str, Any], expected: bool) -> None:
    assert datetime_matches(option, NOW) is expected


def test_condition_datetime_jumps_to_false_target() -> None:
    closed = act("talk", {"text": "closed"})
    cond = act(
        "condition_datetime", {"condition": ">=", "hour": 20, "false_target_id": closed["id"]}
    )
    actions = [cond, act("talk", {"text": "open"}), act("stop"), closed]
    assert texts(run(Flow(actions))) == ["closed"]


def test_condition_variable() -> None:
    false = act("talk", {"text": "false"})
    opt = {"condition": ">", "variable": "n", "value_type": "number", "value_number": 10}
    actions = [
        act("condition_variable", {**opt, "false_target_id": false["id"]}),
        act("stop"),
        false,
    ]
    assert texts(run(Flow(actions, {"n": "11"}))) == []
    assert texts(run(Flow(actions, {"n": "9"}))) == ["false"]
    assert texts(run(Flow(actions, {"n": "x"}))) == ["false"]


def test_jump_and_end_from_the_caller() -> None:
    b = act("talk", {"text": "b"})
    flow = Flow([act("talk", {"text": "a"}), act("talk", {"text": "skipped"}), b])
    assert texts([flow.next(NOW)]) == ["a"]  # type: ignore[list-item]
    assert flow.jump(b["id"]) and not flow.jump(str(uuid.uuid4()))
    assert texts(run(flow)) == ["b"]
    flow = Flow([act("talk", {"text": "a"})])
    flow.end()
    assert flow.next(NOW) is None and flow.ended


def test_digit_gather() -> None:
    g = DigitGather({})
    assert g.length == 1 and g.feed("5") and g.digits == "5"
    g = DigitGather({"key": "#", "duration": 3000})
    assert g.duration_ms == 3000
    assert not g.feed("1") and not g.feed("2") and g.feed("#") and g.digits == "12"
    g = DigitGather({"length": 3, "key": "#"})
    assert not g.feed("1") and g.feed("#") and g.digits == "1"
    g = DigitGather({"length": 2})
    assert not g.feed("4") and g.feed("2") and g.digits == "42"
    assert DIGITS_VARIABLE == "voipbin.call.digits"
