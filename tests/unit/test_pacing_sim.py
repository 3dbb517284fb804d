"""The dial modes driving the simulated call center (benchmarks/callcenter.py): properties of
seeded, deterministic runs on simulated time, not timings."""

from __future__ import annotations

import pytest
from benchmarks.callcenter import Result, Scenario, simulate

from outdial.domain.dialmode import DialMode, PacingPolicy

SMALL = Scenario(agents=10, targets=5_000, hours=2.0, seed=7)


@pytest.fixture(scope="module")
def runs() -> dict[str, Result]:
    return {
        "progressive": simulate(SMALL, PacingPolicy(DialMode.PROGRESSIVE)),
        "power": simulate(SMALL, PacingPolicy(DialMode.POWER, service_level=100)),
        "predictive": simulate(SMALL, PacingPolicy(DialMode.PREDICTIVE)),
    }


def test_predictive_beats_progressive_under_the_ceiling(runs: dict[str, Result]) -> None:
    prog, pred = runs["progressive"], runs["predictive"]
    assert pred.answered > 300
    assert pred.abandon_rate <= 0.03
    assert pred.occupancy > prog.occupancy + 0.05
    assert pred.agent_wait_s() < prog.agent_wait_s()


def test_progressive_and_power_100_never_abandon(runs: dict[str, Result]) -> None:
    for name in ("progressive", "power"):
        r = runs[name]
        assert r.answered > 200 and r.abandoned == 0, name
    # with service level 100, VoIPBIN's rule is one call per available agent
    assert runs["power"].placed == runs["progressive"].placed


def test_preview_places_nothing() -> None:
    r = simulate(SMALL, PacingPolicy(DialMode.PREVIEW))
    assert (r.placed, r.talk_us) == (0, 0)
    assert r.occupancy == 0.0


def test_a_run_is_deterministic(runs: dict[str, Result]) -> None:
    again = simulate(SMALL, PacingPolicy(DialMode.PREDICTIVE))
    first = runs["predictive"]
    assert (again.placed, again.answered, again.abandoned, again.talk_us) == (
        first.placed,
        first.answered,
        first.abandoned,
        first.talk_us,
    )


def test_the_run_accounts_for_every_call(runs: dict[str, Result]) -> None:
    for r in runs.values():
        assert r.connected + r.abandoned <= r.answered <= r.placed
        # callees still waiting at the end of the day are at most the agents' number
        assert r.answered - r.connected - r.abandoned <= SMALL.agents
        assert 0.0 <= r.occupancy <= 1.0
