"""Action validation at create/update (issue 12 item 7): VoIPBIN's types and their options."""

from __future__ import annotations

from typing import Any

import pytest

from outdial.domain.action_options import KNOWN_TYPES
from outdial.domain.actions import ActionRules, parse_actions
from outdial.domain.errors import InvalidArgument
from outdial.domain.netpolicy import NetworkPolicy

A = "0d9f4c3e-5b7a-4c1e-9a57-1e2f3a4b5c6d"
B = "1d9f4c3e-5b7a-4c1e-9a57-1e2f3a4b5c6d"


def _error(actions: list[dict[str, Any]], rules: ActionRules | None = None) -> str:
    with pytest.raises(InvalidArgument) as caught:
        parse_actions(actions, rules=rules)
    return caught.value.message


def test_every_voipbin_type_is_accepted_with_empty_options() -> None:
    needs = {"goto", "variable_set", "digits_send", "condition_variable", "webhook_send"}
    for kind in sorted(KNOWN_TYPES - needs):
        assert parse_actions([{"type": kind}])[0]["type"] == kind


def test_unknown_type_names_the_action() -> None:
    message = _error([{"type": "talk"}, {"type": "bogus_type"}])
    assert "actions[1].type" in message and "bogus_type" in message
    message = _error([{"id": A, "type": "bogus_type"}])
    assert A in message


@pytest.mark.parametrize(
    ("action", "field"),
    [
        ({"type": "talk", "option": {"text": 5}}, "actions[0].option.text"),
        ({"type": "talk", "option": {"digits_handle": "jump"}}, "option.digits_handle"),
        ({"type": "talk", "option": {"async": "yes"}}, "option.async"),
        ({"type": "sleep", "option": {"duration": -1}}, "option.duration"),
        ({"type": "sleep", "option": {"duration": "1"}}, "option.duration"),
        ({"type": "hangup", "option": {"reference_id": "x"}}, "option.reference_id"),
        ({"type": "amd", "option": {"machine_handle": "drop"}}, "option.machine_handle"),
        ({"type": "amd", "option": {"async": 1}}, "option.async"),
        ({"type": "amd", "option": {"wait_for_beep": "true"}}, "option.wait_for_beep"),
        ({"type": "amd", "option": {"greeting": -1}}, "option.greeting"),
        ({"type": "amd", "option": {"initial_silence": 60001}}, "option.initial_silence"),
        ({"type": "amd", "option": {"maximum_number_of_words": 101}}, "option.maximum_number"),
        ({"type": "amd", "option": {"total_analysis_time": "5000"}}, "option.total_analysis"),
        ({"type": "digits_receive", "option": {"key": "x"}}, "option.key"),
        ({"type": "digits_receive", "option": {"length": -2}}, "option.length"),
        ({"type": "digits_send", "option": {"digits": ""}}, "option.digits"),
        ({"type": "digits_send", "option": {"digits": "12e"}}, "option.digits"),
        ({"type": "digits_send", "option": {"digits": "1", "duration": 50}}, "option.duration"),
        ({"type": "digits_send", "option": {"digits": "1", "interval": 6000}}, "option.interval"),
        ({"type": "condition_call_digits", "option": {"length": "3"}}, "option.length"),
        ({"type": "condition_datetime", "option": {"condition": "~"}}, "option.condition"),
        ({"type": "condition_datetime", "option": {"hour": 24}}, "option.hour"),
        ({"type": "condition_datetime", "option": {"weekdays": [7]}}, "option.weekdays"),
        ({"type": "condition_variable", "option": {"variable": ""}}, "option.variable"),
        ({"type": "branch", "option": {"target_ids": ["x"]}}, "option.target_ids"),
        ({"type": "branch", "option": {"target_ids": {"1": "nope"}}}, "target_ids.1"),
        ({"type": "goto", "option": {}}, "option.target_id"),
        ({"type": "goto", "option": {"target_id": A, "loop_count": -1}}, "option.loop_count"),
        ({"type": "variable_set", "option": {"value": "x"}}, "option.key"),
        ({"type": "recording_start", "option": {"format": "mp3"}}, "option.format"),
        ({"type": "recording_start", "option": {"end_of_key": "12"}}, "option.end_of_key"),
        ({"type": "recording_start", "option": {"beep_start": "no"}}, "option.beep_start"),
        ({"type": "webhook_send", "option": {"uri": "ftp://x.example/"}}, "option.uri"),
        ({"type": "webhook_send", "option": {"uri": "http://127.0.0.1/"}}, "option.uri"),
        (
            {"type": "webhook_send", "option": {"uri": "https://a.example/", "method": "PATCH"}},
            "option.method",
        ),
    ],
)
def test_bad_options_name_the_field(action: dict[str, Any], field: str) -> None:
    action = {"id": A, **action}
    if action["type"] == "goto" and "target_id" in action["option"]:
        action["option"]["target_id"] = A
    message = _error([action])
    assert field in message, message
    assert "actions[0]" in message


def test_good_options_pass() -> None:
    actions = [
        {"id": A, "type": "amd", "option": {"machine_handle": "hangup", "async": False}},
        {"type": "talk", "option": {"text": "Press 1", "digits_handle": "next"}},
        {"type": "digits_receive", "option": {"duration": 5000, "key": "#", "length": 3}},
        {"type": "branch", "option": {"target_ids": {"1": A}, "default_target_id": B}},
        {"type": "condition_call_digits", "option": {"length": 1, "false_target_id": A}},
        {"type": "condition_datetime", "option": {"condition": ">=", "hour": 9, "weekdays": [1]}},
        {"type": "digits_send", "option": {"digits": "12*#A", "duration": 100, "interval": 0}},
        {"type": "variable_set", "option": {"key": "x", "value": "1"}},
        {"type": "recording_start", "option": {"format": "wav", "duration": 30, "end_of_key": "#"}},
        {"type": "recording_stop"},
        {"type": "webhook_send", "option": {"uri": "https://hooks.example/x", "sync": True}},
        {"id": B, "type": "goto", "option": {"target_id": A, "loop_count": 2}},
        {"type": "hangup"},
    ]
    parsed = parse_actions(actions)
    assert [a["type"] for a in parsed] == [a["type"] for a in actions]


def test_jumps_must_land_inside_the_list() -> None:
    message = _error([{"type": "goto", "option": {"target_id": B}}])
    assert "actions[0].option.target_id" in message
    message = _error([{"id": A, "type": "branch", "option": {"target_ids": {"1": B}}}])
    assert "target_ids.1" in message
    message = _error([{"id": A, "type": "talk", "next_id": B}])
    assert "actions[0].next_id" in message


def test_webhook_uri_follows_the_network_policy() -> None:
    action = [{"type": "webhook_send", "option": {"uri": "http://127.0.0.1:9/"}}]
    _error(action)
    opened = ActionRules(network=NetworkPolicy.from_text("127.0.0.0/8"))
    assert parse_actions(action, rules=opened)[0]["option"]["uri"] == "http://127.0.0.1:9/"
