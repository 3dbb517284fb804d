"""The composition root: builds the database, services, telephony and engine of a process,
and runs the three long-running processes (serve, engine, webhooks) in one supervised shape
(`supervisor.py`)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
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
from outdial.supervisor import Supervisor
from outdial.telephony.base import Telephony
from outdial.wire import customer as wire_customer

if TYPE_CHECKING:
    import uvicorn

    from outdial.engine.engine import Engine
    from outdial.engine.retention import Pruner
    from outdial.engine.webhooks import WebhookWorker
    from outdial.services.container import Services
    from outdial.services.context import Context
    from outdial.telephony.webrtc import PhoneBook

log = logging.getLogger("outdial")

Progress = Callable[[int, int], None]  # bytes read, rows read (of an import)


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


# ---- the container ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Container:
    """Everything a process is made of, built once (`open_container`) and passed down."""

    settings: Settings
    db: Database
    clock: Clock
    ctx: Context
    services: Services


@asynccontextmanager
async def open_container(
    settings: Settings, clock: Clock | None = None
) -> AsyncIterator[Container]:
    """The process's container: the schema brought up to date, the database closed when the
    block ends."""
    from outdial.services.container import Services
    from outdial.services.context import Context

    db = Database(settings.database_url)
    try:
        await upgrade(db)
        clock = clock or SystemClock()
        max_call_ms = int(settings.engine.max_call_s * 1000)
        ctx = Context(
            db,
            clock,
            settings.network,
            settings.limits,
            max_call_ms,
            recordings_dir=settings.recordings.dir,
            recordings_retention_days=settings.recordings.retention_days,
            sessions=settings.sessions,
            sim_agents=settings.telephony is TelephonyKind.SIM,
        )
        yield Container(settings, db, clock, ctx, Services.over(ctx))
    finally:
        await db.dispose()


def build_telephony(c: Container) -> Telephony:
    if c.settings.telephony is TelephonyKind.SIM:
        from outdial.telephony.sim import SimTelephony

        return SimTelephony(c.clock, ring_ms=c.settings.engine.sim_ring_ms)
    from outdial.services.media import MediaLoader
    from outdial.telephony.factory import sip_telephony

    return sip_telephony(c.settings.sip, c.settings.network, MediaLoader(c.ctx))


def build_engine(c: Container) -> Engine:
    from outdial.engine.engine import Engine, EngineConfig
    from outdial.services.dialing import DialingService

    tuning = c.settings.engine
    config = EngineConfig(
        stale_after_s=tuning.stale_after_s,
        heartbeat_s=tuning.heartbeat_s,
        recover_every_s=tuning.heartbeat_s,
        max_call_s=tuning.max_call_s,
    )
    return Engine(DialingService(c.ctx), build_telephony(c), c.clock, config)


def build_webhooks(c: Container) -> WebhookWorker:
    """The webhook delivery worker of this process (one per process, beside the dialer)."""
    from outdial.engine.webhooks import WebhookConfig, WebhookWorker
    from outdial.services.webhooks import WebhookService

    network = c.settings.network
    return WebhookWorker(WebhookService(c.ctx), c.clock, WebhookConfig(network=network))


def build_pruner(c: Container) -> Pruner:
    """The retention task of this process (old events and delivery records, and recordings
    when OUTDIAL_RECORDINGS_RETENTION_DAYS is set; hourly)."""
    from outdial.engine.retention import Pruner
    from outdial.services.recordings import RecordingService
    from outdial.services.retention import RetentionService

    return Pruner(
        RetentionService(c.ctx),
        c.settings.event_retention_days,
        recordings=RecordingService(c.ctx),
        recordings_days=c.settings.recordings.retention_days,
    )


# ---- one-shot commands -----------------------------------------------------------------


async def migrate(url: str) -> str:
    db = Database(url)
    try:
        return await upgrade(db)
    finally:
        await db.dispose()


def _one_shot(
    url: str, network: NetworkPolicy | None = None
) -> AbstractAsyncContextManager[Container]:
    """The container of a one-shot CLI command. `network`: what its writes may point at
    (webhook URIs)."""
    return open_container(Settings(database_url=url, network=network or NetworkPolicy()))


async def create_customer(url: str, name: str) -> dict[str, Any]:
    async with _one_shot(url) as c:
        return wire_customer.created(await c.services.customers.create(name))


async def list_accesskeys(url: str, customer_id: uuid.UUID) -> dict[str, Any]:
    async with _one_shot(url) as c:
        keys = await c.services.customers.list_accesskeys(customer_id)
        return {"result": [wire_customer.accesskey(k) for k in keys]}


async def delete_accesskey(url: str, key_id: uuid.UUID) -> dict[str, Any]:
    async with _one_shot(url) as c:
        return wire_customer.accesskey(await c.services.customers.delete_accesskey(key_id))


async def create_accesskey(url: str, customer_id: uuid.UUID, name: str) -> dict[str, Any]:
    async with _one_shot(url) as c:
        key, token = await c.services.customers.create_accesskey(customer_id, name)
        return wire_customer.created_accesskey(key, token)


async def create_user(
    url: str, customer_id: uuid.UUID, username: str, password: str
) -> dict[str, Any]:
    from outdial.wire import user as wire_user

    async with _one_shot(url) as c:
        return wire_user.render(
            await c.services.users.create(None, customer_id, username, password)
        )


async def list_users(url: str, customer_id: uuid.UUID) -> dict[str, Any]:
    from outdial.wire import user as wire_user

    async with _one_shot(url) as c:
        return {
            "result": [wire_user.render(u) for u in await c.services.users.list(None, customer_id)]
        }


async def delete_user(url: str, customer_id: uuid.UUID, user_id: uuid.UUID) -> dict[str, Any]:
    from outdial.wire import user as wire_user

    async with _one_shot(url) as c:
        return wire_user.render(await c.services.users.delete(None, customer_id, user_id))


async def import_targets(
    settings: Settings,
    outdial_id: uuid.UUID,
    path: Path,
    fmt: str | None,
    progress: Progress,
    dedupe: str = "none",
    dedupe_action: str = "report",
) -> dict[str, Any]:
    """Import a file of targets; `progress(bytes_read, rows_read)` is called as it goes.
    With a dedupe mode other than `none` the answer also counts `skipped_duplicates`."""
    from outdial.domain.dedupe import Dedupe, parse_dedupe, parse_dedupe_action
    from outdial.services.importer import import_file

    mode = parse_dedupe(dedupe, "--dedupe")
    action = parse_dedupe_action(dedupe_action, "--dedupe-action")
    async with open_container(settings) as c:
        report = await import_file(
            c.ctx, outdial_id, path, fmt=fmt, progress=progress, dedupe=mode, dedupe_action=action
        )
        answer: dict[str, Any] = {"outdial_id": str(outdial_id), "imported": report.imported}
        if mode is not Dedupe.NONE:
            answer["dedupe"] = mode.value
            answer["skipped_duplicates"] = report.skipped_duplicates
        return answer


async def prune_events(url: str, older_than_days: float) -> dict[str, Any]:
    from outdial.services.retention import RetentionService

    async with _one_shot(url) as c:
        pruned = await RetentionService(c.ctx).prune(older_than_days)
        return {**pruned.to_json(), "older_than_days": older_than_days}


async def update_customer(
    url: str, customer_id: uuid.UUID, body: dict[str, Any], network: NetworkPolicy | None = None
) -> dict[str, Any]:
    async with _one_shot(url, network) as c:
        return await c.services.accounts.update(None, customer_id, body)


async def rotate_webhook_secret(url: str, customer_id: uuid.UUID) -> dict[str, Any]:
    async with _one_shot(url) as c:
        return await c.services.accounts.rotate_webhook_secret(None, customer_id)


async def replay_events(url: str, customer_id: uuid.UUID, from_event_id: int) -> dict[str, Any]:
    async with _one_shot(url) as c:
        return await c.services.events.replay(customer_id, from_event_id)


# ---- long-running processes ------------------------------------------------------------


async def open_engine(dialer: Engine) -> None:
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


@asynccontextmanager
async def _process(
    settings: Settings, listening: list[tuple[str, int]], *, signals: bool = True
) -> AsyncIterator[tuple[Container, Supervisor]]:
    """The shape of every long-running process: metrics served (when bound), the network
    policy closed over this process's own sockets, the container built once, and a
    supervisor whose stop event SIGTERM and SIGINT set (`signals`; the API server handles
    them itself and then sets it). On leaving the block every task is stopped and waited
    for; a task that died makes the block raise `TaskDied`."""
    supervisor = Supervisor()
    if signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, supervisor.stop.set)
    with _metrics(settings.metrics_bind) as metrics_at:
        own = [*listening, *([metrics_at] if metrics_at else [])]
        settings = replace(settings, network=own_policy(settings.network, own))
        async with open_container(settings) as c:
            try:
                yield c, supervisor
            finally:
                await supervisor.close()


def browser_phones(c: Container, dialer: Engine | None) -> PhoneBook | None:
    """The agents' browser phones (telephony/webrtc.py), with the SIP telephony's engine in
    this process: its bridges reach them and its desk prefers them. A phone that drops makes
    its agent `offline`."""
    if dialer is None or not hasattr(dialer.telephony, "local_legs"):
        return None
    from outdial.telephony.webrtc import PhoneBook, parse_host_addresses

    async def offline(customer_id: uuid.UUID, agent_id: uuid.UUID) -> None:
        await c.services.agents.update(customer_id, agent_id, {"status": "offline"}, part="status")

    phones = PhoneBook(
        offline, parse_host_addresses(os.environ.get("OUTDIAL_WEBRTC_ADDRESSES", ""))
    )
    setattr(dialer.telephony, "local_legs", phones.leg)  # noqa: B010 (not on the Protocol)
    dialer.desk.phone_open = phones.is_open
    return phones


async def serve(settings: Settings, host: str, port: int, *, engine: bool) -> None:
    import uvicorn

    from outdial.api.app import create_app

    # Bound first, so that port 0 (any free one) works, the log names the real port, and the
    # network policy keeps customers' requests off the port we really listen on.
    sock = _listen(host, port)
    try:
        bound = [(host, int(sock.getsockname()[1]))]
        async with _process(settings, bound, signals=False) as (c, supervisor):
            dialer = build_engine(c) if engine else None
            webhooks = build_webhooks(c)
            pruner = build_pruner(c)
            if dialer is not None:
                await open_engine(dialer)

            async def started() -> None:
                supervisor.start("webhooks", webhooks.run)
                supervisor.start("retention", pruner.run)
                if dialer is not None:
                    supervisor.start("engine", dialer.serve)

            phones = browser_phones(c, dialer)

            async def shutdown() -> None:
                if phones is not None:
                    await phones.close_all()
                await supervisor.wind_down()

            health = getattr(dialer.telephony, "health", None) if dialer is not None else None
            app = create_app(
                c.services,
                on_startup=started,
                on_shutdown=shutdown,
                phones=phones,
                health_detail=health,
                metrics=c.settings.api_metrics and not c.settings.metrics_bind,
            )
            config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
            server = uvicorn.Server(config)

            async def api(stop: asyncio.Event) -> None:
                # A stop from elsewhere (a task that died) ends the server too.
                watcher = asyncio.create_task(_exit_when(stop, server))
                try:
                    await server.serve(sockets=[sock])
                finally:
                    stop.set()
                    watcher.cancel()

            # uvicorn re-raises the signal that stopped it once it has shut down gracefully;
            # with our own handlers in place that re-raise only sets the stop event: exit 0.
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: supervisor.stop.set())
            log.info(
                "outdial serving on http://%s:%d (engine %s, telephony %s)",
                host,
                sock.getsockname()[1],
                "on" if engine else "off",
                c.settings.telephony.value,
            )
            await supervisor.run("api", api)
    finally:
        sock.close()


async def _exit_when(stop: asyncio.Event, server: uvicorn.Server) -> None:
    await stop.wait()
    server.should_exit = True


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
    """A dialer process (any number may share one PostgreSQL database)."""
    async with _process(settings, []) as (c, supervisor):
        dialer = build_engine(c)
        await open_engine(dialer)
        supervisor.start("retention", build_pruner(c).run)
        if webhooks:
            supervisor.start("webhooks", build_webhooks(c).run)
        await supervisor.run("engine", dialer.serve)


async def run_webhooks(settings: Settings) -> None:
    """A webhook delivery process alone (keeps delivery's CPU off the dialers)."""
    async with _process(settings, []) as (c, supervisor):
        log.info("outdial delivering webhooks")
        supervisor.start("retention", build_pruner(c).run)
        await supervisor.run("webhooks", build_webhooks(c).run)
