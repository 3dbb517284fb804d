"""The composition root: builds the database, services, telephony and engine of a process."""

from __future__ import annotations

import re
import sys
import uuid
from pathlib import Path
from typing import Any

from outdial.clock import SystemClock
from outdial.settings import Settings, SipSettings, TelephonyKind
from outdial.storage.db import Database
from outdial.storage.migrate import upgrade


def make_settings(url: str, telephony: TelephonyKind, sip: SipSettings) -> Settings:
    return Settings(database_url=url, telephony=telephony, sip=sip)


def redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]+@", r"//\1:***@", url)


async def migrate(url: str) -> str:
    db = Database(url)
    try:
        return await upgrade(db)
    finally:
        await db.dispose()


async def _ready_db(url: str) -> Database:
    db = Database(url)
    await upgrade(db)
    return db


def _services(db: Database) -> Any:
    from outdial.services.container import Services

    return Services.build(db, SystemClock())


async def create_customer(url: str, name: str) -> dict[str, Any]:
    db = await _ready_db(url)
    try:
        customer = await _services(db).customers.create(name)
        return {"id": str(customer.id), "name": customer.name}
    finally:
        await db.dispose()


async def create_accesskey(url: str, customer_id: uuid.UUID, name: str) -> dict[str, Any]:
    db = await _ready_db(url)
    try:
        key, token = await _services(db).customers.create_accesskey(customer_id, name)
        return {
            "id": str(key.id),
            "customer_id": str(key.customer_id),
            "name": key.name,
            "token": token,
        }
    finally:
        await db.dispose()


async def import_targets(
    url: str, outdial_id: uuid.UUID, path: Path, fmt: str | None, show: bool
) -> dict[str, Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from outdial.services.importer import import_file

    db = await _ready_db(url)
    size = path.stat().st_size  # noqa: ASYNC240 (one stat before any I/O starts)
    bar = Progress(
        TextColumn("importing"),
        BarColumn(),
        TextColumn("{task.fields[rows]} rows"),
        TimeRemainingColumn(),
        console=_stderr_console(),
        disable=not show,
    )
    try:
        with bar:
            task = bar.add_task("import", total=size or 1, rows=0)

            def progress(done: int, rows: int) -> None:
                bar.update(task, completed=done, rows=rows)

            report = await import_file(
                _services(db).ctx, outdial_id, path, fmt=fmt, progress=progress
            )
        return {"outdial_id": str(outdial_id), "imported": report.imported}
    finally:
        await db.dispose()


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(file=sys.stderr)


async def serve(settings: Settings, host: str, port: int, *, engine: bool) -> None:
    import uvicorn

    from outdial.api.app import create_app

    db = await _ready_db(settings.database_url)
    services = _services(db)
    app = create_app(services)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    try:
        await server.serve()
    finally:
        await db.dispose()


async def run_engine(settings: Settings) -> None:
    raise NotImplementedError("the dialing engine arrives with issue 3")


async def demo(url: str, telephony: TelephonyKind, targets: int) -> None:
    raise NotImplementedError("the demo arrives with issue 3")
