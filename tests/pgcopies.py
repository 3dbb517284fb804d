"""Per-test PostgreSQL databases: copies of a migrated template, made one ahead and dropped in a
background thread, so that a test rarely waits for CREATE DATABASE.

CREATE DATABASE ... TEMPLATE copies the template's files (about 8 MB, most of it the system
catalogs) and DROP DATABASE removes them: 0.1-0.5 s each on the shared 2-core machine, mostly
I/O in the server. One worker thread does both while the tests run: when a test takes its copy
the next one is already being made, and a finished test's copy is dropped behind it.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import Future, ThreadPoolExecutor


class PgCopies:
    def __init__(self, admin_url: str, template: str) -> None:
        self.admin_url = admin_url.replace("postgresql://", "postgres://")
        self.template = template
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-copies")
        self._next: Future[str] | None = None
        self._drops: list[Future[None]] = []

    def take(self) -> str:
        """The name of a new copy of the template, for one test."""
        made = self._next if self._next is not None else self._worker.submit(self._create)
        self._next = self._worker.submit(self._create)
        return made.result()

    def give_back(self, name: str) -> None:
        """Drop a test's copy (in the background; `close` waits for it)."""
        self._drops = [d for d in self._drops if not d.done()] + [
            self._worker.submit(self._sql, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        ]

    def close(self) -> None:
        spare = self._next
        self._next = None
        if spare is not None and spare.exception() is None:
            self.give_back(spare.result())
        for drop in self._drops:
            drop.result()  # a failed drop fails the session's teardown, loudly
        self._worker.shutdown(wait=True)

    def _create(self) -> str:
        name = f"outdial_t_{uuid.uuid4().hex[:12]}"
        self._sql(f"CREATE DATABASE {name} TEMPLATE {self.template}")
        return name

    def _sql(self, statement: str) -> None:
        async def run() -> None:
            import asyncpg

            conn = await asyncpg.connect(self.admin_url)
            try:
                await conn.execute(statement)
            finally:
                await conn.close()

        asyncio.run(run())
