"""The registry of dialing engines: each engine's row, its heartbeat and its stop. Recovery
(services/attempts.py) reads it to tell a live engine's attempts from a dead one's."""

from __future__ import annotations

import os
import socket

import sqlalchemy as sa

from outdial.services.context import Context
from outdial.storage.tables import engines


class EngineRegistry:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def register(self, engine_id: str) -> None:
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            await conn.execute(
                engines.insert().values(
                    id=engine_id,
                    host=socket.gethostname()[:255],
                    pid=os.getpid(),
                    started=now,
                    heartbeat=now,
                    stopped=None,
                )
            )

    async def heartbeat(self, engine_id: str) -> bool:
        """Beat (this renews the leases of all the engine's attempts). False when the engine
        has been fenced (another engine recovered its attempts while it was silent) or its
        row is gone: it holds no lease any more and must not go on under this id."""
        async with self.ctx.db.write() as conn:
            beat = await conn.execute(
                sa.update(engines)
                .where(engines.c.id == engine_id, engines.c.fenced.is_(None))
                .values(heartbeat=self.ctx.now_us())
                .returning(engines.c.id)
            )
            return beat.first() is not None

    async def unregister(self, engine_id: str) -> None:
        async with self.ctx.db.write() as conn:
            await conn.execute(
                sa.update(engines)
                .where(engines.c.id == engine_id)
                .values(stopped=self.ctx.now_us())
            )
