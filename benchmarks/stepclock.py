"""A fake clock for benchmarks that wakes every sleeper at its own deadline (issue 13).

`outdial.clock.FakeClock.advance(step)` moves time by the whole step and then wakes every
sleeper whose deadline passed, all at once at the end of the step, and gives the woken tasks
five turns of the event loop. In a benchmark that moves the clock `step` seconds at a time
while the database works in real time, that biases what is measured:

- every event is quantised up to the end of its step (an agent freed at t + 0.01 is seen at
  t + step; a waiting callee's 100 ms polls become one poll per step, so it looks for an agent
  fewer times within its 2 s);
- work that needs the database takes more than five loop turns, so it runs on while the
  clock moves on: simulated time passes during real-time database work, and a callee waits
  (and is abandoned) for the time the harness took to write a row.

`SteppingClock` removes both: `advance(step)` walks through the sleepers' deadlines in order,
sets the time to each deadline exactly, wakes the sleepers due then, and lets the program
**settle** (run until no task is ready and no database connection is checked out) before the
time moves again. Simulated time then only passes while the program waits for the clock, as
it would if the database were instant. The clock is for benchmarks and tests that drive
`advance` themselves; the engine and services see an ordinary `Clock`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta

from outdial.clock import FakeClock

SETTLE_IDLE_TURNS = 3  # consecutive quiet checks before the program counts as settled
SETTLE_LIMIT_S = 30.0  # real seconds: a program busy that long is stuck, not settling


class SteppingClock(FakeClock):
    """`FakeClock` whose sleepers wake at their deadlines, one deadline at a time.

    `busy`: a callable telling whether work outside the event loop is in flight (e.g. a
    database connection checked out); `settle` waits until it says no and no task is ready.
    """

    def __init__(
        self, start: datetime | None = None, *, busy: Callable[[], bool] | None = None
    ) -> None:
        super().__init__(start)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self.busy = busy or (lambda: False)
        self.wakeups = 0  # distinct deadlines stepped through (for the benchmark's report)

    async def sleep(self, seconds: float) -> None:
        deadline = self._now + timedelta(seconds=max(0.0, seconds))
        if deadline <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._seq), future))
        await future

    async def advance(self, seconds: float) -> None:
        target = self._now + timedelta(seconds=seconds)
        await self.settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            self._now = max(self._now, self._sleepers[0][0])
            self.wakeups += 1
            while self._sleepers and self._sleepers[0][0] <= self._now:
                _, _, future = heapq.heappop(self._sleepers)
                if not future.done():  # a cancelled sleeper is simply dropped
                    future.set_result(None)
            await self.settle()
        self._now = max(self._now, target)

    async def settle(self) -> None:
        """Run the loop until nothing is ready to run and nothing is in flight elsewhere."""
        loop = asyncio.get_running_loop()
        quiet, give_up = 0, loop.time() + SETTLE_LIMIT_S
        while quiet < SETTLE_IDLE_TURNS:
            if loop.time() > give_up:
                raise RuntimeError(f"the program did not settle within {SETTLE_LIMIT_S} s")
            await asyncio.sleep(0)
            ready = getattr(loop, "_ready", ())  # CPython's queue of runnable callbacks
            if self.busy():
                quiet = 0
                await asyncio.sleep(0.0002)  # a database thread is working: real time
            elif len(ready):
                quiet = 0
            else:
                quiet += 1

    @property
    def pending(self) -> int:
        """Sleepers not woken yet (cancelled ones included until their deadline)."""
        return len(self._sleepers)
