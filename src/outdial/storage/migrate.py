"""Bring the schema up to date (Alembic), safely from several processes at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from outdial.storage.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")
LOCK_KEY = 0x6F757464  # "outd": serialises concurrent upgrades on PostgreSQL


def alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: sa.Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    command.upgrade(alembic_config(connection), "heads")


def _current(connection: sa.Connection) -> Any:
    return ",".join(sorted(MigrationContext.configure(connection).get_current_heads()))


async def upgrade(db: Database) -> str:
    """Upgrade every branch to its head; returns the revisions now in place."""
    async with db.engine.begin() as conn:
        await conn.run_sync(_upgrade)
    async with db.engine.connect() as conn:
        current = await conn.run_sync(_current)
    return str(current)


def heads() -> str:
    """The newest revision of each branch (features may add their own migration branches)."""
    return ",".join(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


head = heads
