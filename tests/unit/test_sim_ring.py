"""SimTelephony's ring time: exactly `ring_ms` by default; with `ring_shape` a seeded gamma
draw of mean `ring_ms` (bench_agents' realistic rings), bounded by the dial timeout."""

from __future__ import annotations

import statistics

from outdial.clock import FakeClock
from outdial.telephony.sim import SimTelephony


def test_the_default_rings_exactly_ring_ms() -> None:
    sim = SimTelephony(FakeClock(), ring_ms=8000)
    assert {sim._ring_ms(30_000) for _ in range(50)} == {8000}


def test_a_ring_shape_draws_gamma_times_of_that_mean_repeatably() -> None:
    draws = [SimTelephony(FakeClock(), ring_ms=8000, ring_shape=4.0, seed=3) for _ in range(2)]
    first = [draws[0]._ring_ms(30_000) for _ in range(4000)]
    assert first == [draws[1]._ring_ms(30_000) for _ in range(4000)]
    assert 7600 < statistics.fmean(first) < 8400
    # gamma with shape 4: standard deviation mean / 2
    assert 3500 < statistics.pstdev(first) < 4500
    assert min(first) >= 1 and max(first) <= 29_999


def test_a_draw_never_reaches_the_dial_timeout() -> None:
    sim = SimTelephony(FakeClock(), ring_ms=8000, ring_shape=0.5, seed=1)
    assert max(sim._ring_ms(10_000) for _ in range(2000)) <= 9_999
