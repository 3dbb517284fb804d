"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, services, an API client.

PostgreSQL comes from OUTDIAL_TEST_PG_URL (the test script starts a throwaway cluster when the
machine has none on 127.0.0.1:5432). Without one the PostgreSQL tests skip locally, but under
CI=true they fail: CI must run them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from outdial.api.app import create_app
from outdial.clock import FakeClock
from outdial.domain.netpolicy import NetworkPolicy
from outdial.services.container import Services
from outdial.storage.db import Database
from outdial.storage.migrate import upgrade

IN_CI = os.environ.get("CI", "").lower() == "true"
# The suite's own receivers, SIP peers and servers are on loopback: tests open it on purpose,
# through the operator's setting (in-process services below, and every subprocess through
# this environment variable). The default stays closed (tests/api/test_outbound.py).
LOOPBACK = "127.0.0.0/8,::1/128"
os.environ.setdefault("OUTDIAL_ALLOW_PRIVATE_NETWORKS", LOOPBACK)
PG_URL = os.environ.get("OUTDIAL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_admin_reachable() -> str | None:
    async def probe() -> str | None:
        import asyncpg

        try:
            conn = await asyncpg.connect(PG_URL.replace("postgresql://", "postgres://"), timeout=3)
        except Exception as exc:  # any failure means "not available here"
            return f"{type(exc).__name__}: {exc}"
        await conn.close()
        return None

    return asyncio.run(probe())


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    problem = _pg_admin_reachable()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but not reachable at {PG_URL}: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {problem}")
    name = f"outdial_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(PG_URL.replace("postgresql://", "postgres://"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"CREATE DATABASE {name}"))
    base = PG_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    asyncio.run(_migrate(url))
    yield url
    asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="session")
def sqlite_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("db") / "outdial.db"
    url = f"sqlite:///{path}"
    asyncio.run(_migrate(url))
    return url


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_database_url" if request.param == "sqlite" else "pg_database_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def isolated_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, migrated database for this test alone (for tests that run whole processes,
    whose engines would otherwise also dial other tests' running campaigns)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'isolated.db'}"
        asyncio.run(_migrate(url))
        yield url
        return
    request.getfixturevalue("pg_database_url")  # skips or fails when PostgreSQL is absent
    name = f"outdial_iso_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f"CREATE DATABASE {name}"))
    url = f"{PG_URL.rsplit('/', 1)[0]}/{name}"
    asyncio.run(_migrate(url))
    yield url
    asyncio.run(_pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("postgresql://", "postgres://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(db: Database, clock: FakeClock) -> Services:
    return Services.build(db, clock, network=NetworkPolicy.from_text(LOOPBACK))


class Tenant:
    """A customer with an API key and a client that sends it."""

    def __init__(self, customer_id: uuid.UUID, token: str, client: httpx.AsyncClient) -> None:
        self.customer_id = customer_id
        self.token = token
        self.client = client

    async def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kw)

    async def ok(self, method: str, path: str, **kw: Any) -> Any:
        response = await self.call(method, path, **kw)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services)
    app.state.ready = True
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://outdial.test") as c:
        yield c


async def make_tenant(services: Services, client: httpx.AsyncClient, name: str) -> Tenant:
    customer = await services.customers.create(name)
    _, token = await services.customers.create_accesskey(customer.id, "test")
    return Tenant(customer.id, token, client)


@pytest.fixture
async def tenant(services: Services, client: httpx.AsyncClient) -> Tenant:
    return await make_tenant(services, client, "alice")


@pytest.fixture
async def other_tenant(services: Services, client: httpx.AsyncClient) -> Tenant:
    return await make_tenant(services, client, "mallory")
