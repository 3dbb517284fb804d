"""Two customers in one database: webhook deliveries, replay and the event stream show each
customer its own events only (the REST API over HTTP; the event stream through a real server).

The customers' changes are interleaved, so that the other customer's events sit between one's
own: a leak would show up in the middle of a list, not only at its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn

from outdial.api.app import create_app
from outdial.clock import FakeClock
from outdial.engine.webhooks import WebhookConfig, WebhookWorker
from outdial.services import events
from outdial.services.container import Services
from outdial.services.webhooks import WebhookService
from tests.conftest import Tenant
from tests.receiver import Receiver


async def _interleaved(a: Tenant, b: Tenant, rounds: int = 3) -> None:
    for n in range(rounds):
        await a.ok("POST", "/v1.0/outdials", json={"name": f"a{n}"})
        await b.ok("POST", "/v1.0/outdials", json={"name": f"b{n}"})
    await a.ok("POST", "/v1.0/outdials", json={"name": "a last"})  # A has the newest event


async def _event_ids(services: Services, customer_id: uuid.UUID) -> list[int]:
    async with services.ctx.db.read() as conn:
        return [e.id for e in await events.after(conn, customer_id, 0, 10_000)]


async def _hooked(tenant: Tenant, hook: Receiver) -> None:
    me = str(tenant.customer_id)
    await tenant.ok("PUT", f"/v1.0/customers/{me}", json={"webhook_uri": hook.url})


async def _deliver(worker: WebhookWorker) -> None:
    async with worker.connected():
        for _ in range(3):
            await worker.round()


async def test_webhook_deliveries_and_replay_stay_with_their_customer(
    services: Services, clock: FakeClock, tenant: Tenant, other_tenant: Tenant
) -> None:
    worker = WebhookWorker(WebhookService(services.ctx), clock, WebhookConfig(timeout_s=5.0))
    async with Receiver() as hook_a, Receiver() as hook_b:
        await _hooked(tenant, hook_a)
        await _hooked(other_tenant, hook_b)
        await _interleaved(tenant, other_tenant)
        await _deliver(worker)
        a_ids = await _event_ids(services, tenant.customer_id)
        b_ids = await _event_ids(services, other_tenant.customer_id)
        assert min(b_ids) < max(a_ids) and not set(a_ids) & set(b_ids)
        assert [r.json()["id"] for r in hook_a.received] == a_ids
        assert [r.json()["id"] for r in hook_b.received] == b_ids

        for who, ids, hook in ((tenant, a_ids, hook_a), (other_tenant, b_ids, hook_b)):
            listed = (await who.ok("GET", "/v1.0/webhook_deliveries"))["result"]
            assert sorted(d["event_id"] for d in listed) == ids
            assert {d["uri"] for d in listed} == {hook.url}
            assert all(d["ok"] and d["attempt"] == 1 for d in listed)

        # A replays everything: A's receiver gets A's events again, B's receiver nothing
        await tenant.ok("POST", "/v1.0/events/replay", json={"from_event_id": 1})
        await _deliver(worker)
        assert [r.json()["id"] for r in hook_a.received] == a_ids + a_ids
        assert len(hook_b.received) == len(b_ids)
        # B replays from one of A's event ids: B gets its own later events, never A's
        await other_tenant.ok("POST", "/v1.0/events/replay", json={"from_event_id": a_ids[1]})
        await _deliver(worker)
        again = [r.json()["id"] for r in hook_b.received[len(b_ids) :]]
        assert again == [i for i in b_ids if i >= a_ids[1]] and again
        listed_b = (await other_tenant.ok("GET", "/v1.0/webhook_deliveries"))["result"]
        assert {d["event_id"] for d in listed_b} == set(b_ids)
        assert len(listed_b) == len(b_ids) + len(again)


@contextlib.asynccontextmanager
async def _served(services: Services) -> AsyncIterator[str]:
    """The API on a real HTTP server in this event loop, on a port the kernel picked."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app = create_app(services)
    app.state.ready = True
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not task.done(), task
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _stream_ids(url: str, tenant: Tenant, until: int, **request: Any) -> list[int]:
    """Event ids from GET /v1.0/events until the event `until` arrives (a wait, not a bound)."""
    seen: list[int] = []
    headers = {"Authorization": f"Bearer {tenant.token}", **request.pop("headers", {})}
    async with (
        asyncio.timeout(60),
        httpx.AsyncClient(base_url=url, timeout=30) as client,
        client.stream("GET", "/v1.0/events", headers=headers, **request) as response,
    ):
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                event = json.loads(line.removeprefix("data: "))
                seen.append(event["id"])
                if event["id"] >= until:
                    return seen
    raise AssertionError(f"the stream ended after {seen}")


async def test_event_stream_shows_each_customer_its_own_events(
    services: Services, tenant: Tenant, other_tenant: Tenant
) -> None:
    await _interleaved(tenant, other_tenant)
    a_ids = await _event_ids(services, tenant.customer_id)
    b_ids = await _event_ids(services, other_tenant.customer_id)
    assert min(b_ids) < max(a_ids) and min(a_ids) < max(b_ids)
    async with _served(services) as url:
        from_start = {"params": {"last_event_id": 0}}
        assert await _stream_ids(url, tenant, max(a_ids), **from_start) == a_ids
        assert await _stream_ids(url, other_tenant, max(b_ids), **from_start) == b_ids
        resumed = {"headers": {"Last-Event-ID": str(a_ids[0])}}  # as a browser reconnects
        assert await _stream_ids(url, other_tenant, max(b_ids), **resumed) == [
            i for i in b_ids if i > a_ids[0]
        ]
