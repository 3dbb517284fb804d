"""The trunk-down rule (domain/trunk.py): faults in a row within a window, cleared by any
healthy answer; a probe answered with anything but 500/503 brings the trunk back."""

from __future__ import annotations

import pytest

from outdial.domain.outcome import TRUNK_DOWN, CallOutcome, HangupReason
from outdial.domain.trunk import TrunkHealth, TrunkRule, TrunkState, Verdict, verdict_for

FAULT, HEALTHY = Verdict.FAULT, Verdict.HEALTHY


@pytest.mark.parametrize(
    ("responded", "code", "progressed", "expected"),
    [
        (False, None, False, FAULT),  # timer B: nothing at all
        (True, 503, False, FAULT),  # refused by the trunk itself
        (True, 500, False, FAULT),
        (True, 503, True, HEALTHY),  # 100 Trying first: relayed from further on
        (True, 486, False, HEALTHY),
        (True, 404, False, HEALTHY),
        (True, 200, True, HEALTHY),
        (True, None, True, HEALTHY),  # 100 Trying, then silence: the trunk is there
    ],
)
def test_verdicts(responded: bool, code: int | None, progressed: bool, expected: Verdict) -> None:
    assert verdict_for(responded=responded, final_code=code, progressed=progressed) is expected


def test_transport_failure_is_a_fault() -> None:
    verdict = verdict_for(responded=False, final_code=None, progressed=False, transport_failed=True)
    assert verdict is FAULT


def test_down_after_n_faults_in_a_row_within_the_window() -> None:
    h = TrunkHealth(TrunkRule(faults=3, window_s=10))
    assert not h.record(FAULT, 0.0)
    assert not h.record(FAULT, 1.0)
    assert h.record(FAULT, 2.0)  # the third: down
    assert h.state is TrunkState.DOWN and h.down
    assert "3 attempts in a row" in h.why
    assert not h.record(FAULT, 3.0)  # already down: no change


def test_a_healthy_answer_clears_the_run() -> None:
    h = TrunkHealth(TrunkRule(faults=3, window_s=10))
    h.record(FAULT, 0.0)
    h.record(FAULT, 1.0)
    h.record(HEALTHY, 1.5)
    h.record(FAULT, 2.0)
    assert not h.record(FAULT, 3.0)
    assert h.state is TrunkState.UP


def test_faults_spread_wider_than_the_window_do_not_count() -> None:
    h = TrunkHealth(TrunkRule(faults=3, window_s=10))
    for t in (0.0, 8.0, 16.0, 24.0):  # never three within 10 s
        assert not h.record(FAULT, t)
    assert h.state is TrunkState.UP
    assert h.record(FAULT, 25.0)  # 16, 24, 25


def test_verdict_none_changes_nothing() -> None:
    h = TrunkHealth(TrunkRule(faults=1))
    assert not h.record(Verdict.NONE, 0.0)
    assert h.state is TrunkState.UP


@pytest.mark.parametrize(("code", "up"), [(None, False), (503, False), (500, False), (200, True),
                                          (404, True), (405, True)])  # fmt: skip
def test_probes(code: int | None, up: bool) -> None:
    h = TrunkHealth(TrunkRule(faults=1))
    h.record(FAULT, 0.0)
    assert h.probed(code, 5.0) is up
    assert h.down is not up


def test_a_healthy_call_while_down_brings_it_up() -> None:
    h = TrunkHealth(TrunkRule(faults=1))
    h.record(FAULT, 0.0)
    assert h.record(HEALTHY, 1.0)
    assert h.state is TrunkState.UP and h.why == ""


@pytest.mark.parametrize(
    "rule", [dict(faults=0), dict(window_s=0), dict(probe_s=-1)]
)  # fmt: skip
def test_rule_values_must_be_positive(rule: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        TrunkRule(**rule)  # type: ignore[arg-type]


def test_outcome_public_detail_and_try() -> None:
    down = CallOutcome(HangupReason.FAILED, detail=TRUNK_DOWN)
    assert down.public_detail == TRUNK_DOWN and not down.counts_as_try
    other = CallOutcome(HangupReason.FAILED, detail="no response from 10.0.0.1:5060")
    assert other.public_detail == "" and other.counts_as_try
