"""The SQLite import in two steps (issue 16 item 4, services/importer.py `_import_staged`):
reading and checking the file holds no write lock on the database file (another process may
write meanwhile), the rows are moved in slices, and a move that fails half-way takes back what
was moved and the quota. Timings beside a running serve: tests/faults/test_sqlite_import_
beside_serve.py and benchmarks/bench_import_beside_serve.py."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.domain.netpolicy import NetworkPolicy
from outdial.services import importer
from outdial.services.container import Services
from outdial.services.importer import import_file
from outdial.storage.db import Database
from outdial.storage.tables import customers, outdial_targets


@pytest.fixture
async def sqlite_services(sqlite_database_url: str) -> Any:
    db = Database(sqlite_database_url)
    yield Services.build(db, FakeClock(), network=NetworkPolicy.from_text("127.0.0.0/8"))
    await db.dispose()


def _csv(path: Path, rows: int) -> Path:
    lines = ["name,destination_0"] + [f"t{n},tel:+1555{n:07d}" for n in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


async def _counts(services: Services, outdial_id: uuid.UUID, customer_id: uuid.UUID) -> tuple:
    async with services.ctx.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(sa.func.count()).where(outdial_targets.c.outdial_id == outdial_id)
            )
        ).scalar()
        quota = (
            await conn.execute(
                sa.select(customers.c.target_count).where(customers.c.id == customer_id)
            )
        ).scalar()
    return rows, quota


async def test_checking_the_file_holds_no_write_lock_and_rows_move_in_slices(
    sqlite_services: Services, sqlite_database_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    services = sqlite_services
    customer = await services.customers.create("importer")
    outdial = await services.outdials.create(customer.id, {"name": "big"})
    other = sqlite3.connect(sqlite_database_url.removeprefix("sqlite:///"), timeout=0)
    other.isolation_level = None
    took_lock: list[bool] = []

    def progress(_bytes: int, _rows: int) -> None:
        """Called while the file is read: another process takes the write lock at once."""
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            took_lock.append(True)
        except sqlite3.OperationalError:  # "database is locked"
            took_lock.append(False)

    monkeypatch.setattr(importer, "MOVE_ROWS", 4_000)
    monkeypatch.setattr(importer, "MOVE_PAUSE_S", 0.0)
    moves: list[int] = []
    real_move = importer.move_staged

    async def counted(conn: Any, after: int, limit: int) -> tuple[int, int]:
        moved, last = await real_move(conn, after, limit)
        moves.append(moved)
        return moved, last

    monkeypatch.setattr(importer, "move_staged", counted)
    try:
        report = await import_file(
            services.ctx, outdial.id, _csv(tmp_path / "t.csv", 21_000), progress=progress
        )
    finally:
        other.close()
    assert report.imported == 21_000
    assert took_lock and all(took_lock), took_lock  # never locked out while checking
    assert moves == [4_000] * 5 + [1_000]  # one transaction each
    assert await _counts(services, outdial.id, customer.id) == (21_000, 21_000)


async def test_a_move_that_fails_half_way_takes_back_the_rows_and_the_quota(
    sqlite_services: Services, tmp_path: Path, monkeypatch: Any
) -> None:
    services = sqlite_services
    customer = await services.customers.create("importer")
    outdial = await services.outdials.create(customer.id, {"name": "big"})
    monkeypatch.setattr(importer, "MOVE_ROWS", 1_000)
    monkeypatch.setattr(importer, "MOVE_PAUSE_S", 0.0)
    real_move = importer.move_staged
    calls = 0

    async def failing(conn: Any, after: int, limit: int) -> tuple[int, int]:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise sqlite3.OperationalError("database or disk is full")
        return await real_move(conn, after, limit)

    monkeypatch.setattr(importer, "move_staged", failing)
    with pytest.raises(sqlite3.OperationalError):
        await import_file(services.ctx, outdial.id, _csv(tmp_path / "t.csv", 5_000))
    assert calls == 3  # two slices were in, then taken back
    assert await _counts(services, outdial.id, customer.id) == (0, 0)
