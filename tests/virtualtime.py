"""An asyncio event loop on virtual time, for tests of real timers (SIP timers A and B, RTP
pacing) that must not depend on how loaded the machine is.

`loop.time()` starts at 0 and moves only while the loop is idle: when no callback is ready and
no I/O arrives within `IDLE_S` of real time, it jumps to the next scheduled timer. Every
`call_later` and `asyncio.sleep` therefore fires at exactly its scheduled virtual instant, so a
test can assert "timer B fired at 3.2 s" and "INVITEs left at 0, 50, 150 ms" exactly, however
slow the machine. Loopback I/O and threads still run in real time: the loop waits up to
`IDLE_S` for them before it concludes that nothing is coming before the next timer.

Run a coroutine with `run(main())`; the test itself is a plain (synchronous) test.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
IDLE_S = 0.02


class _Selector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    loop: VirtualTimeLoop | None = None

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is None or timeout <= 0:
            return list(super().select(timeout))  # I/O only, or something is ready now
        ready = list(super().select(min(timeout, IDLE_S)))
        if not ready and self.loop is not None:
            self.loop.now += timeout  # idle: the next timer is due now
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        selector = _Selector()
        super().__init__(selector)
        self.now = 0.0
        selector.loop = self

    def time(self) -> float:
        return self.now


def run(main: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main)
