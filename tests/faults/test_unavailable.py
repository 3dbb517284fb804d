"""Issue 16 item 1 without a cluster: which errors mean "the database is away", the API's 503
UNAVAILABLE (envelope, Retry-After, from a route and from authentication), `/health`, and the
engine holding results while the database is away and writing them first when it is back."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from outdial.api.app import create_app
from outdial.clock import FakeClock
from outdial.domain.errors import Unavailable
from outdial.services.container import Services
from outdial.storage.db import Database, is_unavailable
from outdial.storage.tables import campaigncalls
from tests.engine.harness import Harness


class _Pg(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("exc", "gone"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (sa.exc.DBAPIError("select 1", {}, Exception("x"), connection_invalidated=True), True),
        (sa.exc.DBAPIError("select 1", {}, _Pg("57P01")), True),  # admin shutdown
        (sa.exc.DBAPIError("select 1", {}, _Pg("08006")), True),  # connection failure
        (sa.exc.TimeoutError("QueuePool limit"), True),
        (sa.exc.DBAPIError("select 1", {}, _Pg("42P01")), False),  # undefined table: a bug
        (sa.exc.IntegrityError("insert", {}, _Pg("23505")), False),
        (ValueError("nope"), False),
    ],
)
def test_what_counts_as_the_database_away(exc: BaseException, gone: bool) -> None:
    assert is_unavailable(exc) is gone


@pytest.fixture
async def away() -> Any:
    """Services on a PostgreSQL URL where nothing listens (a port just closed)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = Database(f"postgresql://postgres@127.0.0.1:{port}/postgres")
    yield Services.build(db, FakeClock())
    await db.dispose()


async def _client(services: Services) -> httpx.AsyncClient:
    app = create_app(services)
    app.state.ready = True
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def _unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    error = r.json()["error"]
    assert (error["status"], error["reason"]) == ("UNAVAILABLE", "DATABASE_UNAVAILABLE")
    assert error["request_id"]
    assert int(r.headers["Retry-After"]) >= 1


async def test_api_answers_503_while_the_database_is_away(away: Services) -> None:
    async with await _client(away) as client:
        health = await client.get("/health")
        assert health.status_code == 503 and health.json()["database"] == "unreachable"
        # authentication needs the database first
        _unavailable(await client.get("/v1.0/campaigns", params={"token": "k"}))
        # a key authenticated a moment ago (remembered): the route's own read fails
        away.customers.identify = _known  # type: ignore[method-assign]
        _unavailable(await client.get("/v1.0/campaigns", params={"token": "k"}))
        _unavailable(await client.post("/v1.0/outdials", params={"token": "k"}, json={}))


async def _known(digest: str) -> uuid.UUID:
    return uuid.uuid4()


async def test_health_says_ok_with_the_database(services: Services) -> None:
    async with await _client(services) as client:
        r = await client.get("/health")
        assert r.status_code == 200 and r.json()["database"] == "ok"


class _Switch:
    """The engine's DialingService (and its three services) with the database switched off
    and on; every call made while on is logged by name, in order, in the root switch."""

    def __init__(self, real: Any, root: _Switch | None = None) -> None:
        self.real = real
        self.root = root or self
        self.down = False
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.real, name)
        if name in ("registry", "attempts", "campaigns"):
            return _Switch(attr, self.root)
        if not callable(attr):
            return attr
        root = self.root

        async def call(*args: Any, **kw: Any) -> Any:
            if root.down:
                raise Unavailable("the database cannot be reached (test)")
            root.calls.append(name)
            return await attr(*args, **kw)

        return call


async def test_engine_holds_results_and_writes_them_first(
    services: Services, clock: FakeClock
) -> None:
    async with Harness(services, clock, stale_after_s=5.0) as h:
        _, outdial, campaign = await h.setup(
            [f"+1555000{n:04d}" for n in range(4)],
            outplan={"max_try_count_0": 1, "try_interval": 0},
            actions=[{"type": "sleep", "option": {"duration": 1000}}],
            calls_per_second=100,
        )
        await h.run(campaign.id)
        await h.tick(0.1)  # four calls start (ring 200 ms, then 1 s of sleep)
        assert len(h.engine.attempts) == 4
        switch = _Switch(h.engine.dialing)
        h.engine.dialing = switch  # type: ignore[assignment]
        h.engine.ledger.attempts = switch.attempts
        switch.down = True
        for _ in range(20):  # 2 s away: the calls end meanwhile, nothing new starts
            await h.engine.run_round()
            await clock.advance(0.1)
        assert not h.engine.attempts
        assert h.engine.db_down_since is not None and h.engine.ledger.held == 8  # 4 x (answer, end)
        assert await h.engine.recover() == 0  # no sweep while away
        # An attempt whose claim committed unseen (its engine is us, no task runs it).
        orphan = await _forge_orphan(services, h.engine.id)
        switch.down = False
        switch.calls.clear()
        for _ in range(80):  # the back-off decides when it looks again
            await h.engine.run_round()
            await clock.advance(0.1)
            if h.engine.db_down_since is None:
                break
        assert h.engine.db_down_since is None and h.engine.ledger.held == 0
        # the held results first, then this engine's unplaced attempts, then claims again
        first = switch.calls[: switch.calls.index("close_orphans")]
        assert first[0] == "heartbeat" and set(first[1:]) == {"record"}
        calls = await h.calls(campaign.id)
        assert (
            sorted((c.status, c.result) for c in calls if c.id != orphan)
            == [("done", "success")] * 4
        )
        assert [c.hangup_reason for c in calls if c.id == orphan] == ["lost"]
        assert {t.status for t in await h.targets(outdial.id)} == {"done"}


async def _forge_orphan(services: Services, engine_id: str) -> uuid.UUID:
    async with services.ctx.db.write() as conn:
        row = (await conn.execute(sa.select(campaigncalls).limit(1))).one()._asdict()
        row.update(id=uuid.uuid4(), status="dialing", result="", engine_id=engine_id,
                   hangup_reason="", outdial_target_id=uuid.uuid4())  # fmt: skip
        await conn.execute(campaigncalls.insert().values(**row))
    return uuid.UUID(str(row["id"]))
