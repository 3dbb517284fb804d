"""The operator interface (SPEC 4). Results go to stdout as JSON, logs to stderr."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
import os
import sys
import typing
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from outdial import priority, runtime
from outdial.domain.errors import OutdialError
from outdial.domain.limits import Limits
from outdial.domain.netpolicy import NetworkPolicy
from outdial.priority import MediaPriority
from outdial.settings import DEFAULT_SIP_BIND, EngineSettings, Settings, SipSettings, TelephonyKind
from outdial.wire.errors import error_body


def _group(help_text: str) -> typer.Typer:
    """A command group with Click's plain help (`--progress / --no-progress`, `TEXT`, `FILE`,
    `INTEGER`; long help and env var names wrap rather than being cut at the terminal's edge).
    Typer is kept below 0.27 (pyproject.toml): later versions print types as `<str>`."""
    return typer.Typer(
        no_args_is_help=True, add_completion=False, rich_markup_mode=None, help=help_text
    )


app = _group("outdial: outbound calling campaigns (VoIPBIN-compatible API).")
customers_app = _group("Customers (tenants).")
accesskeys_app = _group("Access keys for the API.")
targets_app = _group("Outdial targets.")
users_app = _group("Customer users who sign in to the console with a password.")
events_app = _group("Events and webhook delivery.")
app.add_typer(customers_app, name="customers")
app.add_typer(accesskeys_app, name="accesskeys")
app.add_typer(targets_app, name="targets")
app.add_typer(users_app, name="users")
app.add_typer(events_app, name="events")

DbUrl = Annotated[
    str,
    typer.Option(
        "--database-url",
        envvar="OUTDIAL_DATABASE_URL",
        help="sqlite:///PATH or postgresql://USER@HOST:PORT/DB",
    ),
]
Telephony = Annotated[
    TelephonyKind,
    typer.Option(
        "--telephony", envvar="OUTDIAL_TELEPHONY", help="sip (real calls) or sim (simulated)"
    ),
]
SipTrunk = Annotated[
    str,
    typer.Option(
        "--sip-trunk",
        envvar="OUTDIAL_SIP_TRUNK",
        help="HOST:PORT that receives calls to tel numbers",
    ),
]
SipBind = Annotated[
    str,
    typer.Option(
        "--sip-bind",
        envvar="OUTDIAL_SIP_BIND",
        help="HOST:PORT of the local SIP socket (port 0: any)",
    ),
]
SipUser = Annotated[
    str,
    typer.Option(
        "--sip-username", envvar="OUTDIAL_SIP_USERNAME", help="digest user name for the trunk"
    ),
]
SipPass = Annotated[
    str,
    typer.Option(
        "--sip-password", envvar="OUTDIAL_SIP_PASSWORD", help="digest password for the trunk"
    ),
]
SipRealm = Annotated[
    str,
    typer.Option(
        "--sip-realm",
        envvar="OUTDIAL_SIP_REALM",
        help="digest realm(s) the trunk credentials answer, comma-separated "
        "(default: the first realm the trunk asks for)",
    ),
]
SipRegister = Annotated[
    bool,
    typer.Option(
        "--sip-register/--no-sip-register",
        envvar="OUTDIAL_SIP_REGISTER",
        help="REGISTER with the trunk (username@trunk) and keep the registration live",
    ),
]
SipProxy = Annotated[
    str,
    typer.Option(
        "--sip-outbound-proxy",
        envvar="OUTDIAL_SIP_OUTBOUND_PROXY",
        help="HOST:PORT or sip:/sips: URI every SIP request goes to first",
    ),
]
SipTlsCa = Annotated[
    str,
    typer.Option(
        "--sip-tls-ca-file", envvar="OUTDIAL_SIP_TLS_CA_FILE", help="CA bundle for TLS trunks"
    ),
]
SipTlsNoVerify = Annotated[
    str,
    typer.Option(
        "--sip-tls-no-verify",
        envvar="OUTDIAL_SIP_TLS_NO_VERIFY",
        help="comma-separated hosts whose TLS certificate is not verified",
    ),
]
DEFAULT_DB = "sqlite:///./outdial.db"


def _print(obj: Any) -> None:
    """The one printer: one JSON object on a line of standard output."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _error(
    status: str, reason: str, message: str, errors: Any = None, *, code: int = 2
) -> NoReturn:
    """Print the error envelope (the API's, without a request id) and exit non-zero."""
    _print(error_body(status, reason, message, errors=errors))
    raise typer.Exit(code=code)


def _fail(exc: OutdialError) -> NoReturn:
    _error(exc.status.value, exc.reason, exc.message, getattr(exc, "errors", None))


def _run(coro: Any) -> Any:
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            return runner.run(coro)
    except OutdialError as exc:
        _fail(exc)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when it is installed (about 15 % less CPU per SIP call, docs/benchmarks.md),
    unless OUTDIAL_UVLOOP=0; the standard loop otherwise."""
    if os.environ.get("OUTDIAL_UVLOOP", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def _logging(level: int = logging.INFO, fmt: str = "text") -> None:
    from outdial.logs import configure

    try:
        configure(level, fmt)
    except ValueError as exc:
        _settings_error(exc)


def _settings_error(exc: Exception) -> NoReturn:
    _error("INVALID_ARGUMENT", "INVALID_SETTINGS", str(exc))


LogFormat = Annotated[
    str,
    typer.Option(
        "--log-format", envvar="OUTDIAL_LOG_FORMAT", help="text, or json: one object per line"
    ),
]

EventRetention = Annotated[
    float,
    typer.Option(
        "--event-retention-days",
        envvar="OUTDIAL_EVENT_RETENTION_DAYS",
        min=0,
        help="prune events and webhook delivery records older than this, hourly (0: keep all)",
    ),
]

MetricsBind = Annotated[
    str,
    typer.Option(
        "--metrics-bind",
        envvar="OUTDIAL_METRICS_BIND",
        help="HOST:PORT to serve GET /metrics on (port 0: any free one); empty: none",
    ),
]

AllowPrivate = Annotated[
    str,
    typer.Option(
        "--allow-private-networks",
        envvar="OUTDIAL_ALLOW_PRIVATE_NETWORKS",
        help="comma-separated CIDRs that webhooks, play URLs and sip destinations may reach "
        "(e.g. 127.0.0.0/8,10.0.0.0/8); empty: no private, loopback or link-local address",
    ),
]

RateLimitRps = Annotated[
    float,
    typer.Option(
        "--rate-limit-rps",
        envvar="OUTDIAL_RATE_LIMIT_RPS",
        min=0,
        help="API requests per second per access key, sustained (0: no limit); over it: 429",
    ),
]
RateLimitBurst = Annotated[
    int,
    typer.Option(
        "--rate-limit-burst",
        envvar="OUTDIAL_RATE_LIMIT_BURST",
        min=1,
        help="API requests per access key at once after a quiet spell",
    ),
]
MaxEventStreams = Annotated[
    int,
    typer.Option(
        "--max-event-streams",
        envvar="OUTDIAL_MAX_EVENT_STREAMS",
        min=0,
        help="open GET /v1.0/events streams per customer in this process (0: no limit)",
    ),
]
MaxTargets = Annotated[
    int,
    typer.Option(
        "--max-targets-per-customer",
        envvar="OUTDIAL_MAX_TARGETS_PER_CUSTOMER",
        min=0,
        help="targets a customer may hold, deleted ones not counted (0: no limit)",
    ),
]
ImportMaxBody = Annotated[
    int,
    typer.Option(
        "--import-max-body",
        envvar="OUTDIAL_IMPORT_MAX_BODY",
        min=0,
        help="bytes in one POST /v1.0/outdials/{id}/targets_import body (0: no limit); "
        "every other body is limited to 32 MiB",
    ),
]
ApiMetrics = Annotated[
    bool,
    typer.Option(
        "--api-metrics/--no-api-metrics",
        envvar="OUTDIAL_API_METRICS",
        help="serve GET /metrics on the API port (off, or moved with --metrics-bind)",
    ),
]

StaleAfter = Annotated[
    float,
    typer.Option(
        "--stale-after",
        envvar="OUTDIAL_ENGINE_STALE_AFTER",
        help="seconds without a heartbeat before an engine's attempts are closed as lost",
    ),
]
Heartbeat = Annotated[
    float,
    typer.Option(
        "--heartbeat", envvar="OUTDIAL_ENGINE_HEARTBEAT", help="seconds between engine heartbeats"
    ),
]
MaxCall = Annotated[
    float,
    typer.Option(
        "--max-call",
        envvar="OUTDIAL_ENGINE_MAX_CALL",
        help="seconds an answered call may last at most",
    ),
]
MediaPriorityOpt = Annotated[
    MediaPriority,
    typer.Option(
        "--media-priority",
        envvar="OUTDIAL_MEDIA_PRIORITY",
        help="CPU priority of the dialer process: normal, high (nice -10) or realtime "
        "(SCHED_RR, as Asterisk -p); keeps RTP on time on a busy machine (docs/operations.md)",
    ),
]
SimRing = Annotated[
    int,
    typer.Option(
        "--sim-ring-ms",
        envvar="OUTDIAL_SIM_RING_MS",
        help="simulated telephony: how long the far end rings",
    ),
]


def _option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=annotation)  # fmt: skip


# Option groups shared by commands: each is written once, and a command takes the group as
# one parameter of the group's type (`sip: SipSettings`, `tuning: EngineSettings`), which
# `_expand` turns into the options (in this order) and back into that value.
SIP_OPTIONS = [
    _option("sip_trunk", SipTrunk, ""),
    _option("sip_bind", SipBind, DEFAULT_SIP_BIND),
    _option("sip_username", SipUser, ""),
    _option("sip_password", SipPass, ""),
    _option("sip_realm", SipRealm, ""),
    _option("sip_register", SipRegister, False),
    _option("sip_outbound_proxy", SipProxy, ""),
    _option("sip_tls_ca_file", SipTlsCa, ""),
    _option("sip_tls_no_verify", SipTlsNoVerify, ""),
]


def _sip_settings(v: dict[str, Any]) -> SipSettings:
    return SipSettings(
        v["sip_trunk"],
        v["sip_bind"],
        v["sip_username"],
        v["sip_password"],
        realm=v["sip_realm"],
        register=v["sip_register"],
        outbound_proxy=v["sip_outbound_proxy"],
        tls_ca_file=v["sip_tls_ca_file"],
        tls_no_verify=v["sip_tls_no_verify"],
    )


def _tuning(v: dict[str, Any]) -> Tuning:
    return (v["stale_after"], v["heartbeat"], v["max_call"], v["sim_ring_ms"])


TUNING_OPTIONS = [
    _option("stale_after", StaleAfter, 10.0),
    _option("heartbeat", Heartbeat, 2.0),
    _option("max_call", MaxCall, 3600.0),
    _option("sim_ring_ms", SimRing, 200),
]
Tuning = tuple[float, float, float, int]  # EngineSettings' fields, checked by _settings
DEFAULT_TUNING: Tuning = (10.0, 2.0, 3600.0, 200)

GROUPS: dict[str, tuple[list[inspect.Parameter], Callable[[dict[str, Any]], Any]]] = {
    "sip": (SIP_OPTIONS, _sip_settings),
    "tuning": (TUNING_OPTIONS, _tuning),
}


def _expand(command: Callable[..., None]) -> Callable[..., None]:
    """Give `command` the options of each group it takes (see GROUPS) in the group's place."""
    hints = typing.get_type_hints(command, include_extras=True)
    params: list[inspect.Parameter] = []
    for p in inspect.signature(command).parameters.values():
        if p.name in GROUPS:
            params += GROUPS[p.name][0]
        else:
            kind = inspect.Parameter.KEYWORD_ONLY
            params.append(p.replace(kind=kind, annotation=hints.get(p.name, p.annotation)))

    @functools.wraps(command)
    def wrapper(**values: Any) -> None:
        for name, (options, build) in GROUPS.items():
            if options[0].name in values:
                group = {o.name: values.pop(o.name) for o in options}
                values[name] = build(group)
        command(**values)

    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def _settings(
    url: str,
    telephony: TelephonyKind,
    sip: SipSettings,
    tuning: Tuning,
    event_retention_days: float = 30.0,
    metrics_bind: str = "",
    allow_private_networks: str = "",
    limits: tuple[float, int, int, int, int] | None = None,
    api_metrics: bool = True,
) -> Settings:
    try:
        return runtime.make_settings(
            url,
            telephony,
            sip,
            EngineSettings(*tuning),
            event_retention_days,
            metrics_bind,
            allow_private_networks,
            Limits(*limits) if limits else None,
            api_metrics,
        )
    except (ValueError, OutdialError) as exc:
        _settings_error(exc)


@app.command(short_help="Serve the REST API (and the dialer, unless --no-engine).")
@_expand
def serve(
    host: Annotated[
        str, typer.Option(envvar="OUTDIAL_HOST", help="address the API listens on")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="OUTDIAL_PORT", help="TCP port of the API")] = 8080,
    database_url: DbUrl = DEFAULT_DB,
    telephony: Telephony = TelephonyKind.SIM,
    no_engine: Annotated[bool, typer.Option("--no-engine", help="API only, no dialer")] = False,
    sip: SipSettings = SipSettings(),
    tuning: Tuning = DEFAULT_TUNING,
    event_retention_days: EventRetention = 30.0,
    allow_private_networks: AllowPrivate = "",
    rate_limit_rps: RateLimitRps = 50.0,
    rate_limit_burst: RateLimitBurst = 100,
    max_event_streams: MaxEventStreams = 10,
    max_targets_per_customer: MaxTargets = 10_000_000,
    import_max_body: ImportMaxBody = 2 * 1024 * 1024 * 1024,
    metrics_bind: MetricsBind = "",
    api_metrics: ApiMetrics = True,
    log_format: LogFormat = "text",
    media_priority: MediaPriorityOpt = MediaPriority.NORMAL,
) -> None:
    """Serve the REST API and, unless --no-engine, run the dialer in the same process."""
    _logging(fmt=log_format)
    priority.apply(media_priority)
    settings = _settings(
        database_url,
        telephony,
        sip,
        tuning,
        event_retention_days,
        metrics_bind,
        allow_private_networks,
        (
            rate_limit_rps,
            rate_limit_burst,
            max_event_streams,
            max_targets_per_customer,
            import_max_body,
        ),
        api_metrics,
    )
    _run(runtime.serve(settings, host, port, engine=not no_engine))


@app.command(short_help="Run a dialer process alone.")
@_expand
def engine(
    database_url: DbUrl = DEFAULT_DB,
    telephony: Telephony = TelephonyKind.SIM,
    sip: SipSettings = SipSettings(),
    tuning: Tuning = DEFAULT_TUNING,
    event_retention_days: EventRetention = 30.0,
    metrics_bind: MetricsBind = "",
    allow_private_networks: AllowPrivate = "",
    log_format: LogFormat = "text",
    webhooks: Annotated[
        bool,
        typer.Option(
            "--webhooks/--no-webhooks",
            envvar="OUTDIAL_WEBHOOKS",
            help="also deliver webhooks in this process (off: run `outdial webhooks`)",
        ),
    ] = True,
    media_priority: MediaPriorityOpt = MediaPriority.NORMAL,
) -> None:
    """Run a dialer process alone (any number may share one PostgreSQL database)."""
    _logging(fmt=log_format)
    priority.apply(media_priority)
    settings = _settings(
        database_url,
        telephony,
        sip,
        tuning,
        event_retention_days,
        metrics_bind,
        allow_private_networks,
    )
    _run(runtime.run_engine(settings, webhooks=webhooks))


@app.command(short_help="Deliver webhooks alone.")
def webhooks(
    database_url: DbUrl = DEFAULT_DB,
    event_retention_days: EventRetention = 30.0,
    metrics_bind: MetricsBind = "",
    allow_private_networks: AllowPrivate = "",
    log_format: LogFormat = "text",
) -> None:
    """Deliver webhooks alone (any number of these may share one PostgreSQL database)."""
    _logging(fmt=log_format)
    try:
        settings = Settings(
            database_url=database_url,
            event_retention_days=event_retention_days,
            metrics_bind=metrics_bind,
            network=NetworkPolicy.from_text(allow_private_networks),
        )
    except ValueError as exc:
        _settings_error(exc)
    _run(runtime.run_webhooks(settings))


@app.command()
def migrate(database_url: DbUrl = DEFAULT_DB) -> None:
    """Upgrade the database schema to the newest revision."""
    _logging(logging.WARNING)
    revision = _run(runtime.migrate(database_url))
    _print({"revision": revision, "database_url": runtime.redact(database_url)})


@customers_app.command("create")
def customers_create(
    name: Annotated[str, typer.Option("--name", help="the customer's name")],
    database_url: DbUrl = DEFAULT_DB,
) -> None:
    """Create a customer; prints it as JSON (id, name)."""
    _logging(logging.WARNING)
    _print(_run(runtime.create_customer(database_url, name)))


@customers_app.command("update", short_help="Set a customer's webhook and allowed calling codes.")
def customers_update(
    customer_id: Annotated[str, typer.Option("--id", help="the customer's id")],
    webhook_uri: Annotated[
        str | None, typer.Option("--webhook-uri", help="http(s) URL; empty turns webhooks off")
    ] = None,
    webhook_method: Annotated[
        str | None, typer.Option("--webhook-method", help="POST (the default) or PUT")
    ] = None,
    allowed_calling_codes: Annotated[
        str | None,
        typer.Option(
            "--allowed-calling-codes",
            help="comma-separated calling codes tel destinations must start with (1,44); "
            "empty: all",
        ),
    ] = None,
    database_url: DbUrl = DEFAULT_DB,
    allow_private_networks: AllowPrivate = "",
) -> None:
    """Set a customer's webhook and calling codes; prints the customer (with its signing
    secret when this made it)."""
    _logging(logging.WARNING)
    body: dict[str, Any] = {"webhook_uri": webhook_uri, "webhook_method": webhook_method}
    if allowed_calling_codes is not None:
        codes = [c.strip() for c in allowed_calling_codes.split(",") if c.strip()]
        body["allowed_calling_codes"] = codes
    network = _network(allow_private_networks)
    cid = _uuid(customer_id, "--id")
    _print(_run(runtime.update_customer(database_url, cid, body, network)))


@customers_app.command(
    "rotate-webhook-secret", short_help="A new webhook signing secret; the old one signs 24 h."
)
def customers_rotate_secret(
    customer_id: Annotated[str, typer.Option("--id", help="the customer's id")],
    database_url: DbUrl = DEFAULT_DB,
) -> None:
    """A new webhook signing secret (printed once); the old one signs beside it for 24 h."""
    _logging(logging.WARNING)
    _print(_run(runtime.rotate_webhook_secret(database_url, _uuid(customer_id, "--id"))))


def _network(allow_private_networks: str) -> NetworkPolicy:
    try:
        return NetworkPolicy.from_text(allow_private_networks)
    except ValueError as exc:
        _settings_error(exc)


@events_app.command("replay")
def events_replay(
    customer_id: Annotated[str, typer.Option("--customer-id", help="the customer's id")],
    from_event_id: Annotated[
        int, typer.Option("--from-event-id", min=0, help="the first event to deliver again")
    ],
    database_url: DbUrl = DEFAULT_DB,
) -> None:
    """Deliver a customer's events to its webhook again, from an event id on."""
    _logging(logging.WARNING)
    cid = _uuid(customer_id, "--customer-id")
    _print(_run(runtime.replay_events(database_url, cid, from_event_id)))


@events_app.command("prune")
def events_prune(
    older_than_days: Annotated[
        float,
        typer.Option(
            "--older-than-days",
            help="events and delivery records older than this go (undelivered events stay)",
        ),
    ] = 30.0,
    database_url: DbUrl = DEFAULT_DB,
) -> None:
    """Prune old events and webhook delivery records now; prints what went."""
    _logging(logging.WARNING)
    _print(_run(runtime.prune_events(database_url, older_than_days)))


def _uuid(text: str, option: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        _error("INVALID_ARGUMENT", "INVALID_ID", f"{option} is not a valid UUID: {text!r}")


@accesskeys_app.command("create", short_help="Create an access key; prints its token once.")
def accesskeys_create(
    customer_id: Annotated[str, typer.Option("--customer-id", help="the customer's id")],
    name: Annotated[str, typer.Option("--name", help="a label for the key")] = "",
    database_url: DbUrl = DEFAULT_DB,
) -> None:
    """Create an access key; prints JSON with the key in `token` (shown only once)."""
    _logging(logging.WARNING)
    cid = _uuid(customer_id, "--customer-id")
    _print(_run(runtime.create_accesskey(database_url, cid, name)))


@accesskeys_app.command("list", short_help="List a customer's access keys (never their tokens).")
def accesskeys_list(
    customer_id: Annotated[str, typer.Option("--customer-id", help="the customer's id")],
    database_url: DbUrl = DEFAULT_DB,
) -> None:
    """List a customer's access keys (never their tokens), newest first, revoked ones too."""
    _logging(logging.WARNING)
    cid = _uuid(customer_id, "--customer-id")
    _print(_run(runtime.list_accesskeys(database_url, cid)))


@accesskeys_app.command("delete")
def accesskeys_delete(
    key_id: Annotated[str, typer.Option("--id", help="the key's id (from create or list)")],
    database_url: DbUrl = DEFAULT_DB,
) -> None:
    """Revoke an access key; prints it with its tm_delete."""
    _logging(logging.WARNING)
    _print(_run(runtime.delete_accesskey(database_url, _uuid(key_id, "--id"))))


@users_app.command("create", short_help="Create a customer user (the password from stdin).")
def users_create(
    customer_id: Annotated[str, typer.Option("--customer-id", help="the customer's id")],
    username: Annotated[str, typer.Option("--username", help="email-like: name@example.com")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="read the password from standard input (its first line); required, so that "
            "it never appears in the process list or the shell's history",
        ),
    ] = False,
    database_url: DbUrl = DEFAULT_DB,
) -> None:
    """Create a user of a customer, who signs in with POST /v1.0/login; prints the user."""
    _logging(logging.WARNING)
    cid = _uuid(customer_id, "--customer-id")
    if not password_stdin:
        _error(
            "INVALID_ARGUMENT", "PASSWORD_STDIN_REQUIRED", "give the password with --password-stdin"
        )
    password = sys.stdin.readline().rstrip("\r\n")
    _print(_run(runtime.create_user(database_url, cid, username, password)))


@users_app.command("list", short_help="List a customer's users (never their passwords).")
def users_list(
    customer_id: Annotated[str, typer.Option("--customer-id", help="the customer's id")],
    database_url: DbUrl = DEFAULT_DB,
) -> None:
    """List a customer's users that are not deleted, newest first."""
    _logging(logging.WARNING)
    _print(_run(runtime.list_users(database_url, _uuid(customer_id, "--customer-id"))))


@users_app.command("delete", short_help="Delete a user and end its sessions.")
def users_delete(
    customer_id: Annotated[str, typer.Option("--customer-id", help="the customer's id")],
    user_id: Annotated[str, typer.Option("--id", help="the user's id")],
    database_url: DbUrl = DEFAULT_DB,
) -> None:
    """Delete a user (soft; its sessions end at once); prints it with its tm_delete."""
    _logging(logging.WARNING)
    cid = _uuid(customer_id, "--customer-id")
    _print(_run(runtime.delete_user(database_url, cid, _uuid(user_id, "--id"))))


@targets_app.command("import")
def targets_import(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="a .csv or .jsonl file of targets"
        ),
    ],
    outdial_id: Annotated[str, typer.Option("--outdial-id", help="the outdial the targets join")],
    database_url: DbUrl = DEFAULT_DB,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: by suffix)")
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="a progress bar on standard error")
    ] = True,
    allow_private_networks: AllowPrivate = "",
    max_targets_per_customer: MaxTargets = 10_000_000,
    dedupe: Annotated[
        str,
        typer.Option(
            "--dedupe",
            help="none, within_file (a row repeating an earlier row's number or SIP URI) "
            "or within_outdial (... or a live target of the outdial)",
        ),
    ] = "none",
    dedupe_action: Annotated[
        str,
        typer.Option(
            "--dedupe-action",
            help="report (every duplicate row is an error, nothing imported) or skip "
            "(leave them out and count them in skipped_duplicates)",
        ),
    ] = "report",
) -> None:
    """Import targets from CSV or JSON Lines; all or nothing, with a progress bar."""
    _logging(logging.WARNING)
    try:
        settings = Settings(
            database_url=database_url,
            network=NetworkPolicy.from_text(allow_private_networks),
            limits=Limits(targets=max_targets_per_customer),
        )
    except ValueError as exc:
        _settings_error(exc)
    oid = _uuid(outdial_id, "--outdial-id")
    with _progress_bar(file, progress) as report:
        _print(
            _run(runtime.import_targets(settings, oid, file, fmt, report, dedupe, dedupe_action))
        )


@contextmanager
def _progress_bar(path: Path, show: bool) -> Iterator[Callable[[int, int], None]]:
    """A progress bar of an import on standard error (bytes of the file read, rows read)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("importing"),
        BarColumn(),
        TextColumn("{task.fields[rows]} rows"),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
        disable=not show,
    )
    with bar:
        task = bar.add_task("import", total=path.stat().st_size or 1, rows=0)

        def report(done: int, rows: int) -> None:
            bar.update(task, completed=done, rows=rows)

        yield report


@app.command(short_help="Run a whole campaign on an embedded database, live.")
def demo(
    database_url: DbUrl = "sqlite:///./outdial-demo.db",
    telephony: Annotated[
        TelephonyKind,
        typer.Option("--telephony", help="sip: real calls to a local answering peer; sim"),
    ] = TelephonyKind.SIP,
    targets: Annotated[int, typer.Option(help="how many targets to dial")] = 36,
) -> None:
    """Run a whole campaign on the embedded database and show its progress live."""
    _logging(logging.WARNING)
    from outdial.demo import demo as run

    _print(_run(run(database_url, telephony, targets)))


def main() -> None:
    app()
