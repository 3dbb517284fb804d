"""Issue 10, items 6 and 7 on a real server (uvicorn on loopback, in this test's loop): open
event streams per customer are limited (429 with Retry-After), and an open stream ends soon
after its key is revoked, whether in this process or straight in the database (as another
process would)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from outdial.api.app import create_app
from outdial.clock import FakeClock
from outdial.domain.limits import Limits
from outdial.domain.netpolicy import NetworkPolicy
from outdial.services.container import Services
from outdial.services.customers import hash_token
from outdial.storage.db import Database
from outdial.storage.tables import accesskeys
from tests.conftest import LOOPBACK

SAFETY_S = 20  # only so that a broken stream cannot hang the suite


@contextlib.asynccontextmanager
async def serving(services: Services) -> AsyncIterator[str]:
    app = create_app(services)
    app.state.ready = True
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
def streams_services(db: Database, clock: FakeClock) -> Services:
    limits = Limits(event_streams=2)
    return Services.build(db, clock, network=NetworkPolicy.from_text(LOOPBACK), limits=limits)


async def _key(services: Services) -> tuple[object, str]:
    customer = await services.customers.create("streamer")
    key, token = await services.customers.create_accesskey(customer.id, "s")
    return key, token


async def _read_until_closed(chunks: AsyncIterator[str]) -> list[str]:
    seen: list[str] = []
    async with asyncio.timeout(SAFETY_S):
        async for chunk in chunks:
            seen.append(chunk)
    return seen


async def test_a_revoked_key_ends_its_open_stream(streams_services: Services) -> None:
    services = streams_services
    key, token = await _key(services)
    async with serving(services) as url, httpx.AsyncClient(base_url=url, timeout=None) as http:
        headers = {"Authorization": f"Bearer {token}"}
        async with http.stream("GET", "/v1.0/events", headers=headers) as response:
            assert response.status_code == 200
            chunks = response.aiter_text()
            assert (await anext(chunks)).startswith("retry:")
            await services.customers.delete_accesskey(key.id)  # type: ignore[attr-defined]
            await _read_until_closed(chunks)  # the stream ends on its own
        assert (await http.get("/v1.0/events", headers=headers)).status_code == 401


async def test_a_key_revoked_elsewhere_ends_the_stream(streams_services: Services) -> None:
    """Another process revokes in the database; this one's cache still knows the key."""
    services = streams_services
    _, token = await _key(services)
    async with serving(services) as url, httpx.AsyncClient(base_url=url, timeout=None) as http:
        async with http.stream("GET", f"/v1.0/events?token={token}") as response:
            assert response.status_code == 200
            chunks = response.aiter_text()
            await anext(chunks)
            async with services.ctx.db.write() as conn:
                await conn.execute(
                    sa.update(accesskeys)
                    .where(accesskeys.c.token_hash == hash_token(token))
                    .values(tm_delete=services.ctx.now_us())
                )
            await _read_until_closed(chunks)


async def test_open_streams_per_customer_are_limited(streams_services: Services) -> None:
    services = streams_services
    _, token = await _key(services)
    _, other = await _key(services)
    async with serving(services) as url, httpx.AsyncClient(base_url=url, timeout=None) as http:
        async with contextlib.AsyncExitStack() as stack:
            held = []  # (a dropped iterator would close its stream)
            for _ in range(2):
                r = await stack.enter_async_context(
                    http.stream("GET", f"/v1.0/events?token={token}")
                )
                assert r.status_code == 200
                held.append(r.aiter_text())
                await anext(held[-1])
            async with asyncio.timeout(SAFETY_S):  # (a stream let through would never end)
                third = await http.get(f"/v1.0/events?token={token}")
            assert third.status_code == 429
            assert third.json()["error"]["reason"] == "TOO_MANY_STREAMS"
            assert third.headers["retry-after"] == "5"
            async with http.stream("GET", f"/v1.0/events?token={other}") as theirs:
                assert theirs.status_code == 200  # another customer has its own count
        # the two streams closed: their slots are free again
        mine = await services.customers.authenticate(token)
        async with asyncio.timeout(SAFETY_S):
            while services.limits.streams(mine) > 0:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        async with http.stream("GET", f"/v1.0/events?token={token}") as again:
            assert again.status_code == 200
