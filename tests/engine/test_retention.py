"""Retention: old events and delivery records are pruned; events a webhook has not yet been
given are kept until it has them. Each test has a database of its own (the prune walks the
whole events table). Events carry the wall-clock time of their commit, so the tests age them
by rewriting that time; delivery records follow the services' clock."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.domain.errors import InvalidArgument
from outdial.engine.retention import Pruner
from outdial.engine.webhooks import WebhookWorker
from outdial.services.container import Services
from outdial.services.retention import RetentionService
from outdial.services.webhooks import WebhookService
from outdial.storage.db import Database
from outdial.storage.tables import events, webhook_deliveries
from outdial.storage.timeconv import to_us
from tests.integration.test_import import one_json, outdial_cli
from tests.receiver import Receiver

DAY = 86_400.0


@pytest.fixture
async def db(isolated_database_url: str) -> AsyncIterator[Database]:
    database = Database(isolated_database_url)
    yield database
    await database.dispose()


async def _age(services: Services, clock: FakeClock, me: uuid.UUID, days: float) -> None:
    """Date every event of the customer so far `days` before the clock's now."""
    at = to_us(clock.now()) - int(days * DAY * 1_000_000)
    async with services.ctx.db.write() as conn:
        await conn.execute(sa.update(events).where(events.c.customer_id == me).values(tm_create=at))


async def _count(services: Services, table: sa.Table, customer_id: uuid.UUID) -> int:
    async with services.ctx.db.read() as conn:
        stmt = sa.select(sa.func.count()).select_from(table)
        return int(
            (await conn.execute(stmt.where(table.c.customer_id == customer_id))).scalar_one()
        )


async def _outdials(services: Services, me: uuid.UUID, n: int) -> None:
    for k in range(n):
        await services.outdials.create(me, {"name": f"o{k}"})


async def test_old_events_go_and_recent_ones_stay(services: Services, clock: FakeClock) -> None:
    me = (await services.customers.create("r")).id
    await _outdials(services, me, 5)
    await _age(services, clock, me, 31)
    await _outdials(services, me, 2)
    pruned = await RetentionService(services.ctx).prune(30, batch=2)  # several batches
    assert (pruned.events, pruned.kept_undelivered) == (5, 0)
    assert await _count(services, events, me) == 2
    again = await RetentionService(services.ctx).prune(30)
    assert again.events == 0


async def test_undelivered_events_wait_for_the_webhook(
    services: Services, clock: FakeClock
) -> None:
    async with Receiver() as hook:
        me = (await services.customers.create("hooked")).id
        await services.events.set_webhook(me, me, {"webhook_uri": hook.url})
        await _outdials(services, me, 3)
        await _age(services, clock, me, 40)
        retention = RetentionService(services.ctx)
        pruned = await retention.prune(30)
        assert (pruned.events, pruned.kept_undelivered) == (0, 3)
        worker = WebhookWorker(WebhookService(services.ctx), clock)
        async with worker.connected():
            await worker.round()
        assert len(hook.received) == 3
        assert await _count(services, webhook_deliveries, me) == 3
        pruned = await retention.prune(30)
        assert (pruned.events, pruned.kept_undelivered) == (3, 0)
        assert pruned.deliveries == 0  # the delivery records are new
        await clock.advance(31 * DAY)
        assert (await retention.prune(30)).deliveries == 3
        assert await _count(services, webhook_deliveries, me) == 0


async def test_retention_must_be_positive(services: Services) -> None:
    with pytest.raises(InvalidArgument):
        await RetentionService(services.ctx).prune(0)


async def test_pruner_runs_in_the_background(services: Services, clock: FakeClock) -> None:
    me = (await services.customers.create("bg")).id
    await _outdials(services, me, 2)
    await _age(services, clock, me, 2)
    pruner = Pruner(RetentionService(services.ctx), 1.0, every_s=3600, first_after_s=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(pruner.run(stop))
    for _ in range(1500):  # a wait (up to 30 s on a loaded machine), not a bound on speed
        if await _count(services, events, me) == 0:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert await _count(services, events, me) == 0
    keep_all = Pruner(RetentionService(services.ctx), 0.0, first_after_s=0.0)
    await asyncio.wait_for(keep_all.run(asyncio.Event()), 1)  # 0 days: returns at once


async def test_cli_prune(sqlite_database_url: str) -> None:
    """`outdial events prune` deletes the events older than the given days and keeps the rest."""
    url = sqlite_database_url
    clock = FakeClock(datetime.now(UTC))  # the CLI prunes against the real clock
    services = Services.build(Database(url), clock)
    try:
        me = (await services.customers.create("x")).id
        await _outdials(services, me, 4)
        await _age(services, clock, me, 10)
        await _outdials(services, me, 3)
        before = await _count(services, events, me)
    finally:
        await services.ctx.db.dispose()
    assert before == 7
    done = await asyncio.to_thread(
        outdial_cli, "events", "prune", "--older-than-days", "7", "--database-url", url
    )
    assert done.returncode == 0, done.stderr
    assert one_json(done) == {
        "events_deleted": 4,
        "deliveries_deleted": 0,
        "events_kept_undelivered": 0,
        "older_than_days": 7.0,
    }
    services = Services.build(Database(url), clock)
    try:
        async with services.ctx.db.read() as conn:
            stmt = sa.select(events.c.data).where(events.c.customer_id == me)
            kept = (await conn.execute(stmt)).scalars()
            names = sorted(json.loads(data)["name"] for data in kept)
    finally:
        await services.ctx.db.dispose()
    assert names == ["o0", "o1", "o2"]  # the three recent ones
    bad = await asyncio.to_thread(
        outdial_cli, "events", "prune", "--older-than-days", "0", "--database-url", url
    )
    assert bad.returncode == 2
    assert one_json(bad)["error"]["status"] == "INVALID_ARGUMENT"
