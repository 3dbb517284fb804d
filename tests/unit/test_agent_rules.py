"""Pure rules of issue 13: agent choice (tags, routing), simulated agents, dispositions, the
72-hour rest of an abandoned number in the dial decision, queue_join appended."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest
from tests.unit.test_decision import NOW, NY, SIP, plan, reasons, target

from outdial.domain.agents import (
    ABANDON_HOLD_US,
    AgentCandidate,
    SimAgent,
    abandon_clears_us,
    choose_agent,
    effective_dial_mode,
    parse_dispositions,
    parse_sim_agent,
    parse_status,
)
from outdial.domain.decision import Facts, Verdict, decide, us
from outdial.domain.dialmode import DialMode
from outdial.domain.eligibility import Reason
from outdial.domain.errors import InvalidArgument

SALES, SUPPORT = uuid.uuid4(), uuid.uuid4()


def agent(n: int, idle_since: int, *tags: uuid.UUID) -> AgentCandidate:
    return AgentCandidate(uuid.UUID(int=n), frozenset(tags), idle_since)


def test_longest_idle_first_among_the_agents_sharing_a_tag() -> None:
    agents = [agent(1, 300, SALES), agent(2, 100, SUPPORT), agent(3, 200, SALES, SUPPORT)]
    order = choose_agent(agents, frozenset({SALES}), "longest-idle", random.Random(1))
    assert [a.id.int for a in order] == [3, 1]
    tried = choose_agent(agents, frozenset({SALES}), "longest-idle", random.Random(1),
                         frozenset({uuid.UUID(int=3)}))  # fmt: skip
    assert [a.id.int for a in tried] == [1]
    # a queue without tags is served by every agent
    assert len(choose_agent(agents, frozenset(), "longest-idle", random.Random(1))) == 3


def test_random_routing_is_seeded_and_spreads() -> None:
    agents = [agent(n, 0, SALES) for n in range(10)]
    first = {choose_agent(agents, frozenset({SALES}), "random", random.Random(s))[0].id
             for s in range(40)}  # fmt: skip
    assert len(first) > 3
    a = choose_agent(agents, frozenset({SALES}), "random", random.Random(5))
    b = choose_agent(list(reversed(agents)), frozenset({SALES}), "random", random.Random(5))
    assert a == b  # the same seed, the same order, whatever order the rows came in


def test_sim_agent_address() -> None:
    assert parse_sim_agent("sim:agent?aht=60&wrap=5") == SimAgent(60.0, 5.0)
    assert parse_sim_agent("sim:agent") == SimAgent()
    assert not parse_sim_agent("sim:agent?answer=0").answer
    for bad in ("sim:agentx", "sim:agent?aht=-1", "sim:agent?aht=nan", "sim:other"):
        with pytest.raises(InvalidArgument):
            parse_sim_agent(bad)
    rng = random.Random(3)
    talks = [SimAgent(120, 10).talk_ms(rng) for _ in range(4000)]
    assert 110_000 < sum(talks) / len(talks) < 130_000  # exponential, mean 120 s


def test_statuses_dispositions_and_default_mode() -> None:
    assert parse_status("away") == "away"
    for bad in ("ringing", "", 3):
        with pytest.raises(InvalidArgument):
            parse_status(bad)
    assert parse_dispositions(["sale", "no_sale", "sale"]) == ["sale", "no_sale"]
    for bad in ([""], [" "], ["a b"], ["x" * 65], "sale", [1]):
        with pytest.raises(InvalidArgument):
            parse_dispositions(bad)
    assert effective_dial_mode("", has_queue=True) is DialMode.POWER
    assert effective_dial_mode("predictive", has_queue=True) is DialMode.PREDICTIVE
    assert effective_dial_mode("predictive", has_queue=False) is None


def test_abandoned_number_rests_72_hours() -> None:
    abandoned_at = us(NOW - timedelta(hours=1))
    facts = Facts(listed={}, calls={}, abandoned={NY.target: abandoned_at})
    d = decide(target(NY), plan(3), facts, NOW)
    assert d.verdict is Verdict.SLEEP and d.wake_us == abandoned_at + ABANDON_HOLD_US
    assert reasons(d) == [(Reason.ABANDON_HOLD, 0)]
    assert [s.reason for s in d.skips] == [Reason.ABANDON_HOLD]
    later = NOW + timedelta(hours=71, minutes=1)
    assert decide(target(NY), plan(3), facts, later).verdict is Verdict.DIAL
    # other numbers and SIP destinations are not held
    assert decide(target(SIP), plan(3), facts, NOW).verdict is Verdict.DIAL
    assert abandon_clears_us([], us(NOW)) is None
    assert abandon_clears_us([abandoned_at], abandoned_at + ABANDON_HOLD_US) is None
