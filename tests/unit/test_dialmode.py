"""The four dial modes (SPEC 7) and the predictive mode's boundaries (issue 13)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outdial.domain.dialmode import (
    AbandonWindows,
    AgentPhase,
    AgentView,
    Counts,
    DialMode,
    Measures,
    PaceReason,
    PacingPolicy,
    PacingStats,
    PredictiveTuning,
    Snapshot,
    power_calls,
    progressive_calls,
)

S = 1_000_000
NOW = 1_767_600_000 * S
IDLE, TALK, WRAP = AgentPhase.IDLE, AgentPhase.TALKING, AgentPhase.WRAPUP


def agents(*spec: tuple[AgentPhase, float]) -> tuple[AgentView, ...]:
    """(phase, seconds in it) pairs."""
    return tuple(AgentView(phase, NOW - round(s * S)) for phase, s in spec)


def warm_stats(answered: int = 300, rate: float = 0.3) -> PacingStats:
    """A campaign that has measured `answered` answers: 8 s rings, 120 s talk, 10 s wrap-up."""
    stats = PacingStats()
    unanswered = round(answered * (1 - rate) / rate)
    t = NOW - 3600 * S
    for i in range(answered + unanswered):
        stats.placed(t)
        stats.ring_ended(t, 8 * S if i < answered else 30 * S, answered=i < answered)
    for i in range(answered):
        stats.connected(t, 0)
        stats.call_ended(t, 60 * S + (i % 120) * S)  # 60..179 s: mean 120 s
        stats.wrapup_ended(t, 10 * S)
    return stats


def with_windows(measures: Measures, windows: AbandonWindows) -> Measures:
    return Measures(
        measures.answer_rate,
        measures.ring_answered,
        measures.ring_unanswered,
        measures.handle,
        measures.wrapup,
        measures.answered_seen,
        windows,
    )


COLD = PacingStats().measures(NOW)
WARM = warm_stats().measures(NOW)


# --- preview, progressive, power ------------------------------------------------------------
def test_preview_never_dials() -> None:
    snap = Snapshot(NOW, agents((IDLE, 5), (IDLE, 9)))
    decision = PacingPolicy(DialMode.PREVIEW).decide(snap, WARM)
    assert (decision.calls, decision.reason) == (0, PaceReason.PREVIEW)


@pytest.mark.parametrize(
    ("idle", "busy", "ringing", "waiting", "expected"),
    [
        (3, 0, 0, 0, 3),
        (3, 2, 1, 0, 2),  # one idle agent already has its call ringing
        (3, 0, 1, 1, 1),  # and one has a callee waiting for it
        (2, 0, 5, 0, 0),  # more ringing than idle agents
        (0, 4, 0, 0, 0),  # all busy
    ],
)
def test_progressive_one_call_per_idle_agent(
    idle: int, busy: int, ringing: int, waiting: int, expected: int
) -> None:
    snap = Snapshot(
        NOW,
        agents(*[(IDLE, 1)] * idle, *[(TALK, 30)] * busy),
        ringing_since_us=(NOW,) * ringing,
        waiting=waiting,
    )
    decision = PacingPolicy(DialMode.PROGRESSIVE).decide(snap, WARM)
    assert (decision.calls, decision.reason) == (expected, PaceReason.PROGRESSIVE)
    assert progressive_calls(snap) == expected


@pytest.mark.parametrize(
    ("available", "dialing", "level", "expected"),
    [
        (1, 0, 100, 1),  # VoIPBIN's own test case: one agent, nothing dialing, level 100
        (4, 1, 100, 3),
        (4, 4, 100, 0),
        (4, 6, 100, 0),
        (3, 0, 50, 1),  # floor(1.5)
        (3, 1, 50, 0),
        (3, 0, 33, 0),  # floor(0.99): integer arithmetic as in Go
        (5, 0, 0, 0),  # service level 0 never dials
        (0, 0, 100, 0),  # nobody available
        (5, 2, 250, 10),  # above 100: a dial ratio
    ],
)
def test_power_is_voipbins_rule(available: int, dialing: int, level: int, expected: int) -> None:
    assert power_calls(available, dialing, level) == expected
    # the count reached is the last for which floor(available * level / 100) > dialing held
    if expected:
        assert available * level // 100 > dialing + expected - 1
    assert not available * level // 100 > dialing + expected


def test_power_counts_available_agents_and_unanswered_calls() -> None:
    snap = Snapshot(
        NOW,
        agents((IDLE, 1), (IDLE, 1), (IDLE, 1), (IDLE, 1), (TALK, 50), (WRAP, 3)),
        ringing_since_us=(NOW - S,),
        waiting=1,  # answered calls are no longer `dialing`
    )
    policy = PacingPolicy(DialMode.POWER, service_level=50)
    assert policy.decide(snap, WARM).calls == 1  # floor(4 * 50 / 100) - 1
    assert PacingPolicy(DialMode.POWER, service_level=100).decide(snap, WARM).calls == 3


@pytest.mark.parametrize("mode", list(DialMode))
def test_no_agents_no_calls(mode: DialMode) -> None:
    decision = PacingPolicy(mode).decide(Snapshot(NOW), WARM)
    assert decision.calls == 0
    assert decision.reason in {PaceReason.NO_AGENTS, PaceReason.PREVIEW}


# --- predictive -------------------------------------------------------------------------------
PRED = PacingPolicy(DialMode.PREDICTIVE)
BUSY_TEAM = agents(*[(TALK, 100)] * 16, *[(WRAP, 8)] * 4)  # 4 agents free in about 2 s


def test_predictive_cold_start_dials_progressive() -> None:
    snap = Snapshot(NOW, agents((IDLE, 1), (IDLE, 1), (TALK, 5)))
    decision = PRED.decide(snap, COLD)
    assert (decision.calls, decision.reason) == (2, PaceReason.WARMING_UP)
    assert PRED.decide(Snapshot(NOW, BUSY_TEAM), COLD).calls == 0


def test_predictive_dials_ahead_of_agents_becoming_free() -> None:
    decision = PRED.decide(Snapshot(NOW, BUSY_TEAM), WARM)
    assert decision.reason is PaceReason.PREDICTIVE
    assert decision.calls > 0  # progressive would wait: nobody is idle
    assert progressive_calls(Snapshot(NOW, BUSY_TEAM)) == 0


def test_predictive_counts_calls_already_ringing() -> None:
    before = PRED.decide(Snapshot(NOW, BUSY_TEAM), WARM).calls
    ringing = tuple(NOW - 2 * S for _ in range(before))
    assert PRED.decide(Snapshot(NOW, BUSY_TEAM, ringing), WARM).calls < before
    flooded = tuple(NOW - 2 * S for _ in range(40))
    assert PRED.decide(Snapshot(NOW, BUSY_TEAM, flooded), WARM).calls == 0


def test_predictive_dials_more_when_agents_free_sooner() -> None:
    soon = agents(*[(TALK, 100)] * 10, *[(WRAP, 9)] * 10)
    later = agents(*[(TALK, 100)] * 10, *[(WRAP, 1)] * 10)
    assert (
        PRED.decide(Snapshot(NOW, soon), WARM).calls > PRED.decide(Snapshot(NOW, later), WARM).calls
    )


def test_predictive_throttles_to_progressive_at_the_ceiling() -> None:
    hot = Counts(answered=1000, abandoned=27)  # 2.7 %: past 80 % of the 3 % ceiling
    snap = Snapshot(NOW, (*BUSY_TEAM, *agents((IDLE, 1))))
    for windows in (
        AbandonWindows(month=hot),
        AbandonWindows(today=hot),
        AbandonWindows(recent=Counts(answered=200, abandoned=5)),
    ):
        decision = PRED.decide(snap, with_windows(WARM, windows))
        assert (decision.calls, decision.reason) == (1, PaceReason.THROTTLED)


def test_predictive_dials_less_as_the_measured_rate_rises() -> None:
    counts = [
        PRED.decide(
            Snapshot(NOW, BUSY_TEAM),
            with_windows(WARM, AbandonWindows(recent=Counts(answered=1000, abandoned=k))),
        ).calls
        for k in (0, 10, 15, 20, 23, 24)
    ]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] > counts[-1] == 0


def test_predictive_with_a_zero_ceiling_is_progressive() -> None:
    policy = PacingPolicy(DialMode.PREDICTIVE, max_abandon_rate=0)
    decision = policy.decide(Snapshot(NOW, BUSY_TEAM), WARM)
    assert (decision.calls, decision.reason) == (0, PaceReason.THROTTLED)


def test_predictive_stays_under_the_line_limit() -> None:
    idle_team = agents(*[(IDLE, 1)] * 10)
    tuning = PredictiveTuning(max_lines_per_agent=1.5)
    decision = PacingPolicy(DialMode.PREDICTIVE, tuning=tuning).decide(
        Snapshot(NOW, idle_team), WARM
    )
    assert decision.calls == 15
    ringing = (NOW,) * 12
    assert (
        PacingPolicy(DialMode.PREDICTIVE, tuning=tuning)
        .decide(Snapshot(NOW, idle_team, ringing), WARM)
        .calls
        <= 3
    )


phases = st.sampled_from([AgentPhase.IDLE, AgentPhase.RESERVED, TALK, WRAP])


@settings(max_examples=60, deadline=None)
@given(
    team=st.lists(st.tuples(phases, st.integers(0, 900)), max_size=30),
    ringing=st.lists(st.integers(0, 40), max_size=60),
    waiting=st.integers(0, 3),
)
def test_predictive_between_progressive_and_the_line_limit(
    team: list[tuple[AgentPhase, int]], ringing: list[int], waiting: int
) -> None:
    snap = Snapshot(
        NOW,
        agents(*team),
        ringing_since_us=tuple(NOW - r * S for r in ringing),
        waiting=waiting,
    )
    calls = PRED.decide(snap, WARM).calls
    assert calls >= progressive_calls(snap)
    if team:
        assert calls <= max(progressive_calls(snap), 3 * len(team) - len(ringing))
    else:
        assert calls == 0
