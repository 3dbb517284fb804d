"""Issue 10, item 6: per-customer limits answer 429 RESOURCE_EXHAUSTED with Retry-After.

Requests per second per key (a token bucket: burst, then the sustained rate), targets per
customer (create, bulk and import; deleting frees room). Open event streams per customer are
in tests/api/test_event_stream.py (they need a real server)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from outdial.api.app import create_app
from outdial.clock import FakeClock
from outdial.domain.limits import Limits, TokenBucket
from outdial.services.container import Services
from outdial.services.importer import import_file
from outdial.storage.db import Database
from tests.api.helpers import error, make_outdial
from tests.conftest import LOOPBACK, Tenant, make_tenant
from tests.integration.test_import import write_csv


def limited_services(db: Database, clock: FakeClock, limits: Limits) -> Services:
    from outdial.domain.netpolicy import NetworkPolicy

    return Services.build(db, clock, network=NetworkPolicy.from_text(LOOPBACK), limits=limits)


async def _tenant(services: Services) -> AsyncIterator[tuple[Services, Tenant]]:
    app = create_app(services)
    app.state.ready = True
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://outdial.test") as c:
        yield services, await make_tenant(services, c, "limited")


@pytest.fixture
async def limited(db: Database, clock: FakeClock) -> AsyncIterator[tuple[Services, Tenant]]:
    limits = Limits(requests_per_second=5, request_burst=10)
    async for pair in _tenant(limited_services(db, clock, limits)):
        yield pair


@pytest.fixture
async def capped(db: Database, clock: FakeClock) -> AsyncIterator[tuple[Services, Tenant]]:
    limits = Limits(requests_per_second=0, targets=3)
    async for pair in _tenant(limited_services(db, clock, limits)):
        yield pair


def test_the_token_bucket() -> None:
    bucket = TokenBucket(2.0, 0.0)
    assert [bucket.take(0.0, 1.0, 2.0) for _ in range(2)] == [0.0, 0.0]
    assert bucket.take(0.0, 1.0, 2.0) == pytest.approx(1.0)  # empty: one token in 1 s
    assert bucket.take(0.5, 1.0, 2.0) == pytest.approx(0.5)
    assert bucket.take(1.0, 1.0, 2.0) == 0.0
    assert bucket.take(100.0, 1.0, 2.0) == 0.0  # refills to the burst, never past it
    assert bucket.take(100.0, 1.0, 2.0) == 0.0
    assert bucket.take(100.0, 1.0, 2.0) > 0


async def test_requests_past_the_burst_are_429_with_retry_after(
    limited: tuple[Services, Tenant], clock: FakeClock
) -> None:
    services, me = limited
    codes = [(await me.call("GET", "/v1.0/outdials")).status_code for _ in range(12)]
    assert codes == [200] * 10 + [429] * 2
    r = await me.call("GET", "/v1.0/outdials")
    err = error(r, 429, "RESOURCE_EXHAUSTED", "RATE_LIMITED")
    assert "requests per second" in err["message"]
    assert r.headers["retry-after"] == "1"
    # another key of another customer has its own bucket
    other = await make_tenant(services, me.client, "other")
    assert (await other.call("GET", "/v1.0/outdials")).status_code == 200
    # tokens come back at the sustained rate: 5 per second
    await clock.advance(1.0)
    codes = [(await me.call("GET", "/v1.0/outdials")).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]


async def test_no_rate_limit_when_it_is_off(db: Database, clock: FakeClock) -> None:
    services = limited_services(db, clock, Limits(requests_per_second=0))
    app = create_app(services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://outdial.test") as c:
        me = await make_tenant(services, c, "free")
        codes = {(await me.call("GET", "/v1.0/outdials")).status_code for _ in range(150)}
    assert codes == {200}


async def test_the_default_is_50_per_second_with_a_burst_of_100(tenant: Tenant) -> None:
    codes = [(await tenant.call("GET", "/v1.0/outplans")).status_code for _ in range(101)]
    assert codes == [200] * 100 + [429]


async def test_targets_per_customer(capped: tuple[Services, Tenant], tmp_path: Path) -> None:
    services, me = capped
    outdial = await make_outdial(me)
    path = f"/v1.0/outdials/{outdial['id']}/targets"
    one = {"destination_0": {"type": "tel", "target": "+15550001"}}
    first = await me.ok("POST", path, json=one)
    await me.ok("POST", path, json=one)
    bulk = f"/v1.0/outdials/{outdial['id']}/targets_bulk"
    r = await me.call("POST", bulk, json=[one, one])  # 2 + 2 > 3: nothing written
    err = error(r, 429, "RESOURCE_EXHAUSTED", "TARGET_LIMIT")
    assert "3 targets" in err["message"] and r.headers["retry-after"]
    assert len((await me.ok("GET", path))["result"]) == 2
    await me.ok("POST", path, json=one)
    error(await me.call("POST", path, json=one), 429, "RESOURCE_EXHAUSTED", "TARGET_LIMIT")
    await me.ok("DELETE", f"{path}/{first['id']}")  # deleting frees room
    await me.ok("POST", path, json=one)
    # an import that would pass the limit writes nothing
    await me.ok("DELETE", f"/v1.0/outdials/{outdial['id']}")  # its 3 targets stop counting
    other = await make_outdial(me)
    csv_file = write_csv(
        tmp_path / "t.csv", ["destination_0"], [[f"tel:+1555000{n}"] for n in range(4)]
    )
    with pytest.raises(Exception) as caught:
        await import_file(services.ctx, uuid.UUID(other["id"]), csv_file)
    assert getattr(caught.value, "reason", "") == "TARGET_LIMIT"
    assert (await me.ok("GET", f"/v1.0/outdials/{other['id']}/targets"))["result"] == []
    small = write_csv(tmp_path / "s.csv", ["destination_0"], [["tel:+15550001"]] * 3)
    report = await import_file(services.ctx, uuid.UUID(other["id"]), small)
    assert report.imported == 3
