"""Shared fixtures: a database of its own for every test (SQLite and PostgreSQL), services, an
API client, tenants.

Isolation: the schema is migrated once per session into a template (a PostgreSQL database
`outdial_tpl_*`, a SQLite file); every test that asks for a database gets a copy of it (CREATE
DATABASE ... TEMPLATE, a file copy), so no test sees another's rows, and an engine under test
dials only the campaigns its own test made. The copy is dropped when the test ends
(PostgreSQL copies are made one ahead and dropped in the background: tests/pgcopies.py).

PostgreSQL comes from OUTDIAL_TEST_PG_URL (the test script starts a throwaway cluster when the
machine has none on 127.0.0.1:5432). Without one the PostgreSQL tests skip locally; under
CI=true the session refuses to start when PostgreSQL or any tool of tests/toolcheck.py is
missing: CI must run everything.
"""

from __future__ import annotations

import asyncio
import os
import shutil
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
from tests import toolcheck
from tests.pgcopies import PgCopies

IN_CI = toolcheck.in_ci()
# The suite's own receivers, SIP peers and servers are on loopback: tests open it on purpose,
# through the operator's setting (in-process services below, and every subprocess through
# this environment variable). The default stays closed (tests/api/test_outbound.py).
LOOPBACK = "127.0.0.0/8,::1/128"
os.environ.setdefault("OUTDIAL_ALLOW_PRIVATE_NETWORKS", LOOPBACK)
PG_URL = os.environ.get("OUTDIAL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under CI=true a missing tool or PostgreSQL fails the run before any test runs."""
    if not IN_CI or session.config.getoption("collectonly"):
        return
    problems = toolcheck.missing(PG_URL)
    if problems:
        lines = "\n  ".join(problems)
        pytest.exit(f"CI=true and this machine lacks what the suite needs:\n  {lines}", 1)


# The phases of scripts/test.sh (docs/testing.md): the tests under these directories of tests/
# run under pytest-xdist (`-n 2`) unless marked `serial`; every other test (tests/faults, a
# directory not listed here, anything marked `serial`) runs in the serial phase. Without --phase
# (the default, `all`) pytest runs every test as before.
PARALLEL_DIRS = ("unit", "api", "engine", "listen", "sip", "integration", "acceptance")
TESTS_DIR = Path(__file__).resolve().parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--phase",
        choices=("all", "parallel", "serial"),
        default="all",
        help="run only the tests of one phase of scripts/test.sh (docs/testing.md)",
    )


def in_parallel_phase(item: pytest.Item) -> bool:
    """Whether a test belongs to the parallel phase: under PARALLEL_DIRS and not `serial`."""
    try:
        parts = Path(item.path).resolve().relative_to(TESTS_DIR).parts
    except ValueError:
        return False
    return parts[0] in PARALLEL_DIRS and item.get_closest_marker("serial") is None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The parallel phase does not even import the serial directories (each worker collects)."""
    if config.getoption("phase") != "parallel" or not collection_path.is_dir():
        return None
    try:
        parts = collection_path.resolve().relative_to(TESTS_DIR).parts
    except ValueError:
        return None
    return True if len(parts) == 1 and parts[0] not in PARALLEL_DIRS else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    phase = config.getoption("phase")
    if phase == "all":
        return
    keep = [item for item in items if in_parallel_phase(item) == (phase == "parallel")]
    dropped = [item for item in items if in_parallel_phase(item) != (phase == "parallel")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The random order's seed, also under -q (which hides pytest-randomly's header line)."""
    seed = getattr(config.option, "randomly_seed", None)
    if config.pluginmanager.hasplugin("randomly") and seed is not None:
        terminalreporter.write_line(f"random order; replay it with --randomly-seed={seed}")


def _pg_url(name: str) -> str:
    return f"{PG_URL.rsplit('/', 1)[0]}/{name}"


async def _pg_admin(*statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("postgresql://", "postgres://"))
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """The name of a migrated PostgreSQL database that each test's database is copied from."""
    problem = toolcheck.postgres_problem(PG_URL)
    if problem is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but not reachable at {PG_URL}: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {problem}")
    name = f"outdial_tpl_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f"CREATE DATABASE {name}"))
    asyncio.run(_migrate(_pg_url(name)))
    yield name
    asyncio.run(_pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test's database is copied from."""
    path = tmp_path_factory.mktemp("template") / "outdial.db"
    asyncio.run(_migrate(f"sqlite:///{path}"))
    leftovers = [p for p in path.parent.iterdir() if p != path]
    assert not leftovers, f"the template must be one file, not {leftovers}"  # WAL checkpointed
    return path


@pytest.fixture(scope="session")
def pg_copies(pg_template: str) -> Iterator[PgCopies]:
    copies = PgCopies(PG_URL, pg_template)
    yield copies
    copies.close()


@pytest.fixture
def pg_database_url(pg_copies: PgCopies) -> Iterator[str]:
    """A PostgreSQL database of this test's own, copied from the migrated template."""
    name = pg_copies.take()
    yield _pg_url(name)
    pg_copies.give_back(name)


@pytest.fixture
def sqlite_database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A SQLite database of this test's own: a copy of the migrated template file."""
    path = tmp_path / "outdial.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """This test's own migrated database, on SQLite and on PostgreSQL."""
    fixture = "sqlite_database_url" if request.param == "sqlite" else "pg_database_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def isolated_database_url(database_url: str) -> str:
    """The same as `database_url` (every test's database is its own); kept as the name that
    process tests use to say they need it."""
    return database_url


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
