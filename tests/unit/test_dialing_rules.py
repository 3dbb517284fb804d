"""Pure dialing rules: destination choice, end state, cooling, pacing, SIP mapping."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from outdial.domain.address import Address, AddressType
from outdial.domain.decision import Facts, decide
from outdial.domain.eligibility import Reason, no_dialable_destination
from outdial.domain.models import Outplan, Target
from outdial.domain.numberplan import FarEnd, behaviour_for
from outdial.domain.outcome import CallResult, HangupReason, reason_for_sip_code, result_for
from outdial.domain.pacing import next_pace_us, start_interval_us, starts_allowed
from outdial.domain.rules import cooling_until, is_cooling, next_destination, status_after_attempt
from outdial.domain.states import TargetStatus

A = Address(AddressType.TEL, "+15550000001")
NONE: None = None


@pytest.mark.parametrize(
    ("dests", "counts", "limits", "expected"),
    [
        ((A, A, NONE, NONE, NONE), (0, 0, 0, 0, 0), (2, 1, 0, 0, 0), 0),
        ((A, A, NONE, NONE, NONE), (2, 0, 0, 0, 0), (2, 1, 0, 0, 0), 1),
        ((A, A, NONE, NONE, NONE), (2, 1, 0, 0, 0), (2, 1, 0, 0, 0), None),
        ((NONE, NONE, A, NONE, NONE), (0, 0, 0, 0, 0), (5, 5, 1, 0, 0), 2),
        ((A, NONE, NONE, NONE, A), (0, 0, 0, 0, 0), (0, 3, 3, 3, 3), 4),  # 0 disables slot 0
        ((A, NONE, NONE, NONE, NONE), (0, 0, 0, 0, 0), (0, 0, 0, 0, 0), None),
    ],
)
def test_next_destination(dests, counts, limits, expected) -> None:  # type: ignore[no-untyped-def]
    assert next_destination(dests, counts, limits) == expected


def test_status_after_attempt() -> None:
    dests = (A, A, None, None, None)
    limits = (2, 1, 0, 0, 0)
    assert (
        status_after_attempt(CallResult.SUCCESS, dests, (1, 0, 0, 0, 0), limits)
        is TargetStatus.DONE
    )
    assert (
        status_after_attempt(CallResult.FAIL, dests, (1, 0, 0, 0, 0), limits) is TargetStatus.IDLE
    )
    assert (
        status_after_attempt(CallResult.FAIL, dests, (2, 1, 0, 0, 0), limits) is TargetStatus.DONE
    )


def test_cooling() -> None:
    end = datetime(2026, 1, 1, tzinfo=UTC)
    assert cooling_until(None, 1000) is None
    assert cooling_until(end, 1500) == end + timedelta(milliseconds=1500)
    assert is_cooling(end, 1000, end + timedelta(milliseconds=999))
    assert not is_cooling(end, 1000, end + timedelta(milliseconds=1000))


def test_pacing() -> None:
    assert start_interval_us(10) == 100_000
    common = {"calls_per_second": 10.0, "now_us": 1_000_000, "window_s": 0.5, "max_batch": 50}
    assert starts_allowed(in_flight=0, max_concurrent=100, pace_next_us=0, **common) == 5
    assert starts_allowed(in_flight=98, max_concurrent=100, pace_next_us=0, **common) == 2
    assert starts_allowed(in_flight=100, max_concurrent=100, pace_next_us=0, **common) == 0
    assert starts_allowed(in_flight=0, max_concurrent=100, pace_next_us=1_000_001, **common) == 0
    assert next_pace_us(0, 1_000_000, 5, 10.0) == 1_500_000
    assert next_pace_us(2_000_000, 1_000_000, 1, 10.0) == 2_100_000


def test_number_plan_and_sip_mapping() -> None:
    assert behaviour_for("+4865550000").sip_code == 486
    assert behaviour_for("4805550000").sip_code == 480
    assert behaviour_for("+6035550000").sip_code == 603
    assert behaviour_for("+5035550000").sip_code == 503
    assert behaviour_for("+4085550000").far_end is FarEnd.NEVER_ANSWER
    assert behaviour_for("+15550000000").far_end is FarEnd.ANSWER
    assert reason_for_sip_code(486) is HangupReason.BUSY
    assert reason_for_sip_code(603) is HangupReason.BUSY
    assert reason_for_sip_code(480) is HangupReason.NOANSWER
    assert reason_for_sip_code(503) is HangupReason.FAILED
    assert result_for(HangupReason.NORMAL) is CallResult.SUCCESS
    for reason in HangupReason:
        if reason not in (HangupReason.NORMAL,):
            assert result_for(reason) is CallResult.FAIL


@pytest.mark.parametrize(
    ("dests", "counts", "limits", "detail"),
    [
        ((A, A, NONE, NONE, NONE), (0, 0, 0, 0, 0), (2, 1, 0, 0, 0), None),
        ((NONE, A, NONE, NONE, NONE), (0, 0, 0, 0, 0), (2, 0, 0, 0, 0), "1 is disabled"),
        (
            (A, A, NONE, NONE, NONE),
            (1, 0, 0, 0, 0),
            (1, 0, 0, 0, 0),
            "destination 0 has used its 1 tries; destination 1 is disabled by the outplan "
            "(max_try_count_1 0)",
        ),
        ((NONE, NONE, NONE, NONE, NONE), (0, 0, 0, 0, 0), (1, 1, 1, 1, 1), "none is set"),
    ],
)
def test_no_dialable_destination(dests, counts, limits, detail) -> None:  # type: ignore[no-untyped-def]
    found = no_dialable_destination(dests, counts, limits)
    if detail is None:
        assert found is None
        return
    assert found is not None
    assert (found.reason, found.destination_index, found.clears_at) == (
        Reason.NO_DIALABLE_DESTINATION,
        None,
        None,
    )
    assert found.detail.startswith("no destination can be dialed: ")
    assert detail in found.detail


def _target(status: str, counts: tuple[int, ...]) -> Target:
    at = datetime(2026, 1, 5, 12, tzinfo=UTC)
    dests = (A, None, None, None, None)
    return Target(uuid.uuid4(), uuid.uuid4(), "", "", "", status, dests, counts, at, at)


def test_explain_matches_the_claim_for_targets_without_a_destination() -> None:
    """Idle and nothing to dial: `no_dialable_destination` (the claim makes it done) before
    each destination's reason; in flight on its last try: only the destination's reason (the
    end of the attempt decides); dialable: no reason at all."""
    at = datetime(2026, 1, 5, 12, tzinfo=UTC)
    plan = Outplan(uuid.uuid4(), uuid.uuid4(), "", "", None, 1000, 0, (1, 0, 0, 0, 0), at, at)
    facts = Facts(listed={}, calls={})
    idle = decide(_target("idle", (1, 0, 0, 0, 0)), plan, facts, at)
    assert [(b.reason, b.destination_index) for b in idle.reasons] == [
        (Reason.NO_DIALABLE_DESTINATION, None),
        (Reason.DESTINATION_EXHAUSTED, 0),
    ]
    assert not idle.dialable_now
    busy = decide(_target("progressing", (1, 0, 0, 0, 0)), plan, facts, at)
    assert [b.reason for b in busy.reasons] == [Reason.IN_PROGRESS, Reason.DESTINATION_EXHAUSTED]
    assert decide(_target("idle", (0, 0, 0, 0, 0)), plan, facts, at).reasons == ()
    listed = Facts(listed={A.target: "opt-outs"}, calls={})
    only_listed = decide(_target("idle", (0, 0, 0, 0, 0)), plan, listed, at)
    assert [b.reason for b in only_listed.reasons] == [Reason.DNC_LISTED]  # as the claim logs it
