"""Retry rules per outcome, order and priority as pure values (issue 17, SPEC 3.9-3.10)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outdial.domain.errors import InvalidArgument
from outdial.domain.outcome import CallResult, HangupReason
from outdial.domain.retry import (
    AfterAttempt,
    Order,
    RetryRule,
    Then,
    after_attempt,
    order_detail,
    parse_order,
    parse_priority,
    parse_retry_rules,
)
from outdial.domain.rules import status_after_attempt
from outdial.domain.states import TargetStatus

END = 1_000_000_000_000  # µs
BUSY = {"hangup_reason": "busy", "amd_result": None, "sip_code": 486, "disposition": None}


def _rule(when: dict[str, Any], then: str = "retry", **kw: Any) -> RetryRule:
    return parse_retry_rules([{"when": when, "then": then, **kw}])[0]


def test_parse_round_trips_and_defaults() -> None:
    raw = [
        {"when": {"hangup_reason": "busy"}, "interval_ms": 300000, "max_tries": 3, "then": "retry"},
        {"when": {"amd_result": "machine", "sip_code": 200}, "then": "finish"},
        {"when": {"disposition": "callback"}},
    ]
    rules = parse_retry_rules(raw)
    assert [r.to_json() for r in rules] == [
        raw[0],
        {"when": raw[1]["when"], "interval_ms": 0, "max_tries": 0, "then": "finish"},
        {"when": raw[2]["when"], "interval_ms": 0, "max_tries": 0, "then": "retry"},
    ]
    assert parse_retry_rules(None) == () and parse_retry_rules([]) == ()


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"when": {}}, "retry_rules"),
        ("busy", "retry_rules must be a list"),
        ([{"when": {"hangup_reason": "busyy"}}], "retry_rules[0].when.hangup_reason"),
        ([{"when": {"colour": "red"}}], "retry_rules[0].when.colour"),
        ([{"when": {"amd_result": "robot"}}], "retry_rules[0].when.amd_result"),
        ([{"when": {"sip_code": 99}}], "retry_rules[0].when.sip_code"),
        ([{"when": {"sip_code": "486"}}], "retry_rules[0].when.sip_code"),
        ([{"when": {"disposition": ""}}], "retry_rules[0].when.disposition"),
        ([{"when": {"disposition": "x" * 65}}], "retry_rules[0].when.disposition"),
        ([{"when": {"hangup_reason": "busy"}, "then": "later"}], "retry_rules[0].then"),
        ([{"when": {"hangup_reason": "busy"}, "interval_ms": -1}], "retry_rules[0].interval_ms"),
        ([{"when": {"hangup_reason": "busy"}, "max_tries": True}], "retry_rules[0].max_tries"),
        ([{"when": {"hangup_reason": "busy"}, "after": 1}], "retry_rules[0].after"),
        ([{"then": "retry"}], "retry_rules[0].when is required"),
        ([{"when": {"hangup_reason": "busy"}}] * 21, "at most 20"),
        ([{"when": {"hangup_reason": "busy"}}, 3], "retry_rules[1] must be an object"),
    ],
)
def test_bad_rules_name_the_field(raw: Any, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_retry_rules(raw if isinstance(raw, list | str) else [raw])
    assert field in err.value.message


def test_order_and_priority() -> None:
    assert parse_order("fifo") is Order.FIFO
    with pytest.raises(InvalidArgument, match="order must be one of"):
        parse_order("random")
    assert parse_priority(9) == 9
    for bad in (-1, 10, "5", True, 1.5):
        with pytest.raises(InvalidArgument, match="priority"):
            parse_priority(bad)
    assert "priority 7" in order_detail(Order.PRIORITY, 7)


def test_the_first_matching_rule_decides() -> None:
    rules = parse_retry_rules(
        [
            {"when": {"hangup_reason": "busy", "sip_code": 600}, "then": "finish"},
            {"when": {"hangup_reason": "busy"}, "interval_ms": 300000, "then": "retry"},
            {"when": {"hangup_reason": "busy"}, "then": "finish"},
        ]
    )
    got = after_attempt(CallResult.FAIL, BUSY, rules, 0, [1, None], [1, 0], [3, 0], END)
    assert got.status is TargetStatus.IDLE and got.used_up is None
    assert got.retry_at_us == END + 300_000_000
    assert got.note == "busy: next try at 1970-01-12 13:51:40 UTC by rule 2"


def test_retry_up_to_max_tries_then_the_destination_is_used_up() -> None:
    rule = (_rule({"hangup_reason": "busy"}, interval_ms=1000, max_tries=2),)
    one = after_attempt(CallResult.FAIL, BUSY, rule, 0, [1, 1], [1, 0], [5, 1], END)
    assert (one.status, one.used_up) == (TargetStatus.IDLE, None)
    two = after_attempt(CallResult.FAIL, BUSY, rule, 0, [1, 1], [2, 0], [5, 1], END)
    assert (two.status, two.used_up, two.retry_at_us) == (TargetStatus.IDLE, 0, END + 1_000_000)
    assert two.note is not None and "next destination" in two.note
    last = after_attempt(CallResult.FAIL, BUSY, rule, 0, [1, None], [2, 0], [5, 1], END)
    assert (last.status, last.used_up) == (TargetStatus.DONE, 0)


def test_retry_never_passes_max_try_count() -> None:
    rule = (_rule({"hangup_reason": "busy"}, max_tries=10),)
    got = after_attempt(CallResult.FAIL, BUSY, rule, 0, [1, None], [2, 0], [2, 0], END)
    assert got.status is TargetStatus.DONE


def test_next_destination_and_finish() -> None:
    nxt = (_rule({"hangup_reason": "busy"}, "next_destination", interval_ms=60000),)
    got = after_attempt(CallResult.FAIL, BUSY, nxt, 0, [1, 1], [1, 0], [3, 1], END)
    assert (got.status, got.used_up, got.retry_at_us) == (TargetStatus.IDLE, 0, END + 60_000_000)
    fin = (_rule({"sip_code": 486}, "finish"),)
    got = after_attempt(CallResult.FAIL, BUSY, fin, 0, [1, 1], [1, 0], [3, 1], END)
    assert got == AfterAttempt(TargetStatus.DONE, note="sip_code 486: finished by rule 1")


def test_absent_values_never_match() -> None:
    rules = (_rule({"disposition": "callback"}, "finish"), _rule({"amd_result": "machine"}))
    got = after_attempt(CallResult.FAIL, BUSY, rules, 0, [1], [1], [3], END)
    assert got == AfterAttempt(TargetStatus.IDLE)
    with_disposition = {**BUSY, "disposition": "callback"}
    got = after_attempt(CallResult.FAIL, with_disposition, rules, 0, [1], [1], [3], END)
    assert got.status is TargetStatus.DONE


def test_a_try_that_did_not_count_applies_no_rule() -> None:
    rules = (_rule({"hangup_reason": "busy"}, "finish"),)
    got = after_attempt(CallResult.FAIL, None, rules, 0, [1], [0], [3], END)
    assert got == AfterAttempt(TargetStatus.IDLE)


_REASONS = [r.value for r in HangupReason if r.value]
_slot = st.one_of(st.none(), st.just(object()))
_facts = st.fixed_dictionaries(
    {
        "hangup_reason": st.sampled_from(_REASONS),
        "amd_result": st.sampled_from([None, "human", "machine", "notsure"]),
        "sip_code": st.one_of(st.none(), st.integers(100, 699)),
        "disposition": st.sampled_from([None, "callback", "sale"]),
    }
)


@given(
    result=st.sampled_from([CallResult.SUCCESS, CallResult.FAIL]),
    facts=st.one_of(st.none(), _facts),
    index=st.integers(0, 4),
    dests=st.lists(_slot, min_size=5, max_size=5),
    counts=st.lists(st.integers(0, 4), min_size=5, max_size=5),
    limits=st.lists(st.integers(0, 4), min_size=5, max_size=5),
    never=st.lists(st.sampled_from(["disposition", "sip_code"]), max_size=3),
)
def test_default_rules_are_todays_behaviour(
    result: CallResult,
    facts: dict[str, Any] | None,
    index: int,
    dests: list[object | None],
    counts: list[int],
    limits: list[int],
    never: list[str],
) -> None:
    """No rules, or rules that do not match the attempt: exactly SPEC 3.5 and try_interval
    (`retry_at_us` None, nothing used up), whatever the target and the attempt."""
    today = AfterAttempt(status_after_attempt(result, dests, counts, limits))
    assert after_attempt(result, facts, (), index, dests, counts, limits, END) == today
    # rules whose values no attempt has (a disposition and a sip code nobody sets)
    unmatched = tuple(
        RetryRule(((k, "no-such" if k == "disposition" else 199),), 5, 1, Then.FINISH)
        for k in never
    )
    if facts is not None and (facts["sip_code"] == 199):
        return
    assert after_attempt(result, facts, unmatched, index, dests, counts, limits, END) == today
