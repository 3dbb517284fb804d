"""benchmarks/stepclock.py: the benchmark clock wakes each sleeper at its own deadline and lets
the program settle (real-time work included) before time moves on; FakeClock, for contrast,
quantises every wake-up to the end of the step."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime

from benchmarks.stepclock import SteppingClock

from outdial.clock import FakeClock


def offset(clock: FakeClock, start: datetime) -> float:
    return round((clock.now() - start).total_seconds(), 6)


async def sleeper(clock: FakeClock, start: datetime, gaps: list[float], seen: list[float]) -> None:
    for gap in gaps:
        await clock.sleep(gap)
        seen.append(offset(clock, start))


async def test_each_sleeper_wakes_at_its_own_deadline() -> None:
    clock = SteppingClock()
    start, seen = clock.now(), list[float]()
    tasks = [
        asyncio.create_task(sleeper(clock, start, [0.3], seen)),
        asyncio.create_task(sleeper(clock, start, [0.1, 0.1, 0.1, 0.1], seen)),
        asyncio.create_task(sleeper(clock, start, [0.05], seen)),
    ]
    await asyncio.sleep(0)
    await clock.advance(0.25)
    assert seen == [0.05, 0.1, 0.2]
    assert offset(clock, start) == 0.25
    await clock.advance(0.25)
    assert seen == [0.05, 0.1, 0.2, 0.3, 0.3, 0.4]
    await asyncio.gather(*tasks)


async def test_fake_clock_quantises_to_the_step_for_contrast() -> None:
    clock = FakeClock()
    start, seen = clock.now(), list[float]()
    task = asyncio.create_task(sleeper(clock, start, [0.1, 0.1, 0.1], seen))
    await asyncio.sleep(0)
    await clock.advance(0.25)
    assert seen == [0.25]  # woke late, and the next 0.1 s sleeps start from there
    await clock.advance(0.25)
    assert seen == [0.25, 0.5]
    task.cancel()


async def test_time_does_not_move_while_work_outside_the_loop_runs() -> None:
    in_flight = threading.Event()
    clock = SteppingClock(busy=in_flight.is_set)
    start, seen = clock.now(), list[float]()

    def slow_write() -> None:
        time.sleep(0.05)  # a database write, in real time
        in_flight.clear()

    async def worker() -> None:
        await clock.sleep(0.1)
        in_flight.set()
        await asyncio.to_thread(slow_write)
        seen.append(offset(clock, start))  # the write took no simulated time
        await clock.sleep(0.1)
        seen.append(offset(clock, start))

    task = asyncio.create_task(worker())
    await asyncio.sleep(0)
    await clock.advance(1.0)
    assert seen == [0.1, 0.2]
    await task


async def test_a_cancelled_sleeper_is_dropped() -> None:
    clock = SteppingClock()
    start, seen = clock.now(), list[float]()
    gone = asyncio.create_task(sleeper(clock, start, [0.1], seen))
    kept = asyncio.create_task(sleeper(clock, start, [0.2], seen))
    await asyncio.sleep(0)
    gone.cancel()
    await clock.advance(0.5)
    assert seen == [0.2] and clock.pending == 0
    await kept
