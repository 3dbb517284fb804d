"""A small harness: an engine on the FakeClock with simulated telephony, driven step by step.

Nothing in it depends on the real clock: a tick is one engine step, a FakeClock advance and a
wait until the attempts it started are recorded."""

from __future__ import annotations

import uuid
from typing import Any

from outdial.clock import FakeClock
from outdial.engine.engine import Engine, EngineConfig
from outdial.services.container import Services
from outdial.services.dialing import DialingService
from outdial.telephony.sim import SimTelephony


class Harness:
    def __init__(self, services: Services, clock: FakeClock, **config: Any) -> None:
        self.services = services
        self.clock = clock
        self.sim = SimTelephony(clock, ring_ms=200, action_ms=100)
        self.engine = Engine(
            DialingService(services.ctx),
            self.sim,
            clock,
            # rest_factor 0: the rest after an empty claim is measured on the real clock (the
            # claim's own duration), so on a loaded machine it would come and go at random;
            # tests of the rest turn it on (test_engine_rules.py).
            EngineConfig(**{"drain_timeout_s": 0.0, "rest_factor": 0.0, **config}),
        )
        self.customer_id = uuid.UUID(int=0)

    async def __aenter__(self) -> Harness:
        customer = await self.services.customers.create("harness")
        self.customer_id = customer.id
        await self.engine.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.engine.close()

    async def setup(self, numbers: list[str | list[str]], **plan: Any) -> tuple[Any, Any, Any]:
        s, me = self.services, self.customer_id
        body = {
            "source": {"type": "tel", "target": "+15550000000"},
            "dial_timeout": 5000,
            "try_interval": 60000,
            "max_try_count_0": 2,
            "max_try_count_1": 1,
        }
        body.update(plan.pop("outplan", {}))
        outplan = await s.outplans.create(me, body)
        outdial = await s.outdials.create(me, {"name": "list"})
        for entry in numbers:
            dests = entry if isinstance(entry, list) else [entry]
            await s.targets.create(
                me,
                outdial.id,
                {f"destination_{n}": {"type": "tel", "target": d} for n, d in enumerate(dests)},
            )
        campaign = await s.campaigns.create(
            me,
            {
                "name": "c",
                "outplan_id": str(outplan.id),
                "outdial_id": str(outdial.id),
                "actions": [{"type": "talk", "option": {"text": "hello"}}],
                **plan,
            },
        )
        return outplan, outdial, campaign

    async def run(self, campaign_id: uuid.UUID) -> None:
        await self.services.campaigns.set_status(self.customer_id, campaign_id, {"status": "run"})

    async def tick(self, seconds: float = 0.1, rounds: int = 1) -> None:
        for _ in range(rounds):
            await self.engine.step()
            await self.clock.advance(seconds)
            await self.engine.settle()

    async def targets(self, outdial_id: uuid.UUID) -> list[Any]:
        page = await self.services.targets.list(self.customer_id, outdial_id, None, 100)
        return page.items

    async def calls(self, campaign_id: uuid.UUID) -> list[Any]:
        """Every attempt of the campaign, newest first (all pages, not only the first 100)."""
        found: list[Any] = []
        cursor = None
        while True:
            page = await self.services.campaigncalls.list(
                self.customer_id, cursor, 100, campaign_id=campaign_id
            )
            found += page.items
            if page.cursor is None or len(page.items) < 100:
                return found
            cursor = page.cursor
