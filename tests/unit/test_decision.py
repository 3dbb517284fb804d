"""The one dial decision (`outdial.domain.decision.decide`), rule by rule (issue 15).

The clock is Monday 2026-01-05 12:00 UTC: 07:00 in New York, 12:00 in London."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from outdial.domain.address import Address, AddressType
from outdial.domain.callwindow import CallWindow
from outdial.domain.decision import Candidate, Facts, Verdict, decide, us
from outdial.domain.eligibility import DAY_US, Reason
from outdial.domain.models import Outplan

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)
NY = Address(AddressType.TEL, "+12125550101")
LONDON = Address(AddressType.TEL, "+442079460101")
SIP = Address(AddressType.SIP, "alice@example.com")
NINE_TO_FIVE = CallWindow(frozenset({1, 2, 3, 4, 5}), time(9), time(17))
NO_FACTS = Facts(listed={}, calls={})


def plan(*limits: int, **kw: object) -> Outplan:
    counts = (*limits, 0, 0, 0, 0, 0)[:5]
    base = Outplan(uuid.uuid4(), uuid.uuid4(), "", "", None, 5000, 60_000, counts, NOW, NOW)
    return replace(base, **kw)  # type: ignore[arg-type]


def target(*dests: Address | None, counts: tuple[int, ...] = (), **kw: object) -> Candidate:
    padded = (*dests, None, None, None, None, None)[:5]
    tries = (*counts, 0, 0, 0, 0, 0)[:5]
    return Candidate(uuid.uuid4(), "idle", padded, tries)._replace(**kw)


def reasons(decision: object) -> list[tuple[Reason, int | None]]:
    return [(b.reason, b.destination_index) for b in decision.reasons]  # type: ignore[attr-defined]


def test_dial_the_lowest_destination_with_tries_left() -> None:
    d = decide(target(NY, LONDON, counts=(2, 0)), plan(2, 1), NO_FACTS, NOW)
    assert (d.verdict, d.destination_index, d.address) == (Verdict.DIAL, 1, LONDON)
    assert d.dialable_now and d.applies and d.reasons == () and d.skips == () and d.burned == ()


def test_deleted_and_done_are_never_dialed() -> None:
    deleted = decide(target(NY, tm_delete=NOW), plan(1), NO_FACTS, NOW)
    assert (deleted.verdict, reasons(deleted)) == (Verdict.NEVER, [(Reason.DELETED, None)])
    done = decide(target(NY, status="done"), plan(1), NO_FACTS, NOW)
    assert (done.verdict, reasons(done)) == (Verdict.NEVER, [(Reason.DONE, None)])
    assert not deleted.applies and not done.dialable_now


def test_in_flight_waits() -> None:
    d = decide(target(NY, status="progressing"), plan(2), NO_FACTS, NOW)
    assert (d.verdict, reasons(d)) == (Verdict.WAIT, [(Reason.IN_PROGRESS, None)])
    assert not d.applies


def test_campaign_holds_are_reported_first_and_leave_the_verdict() -> None:
    stopped = decide(target(NY), plan(1), replace(NO_FACTS, campaign_running=False), NOW)
    assert stopped.verdict is Verdict.DIAL and not stopped.dialable_now
    assert reasons(stopped) == [(Reason.CAMPAIGN_NOT_RUNNING, None)]
    full = decide(target(NY), plan(1), replace(NO_FACTS, pacing_full=True), NOW)
    assert reasons(full) == [(Reason.PACING_FULL, None)] and not full.dialable_now


def test_no_dialable_destination_is_done_even_while_not_due() -> None:
    ended = NOW - timedelta(seconds=1)
    for kw in ({}, {"last_attempt_end": ended}, {"not_before": NOW + timedelta(hours=1)}):
        d = decide(target(None, SIP, NY, counts=(0, 1, 0), **kw), plan(0, 1, 0), NO_FACTS, NOW)
        assert d.verdict is Verdict.DONE and d.burned == ()
        assert reasons(d) == [
            (Reason.NO_DIALABLE_DESTINATION, None),
            (Reason.DESTINATION_EXHAUSTED, 1),
            (Reason.DESTINATION_EXHAUSTED, 2),
        ]
        [skip] = d.skips  # one skip, naming the first destination
        assert (skip.index, skip.number, skip.reason) == (1, SIP.target, d.reasons[0].reason)
        assert "max_try_count_2 0" in skip.detail


def test_a_listed_destination_is_used_up_and_the_next_one_dialed() -> None:
    facts = replace(NO_FACTS, listed={NY.target: "'opt-outs'"})
    d = decide(target(NY, LONDON), plan(2, 1), facts, NOW)
    assert (d.verdict, d.destination_index, d.burned) == (Verdict.DIAL, 1, (0,))
    [info] = d.reasons
    assert info.reason is Reason.DNC_LISTED and not info.blocking
    assert info.detail == f"{NY.target} is on do-not-call list 'opt-outs'; skipped"
    [skip] = d.skips
    assert (skip.index, skip.reason, skip.detail) == (
        0,
        Reason.DNC_LISTED,
        "on do-not-call list 'opt-outs'",
    )
    assert d.dialable_now


def test_every_destination_listed_is_done_when_due_and_untouched_before() -> None:
    facts = replace(NO_FACTS, listed={NY.target: "x"})
    due = decide(target(NY), plan(2), facts, NOW)
    assert (due.verdict, due.burned, reasons(due)) == (
        Verdict.DONE,
        (0,),
        [(Reason.DNC_LISTED, 0)],
    )
    cooling = decide(target(NY, last_attempt_end=NOW), plan(2), facts, NOW)
    assert (cooling.verdict, cooling.burned, cooling.skips) == (Verdict.WAIT, (), ())
    assert reasons(cooling) == [(Reason.DNC_LISTED, 0)] and not cooling.dialable_now


def test_calling_codes_use_a_destination_up_only_when_the_customer_has_codes() -> None:
    facts = replace(NO_FACTS, calling_codes=("1",))
    d = decide(target(LONDON, NY), plan(1, 1), facts, NOW)
    assert (d.verdict, d.destination_index, d.burned) == (Verdict.DIAL, 1, (0,))
    assert d.skips[0].reason is Reason.DESTINATION_NOT_ALLOWED
    assert decide(target(LONDON, NY), plan(1, 1), NO_FACTS, NOW).destination_index == 0


def test_cooling_down_waits_and_says_until_when() -> None:
    ended = NOW - timedelta(seconds=10)
    d = decide(target(NY, last_attempt_end=ended), plan(2), NO_FACTS, NOW)
    assert (d.verdict, reasons(d)) == (Verdict.WAIT, [(Reason.COOLING_DOWN, 0)])
    assert d.reasons[0].clears_at == ended + timedelta(minutes=1)
    cooled = decide(target(NY, last_attempt_end=NOW - timedelta(minutes=1)), plan(2), NO_FACTS, NOW)
    assert cooled.verdict is Verdict.DIAL


def test_a_closed_window_sleeps_until_it_opens() -> None:
    d = decide(target(NY), plan(1, call_window=NINE_TO_FIVE), NO_FACTS, NOW)
    opens = datetime(2026, 1, 5, 14, tzinfo=UTC)  # 09:00 in New York
    assert (d.verdict, d.wake_us, reasons(d)) == (
        Verdict.SLEEP,
        us(opens),
        [(Reason.WINDOW_CLOSED, 0)],
    )
    assert d.reasons[0].clears_at == opens
    [skip] = d.skips
    assert (skip.reason, skip.clears_us) == (Reason.WINDOW_CLOSED, us(opens))
    assert skip.detail == "outside the calling window in America/New_York Mon 07:00"
    # London is inside its window; the target's own zone wins over the number's
    assert decide(target(LONDON), plan(1, call_window=NINE_TO_FIVE), NO_FACTS, NOW).verdict is (
        Verdict.DIAL
    )
    paris = target(NY, timezone="Europe/Paris")
    assert decide(paris, plan(1, call_window=NINE_TO_FIVE), NO_FACTS, NOW).verdict is Verdict.DIAL


def test_a_window_that_never_opens_sleeps_a_day_with_no_clearing_time() -> None:
    never = CallWindow(frozenset(), time(9), time(17))
    d = decide(target(LONDON), plan(1, call_window=never), NO_FACTS, NOW)
    assert (d.verdict, d.wake_us) == (Verdict.SLEEP, us(NOW) + DAY_US)
    [said] = d.reasons
    assert said.clears_at is None and said.detail.endswith("within the search horizon)")
    assert d.skips[0].clears_us is None


def test_per_number_limits_sleep_until_the_last_clears() -> None:
    calls = {NY.target: [us(NOW) - 3_600_000_000, us(NOW) - 60_000_000]}
    p = plan(3, max_attempts_per_number_24h=2, min_number_gap=600_000)
    d = decide(target(NY), p, replace(NO_FACTS, calls=calls), NOW)
    limit_clears = us(NOW) - 3_600_000_000 + DAY_US
    assert (d.verdict, d.wake_us) == (Verdict.SLEEP, limit_clears)
    assert [s.reason for s in d.skips] == [Reason.NUMBER_GAP, Reason.NUMBER_LIMIT]
    assert reasons(d) == [(Reason.NUMBER_GAP, 0), (Reason.NUMBER_LIMIT, 0)]
    assert d.reasons[0].detail.startswith(NY.target + ": ")


def test_a_closed_window_is_the_sleep_when_limits_also_block() -> None:
    calls = {NY.target: [us(NOW) - 60_000_000]}
    p = plan(3, call_window=NINE_TO_FIVE, min_number_gap=600_000)
    d = decide(target(NY), p, replace(NO_FACTS, calls=calls), NOW)
    assert d.verdict is Verdict.SLEEP and d.wake_us == us(datetime(2026, 1, 5, 14, tzinfo=UTC))
    assert [s.reason for s in d.skips] == [Reason.WINDOW_CLOSED]  # what the claim logs
    assert reasons(d) == [(Reason.WINDOW_CLOSED, 0), (Reason.NUMBER_GAP, 0)]  # what it says


def test_asleep_waits_and_says_why() -> None:
    later = NOW + timedelta(hours=2)
    window = plan(1, call_window=NINE_TO_FIVE)
    still = decide(target(NY, not_before=later), window, NO_FACTS, NOW)
    assert (still.verdict, reasons(still)) == (Verdict.WAIT, [(Reason.WINDOW_CLOSED, 0)])
    # the rules changed since it was put to sleep: it waits for `not_before` all the same
    freed = decide(target(NY, not_before=later), plan(1), NO_FACTS, NOW)
    assert (freed.verdict, reasons(freed)) == (Verdict.WAIT, [(Reason.SLEEPING, 0)])
    assert freed.reasons[0].clears_at == later and not freed.dialable_now
    awake = decide(target(NY, not_before=NOW), plan(1), NO_FACTS, NOW)
    assert awake.verdict is Verdict.DIAL


def test_the_window_memo_changes_no_answer() -> None:
    memo: dict[tuple[str, ...], tuple[bool, datetime | None]] = {}
    facts = replace(NO_FACTS, windows=memo)
    p = plan(1, call_window=NINE_TO_FIVE)
    first = decide(target(NY), p, facts, NOW)
    assert memo == {("America/New_York",): (True, datetime(2026, 1, 5, 14, tzinfo=UTC))}
    assert decide(target(NY), p, facts, NOW) == first == decide(target(NY), p, NO_FACTS, NOW)
