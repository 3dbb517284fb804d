"""The PostgreSQL limit on a session idle inside a transaction (docs/operations.md, "A host
drops off the network"): its default, its environment variable, and that sessions get it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from outdial.domain.errors import InvalidArgument
from outdial.storage.db import Database, idle_in_transaction_s


def test_default_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OUTDIAL_DATABASE_IDLE_TX_TIMEOUT", raising=False)
    assert idle_in_transaction_s() == 10
    monkeypatch.setenv("OUTDIAL_DATABASE_IDLE_TX_TIMEOUT", "2.5")
    assert idle_in_transaction_s() == 2.5
    for bad in ("soon", "0", "-1"):
        monkeypatch.setenv("OUTDIAL_DATABASE_IDLE_TX_TIMEOUT", bad)
        with pytest.raises(InvalidArgument, match="OUTDIAL_DATABASE_IDLE_TX_TIMEOUT"):
            idle_in_transaction_s()


@pytest.mark.postgres
async def test_every_postgresql_session_has_the_limit(
    pg_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTDIAL_DATABASE_IDLE_TX_TIMEOUT", "7")
    db = Database(pg_database_url)
    try:
        async with db.read() as conn:
            shown = (
                await conn.execute(sa.text("SHOW idle_in_transaction_session_timeout"))
            ).scalar()
    finally:
        await db.dispose()
    assert shown == "7s"
