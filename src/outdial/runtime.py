"""The composition root: builds the database, services, telephony and engine of a process."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outdial.clock import Clock, SystemClock
from outdial.domain.errors import InvalidArgument
from outdial.domain.limits import Limits
from outdial.domain.netpolicy import NetworkPolicy
from outdial.metrics import serve_metrics
from outdial.settings import EngineSettings, Settings, SipSettings, TelephonyKind, parse_bind
from outdial.storage.db import Database
from outdial.storage.migrate import upgrade
from outdial.telephony.base import Telephony
from outdial.wire.customer import accesskey as accesskey_json

if TYPE_CHECKING:
    from outdial.engine.engine import Engine
    from outdial.engine.retention import Pruner
    from outdial.engine.webhooks import WebhookWorker

log = logging.getLogger("outdial")

DEMO_NETWORKS = "127.0.0.0/8,::1/128"  # the demo's peers and receivers are all on loopback


def make_settings(
    url: str,
    telephony: TelephonyKind,
    sip: SipSettings,
    engine: EngineSettings | None = None,
    event_retention_days: float = 30.0,
    metrics_bind: str = "",
    allow_private_networks: str = "",
    limits: Limits | None = None,
    api_metrics: bool = True,
) -> Settings:
    try:
        return Settings(
            database_url=url,
            telephony=telephony,
            sip=sip,
            engine=engine or EngineSettings(),
            event_retention_days=event_retention_days,
            metrics_bind=metrics_bind,
            network=NetworkPolicy.from_text(allow_private_networks),
            limits=limits or Limits(),
            api_metrics=api_metrics,
        )
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None


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


def _services(db: Database, settings: Settings | None = None) -> Any:
    from outdial.services.container import Services

    settings = settings or Settings(database_url=db.url)
    return Services.build(
        db,
        SystemClock(),
        network=settings.network,
        limits=settings.limits,
        max_call_ms=int(settings.engine.max_call_s * 1000),
    )


def _context(db: Database, clock: Clock, settings: Settings) -> Any:
    from outdial.services.context import Context

    max_call_ms = int(settings.engine.max_call_s * 1000)
    return Context(db, clock, settings.network, settings.limits, max_call_ms)


@asynccontextmanager
async def _one_shot(url: str, network: NetworkPolicy | None = None) -> AsyncIterator[Any]:
    """The services of a one-shot CLI command: the schema brought up to date, the database
    closed when the block ends. `network`: what its writes may point at (webhook URIs)."""
    db = await _ready_db(url)
    try:
        yield _services(db, Settings(database_url=url, network=network or NetworkPolicy()))
    finally:
        await db.dispose()


async def create_customer(url: str, name: str) -> dict[str, Any]:
    async with _one_shot(url) as s:
        customer = await s.customers.create(name)
        return {"id": str(customer.id), "name": customer.name}


async def list_accesskeys(url: str, customer_id: uuid.UUID) -> dict[str, Any]:
    async with _one_shot(url) as s:
        keys = await s.customers.list_accesskeys(customer_id)
        return {"result": [accesskey_json(k) for k in keys]}


async def delete_accesskey(url: str, key_id: uuid.UUID) -> dict[str, Any]:
    async with _one_shot(url) as s:
        return accesskey_json(await s.customers.delete_accesskey(key_id))


async def create_accesskey(url: str, customer_id: uuid.UUID, name: str) -> dict[str, Any]:
    async with _one_shot(url) as s:
        key, token = await s.customers.create_accesskey(customer_id, name)
        return {
            "id": str(key.id),
            "customer_id": str(key.customer_id),
            "name": key.name,
            "token": token,
        }


async def import_targets(
    url: str,
    outdial_id: uuid.UUID,
    path: Path,
    fmt: str | None,
    show: bool,
    settings: Settings | None = None,
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
                _services(db, settings).ctx, outdial_id, path, fmt=fmt, progress=progress
            )
        return {"outdial_id": str(outdial_id), "imported": report.imported}
    finally:
        await db.dispose()


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(file=sys.stderr)


def build_telephony(settings: Settings, clock: Clock, db: Database | None = None) -> Telephony:
    if settings.telephony is TelephonyKind.SIM:
        from outdial.telephony.sim import SimTelephony

        return SimTelephony(clock, ring_ms=settings.engine.sim_ring_ms)
    from outdial.services.media import MediaLoader
    from outdial.telephony.factory import sip_telephony

    media = None if db is None else MediaLoader(_context(db, clock, settings))
    return sip_telephony(settings.sip, settings.network, media)


def build_engine(db: Database, settings: Settings, clock: Clock) -> Engine:
    from outdial.engine.engine import Engine, EngineConfig
    from outdial.services.dialing import DialingService

    tuning = settings.engine
    config = EngineConfig(
        stale_after_s=tuning.stale_after_s,
        heartbeat_s=tuning.heartbeat_s,
        recover_every_s=tuning.heartbeat_s,
        max_call_s=tuning.max_call_s,
    )
    telephony = build_telephony(settings, clock, db)
    return Engine(DialingService(_context(db, clock, settings)), telephony, clock, config)


def build_webhooks(db: Database, clock: Clock, network: NetworkPolicy) -> WebhookWorker:
    """The webhook delivery worker of this process (one per process, beside the dialer)."""
    from outdial.engine.webhooks import WebhookConfig, WebhookWorker
    from outdial.services.context import Context
    from outdial.services.webhooks import WebhookService

    return WebhookWorker(
        WebhookService(Context(db, clock, network)), clock, WebhookConfig(network=network)
    )


def build_pruner(db: Database, clock: Clock, retention_days: float) -> Pruner:
    """The retention task of this process (old events and delivery records, hourly)."""
    from outdial.engine.retention import Pruner
    from outdial.services.context import Context
    from outdial.services.retention import RetentionService

    return Pruner(RetentionService(Context(db, clock)), retention_days)


async def prune_events(url: str, older_than_days: float) -> dict[str, Any]:
    from outdial.services.retention import RetentionService

    async with _one_shot(url) as s:
        pruned = await RetentionService(s.ctx).prune(older_than_days)
        return {**pruned.to_json(), "older_than_days": older_than_days}


async def update_customer(
    url: str, customer_id: uuid.UUID, body: dict[str, Any], network: NetworkPolicy | None = None
) -> Any:
    async with _one_shot(url, network) as s:
        return await s.accounts.update(None, customer_id, body)


async def rotate_webhook_secret(url: str, customer_id: uuid.UUID) -> Any:
    async with _one_shot(url) as s:
        return await s.accounts.rotate_webhook_secret(None, customer_id)


async def replay_events(url: str, customer_id: uuid.UUID, from_event_id: int) -> Any:
    async with _one_shot(url) as s:
        return await s.events.replay(customer_id, from_event_id)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def _open(dialer: Engine) -> None:
    """Start the engine's telephony and register it; an unusable setup is a clear error."""
    try:
        await dialer.open()
    except (ValueError, OSError) as exc:
        raise InvalidArgument(
            f"cannot start the {type(dialer.telephony).__name__}: {exc}",
            reason="TELEPHONY_UNUSABLE",
        ) from None


def own_policy(network: NetworkPolicy, endpoints: list[tuple[str, int]]) -> NetworkPolicy:
    """The policy with this process's listening sockets added to what it blocks (a webhook
    or play URL must not call the service itself). A wildcard bind also covers the host's
    own addresses, as far as its name resolves to them."""
    policy = network.with_own(endpoints)
    if any(host in ("0.0.0.0", "::", "") for host, _ in endpoints):
        from outdial.domain.netpolicy import parse_ip_literal

        found = set(policy.own_addresses)
        try:
            infos = socket.getaddrinfo(socket.gethostname(), None)
        except OSError:
            infos = []
        for info in infos:
            address = parse_ip_literal(str(info[4][0]))
            if address is not None:
                found.add(address)
        policy = NetworkPolicy(policy.allowed, policy.own, frozenset(found))
    return policy


async def serve(settings: Settings, host: str, port: int, *, engine: bool) -> None:
    import uvicorn

    from outdial.api.app import create_app

    clock = SystemClock()
    # Bound first, so that port 0 (any free one) works, the log names the real port, and the
    # network policy keeps customers' requests off the port we really listen on.
    sock = _listen(host, port)
    with _metrics(settings.metrics_bind) as metrics_at:
        own = [(host, int(sock.getsockname()[1])), *([metrics_at] if metrics_at else [])]
        settings = replace(settings, network=own_policy(settings.network, own))
        db = await _ready_db(settings.database_url)
        dialer = build_engine(db, settings, clock) if engine else None
        webhooks = build_webhooks(db, clock, settings.network)
        pruner = build_pruner(db, clock, settings.event_retention_days)
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        try:
            if dialer is not None:
                await _open(dialer)

            async def started() -> None:
                tasks.append(asyncio.create_task(webhooks.run(stop), name="webhooks"))
                tasks.append(asyncio.create_task(pruner.run(stop), name="retention"))
                if dialer is not None:
                    tasks.append(asyncio.create_task(dialer.serve(stop), name="engine"))

            async def stopping() -> None:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)

            health = getattr(dialer.telephony, "health", None) if dialer is not None else None
            app = create_app(
                _services(db, settings),
                on_startup=started,
                on_shutdown=stopping,
                health_detail=health,
                metrics=settings.api_metrics and not settings.metrics_bind,
            )
            config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
            server = uvicorn.Server(config)
            # uvicorn re-raises the signal that stopped it once it has shut down gracefully;
            # with our own handlers in place that re-raise only sets the stop event: exit 0.
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            log.info(
                "outdial serving on http://%s:%d (engine %s, telephony %s)",
                host,
                sock.getsockname()[1],
                "on" if engine else "off",
                settings.telephony.value,
            )
            await server.serve(sockets=[sock])
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await db.dispose()
            sock.close()


def _listen(host: str, port: int) -> socket.socket:
    """The API's listening socket on HOST:PORT (port 0: any free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise InvalidArgument(
            f"cannot listen on {host}:{port}: {exc}", reason="LISTEN_ADDRESS_UNUSABLE"
        ) from exc
    sock.set_inheritable(True)
    return sock


@contextmanager
def _metrics(bind: str) -> Iterator[tuple[str, int] | None]:
    """`GET /metrics` on `bind` (HOST:PORT) for the life of the block; nothing when empty.
    Yields the address it listens on."""
    if not bind:
        yield None
        return
    try:
        host, port = parse_bind(bind, "metrics-bind")
        bound, stop = serve_metrics(host, port)
    except (ValueError, OSError) as exc:
        raise InvalidArgument(
            f"cannot serve metrics on {bind}: {exc}", reason="METRICS_BIND_UNUSABLE"
        ) from None
    log.info("metrics on http://%s:%d/metrics", host, bound)
    try:
        yield host, bound
    finally:
        stop()


async def run_engine(settings: Settings, *, webhooks: bool = True) -> None:
    clock = SystemClock()
    db = await _ready_db(settings.database_url)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    try:
        with _metrics(settings.metrics_bind) as metrics_at:
            own = [metrics_at] if metrics_at else []
            settings = replace(settings, network=own_policy(settings.network, own))
            dialer = build_engine(db, settings, clock)
            await _open(dialer)
            pruner = build_pruner(db, clock, settings.event_retention_days)
            side = [asyncio.create_task(pruner.run(stop), name="retention")]
            if webhooks:
                worker = build_webhooks(db, clock, settings.network)
                side.append(asyncio.create_task(worker.run(stop), name="webhooks"))
            try:
                await dialer.serve(stop)
            finally:
                stop.set()
                await asyncio.gather(*side, return_exceptions=True)
    finally:
        await db.dispose()


async def run_webhooks(
    url: str,
    event_retention_days: float = 30.0,
    metrics_bind: str = "",
    network: NetworkPolicy | None = None,
) -> None:
    """A webhook delivery process alone (keeps delivery's CPU off the dialers)."""
    clock = SystemClock()
    db = await _ready_db(url)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    try:
        log.info("outdial delivering webhooks")
        pruner = build_pruner(db, clock, event_retention_days)
        with _metrics(metrics_bind) as metrics_at:
            own = [metrics_at] if metrics_at else []
            worker = build_webhooks(db, clock, own_policy(network or NetworkPolicy(), own))
            await asyncio.gather(worker.run(stop), pruner.run(stop))
    finally:
        await db.dispose()


async def demo(url: str, telephony: TelephonyKind, targets: int) -> dict[str, Any]:
    from outdial.demo import run_demo

    db = await _ready_db(url)
    clock = SystemClock()
    try:
        # The demo dials its own answering peer on loopback: it opens loopback on purpose.
        settings = Settings(
            database_url=url, telephony=telephony, network=NetworkPolicy.from_text(DEMO_NETWORKS)
        )
        return await run_demo(db, clock, settings, targets)
    finally:
        await db.dispose()
