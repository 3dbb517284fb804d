"""`dial_timeout: 0` means "none given: use the system default" (60 s) on every backend (issue
15, item 6): the simulated telephony rings then, not "fail at once"; the engine's lease and
call limit count the default, not 0. (SIP: `tests/sip/test_defects.py` and the call's own
`ring_limit_ms`.)"""

from __future__ import annotations

import asyncio
import uuid

import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.domain.address import Address, AddressType
from outdial.domain.outcome import HangupReason
from outdial.domain.rules import DEFAULT_DIAL_TIMEOUT_MS, ring_limit_ms
from outdial.services.container import Services
from outdial.storage.tables import campaigncalls
from outdial.telephony.base import CallRequest
from outdial.telephony.sim import SimTelephony
from tests.engine.harness import Harness


def _request(number: str, dial_timeout_ms: int) -> CallRequest:
    return CallRequest(
        uuid.uuid4(),
        Address(AddressType.TEL, "+15550000000"),
        Address(AddressType.TEL, number),
        dial_timeout_ms,
    )


async def _nothing() -> None:
    return None


async def _settle() -> None:
    """Let a new task run up to its first sleep on the FakeClock."""
    for _ in range(5):
        await asyncio.sleep(0)


def test_zero_is_the_system_default() -> None:
    assert ring_limit_ms(0) == DEFAULT_DIAL_TIMEOUT_MS == 60_000
    assert ring_limit_ms(1500) == 1500


async def test_the_simulator_rings_the_default_for_zero(clock: FakeClock) -> None:
    sim = SimTelephony(clock, ring_ms=200)
    answering = asyncio.create_task(sim.place_call(_request("+15550001111", 0), _nothing))
    await _settle()
    await clock.advance(0.3)
    answered = await answering
    assert answered.reason is HangupReason.NORMAL  # not "fail at once"
    started = clock.now()
    ringing = asyncio.create_task(sim.place_call(_request("+4085550001", 0), _nothing))
    await _settle()
    await clock.advance(59.9)
    assert not ringing.done()
    await clock.advance(0.2)
    outcome = await ringing
    assert outcome.reason is HangupReason.DIALOUT
    assert (clock.now() - started).total_seconds() >= 60


async def test_the_engine_leases_for_the_default(services: Services, clock: FakeClock) -> None:
    async with Harness(services, clock, lease_grace_s=30.0, max_call_s=10.0) as h:
        _, _, campaign = await h.setup(
            ["+15550001111"], outplan={"dial_timeout": 0, "max_try_count_0": 1}
        )
        await h.run(campaign.id)
        await h.engine.step()
        async with services.ctx.db.read() as conn:
            call = (
                await conn.execute(
                    sa.select(campaigncalls).where(campaigncalls.c.campaign_id == campaign.id)
                )
            ).one()
        lease_s = (call.lease_expires - call.tm_create) / 1_000_000
        assert lease_s == 60 + 10 + 30  # the default ring, the longest call, the grace
        await h.tick(0.5, rounds=4)
        assert [c.result for c in await h.calls(campaign.id)] == ["success"]
