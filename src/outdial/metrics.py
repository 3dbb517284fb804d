"""Prometheus metrics of one process (`GET /metrics`). The collectors are process-wide, as
prometheus-client expects; the engine, the ledger, the API middleware and the webhook worker
only count and time — none of their logic depends on these."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

ATTEMPTS_STARTED = Counter("outdial_attempts_started", "Attempts started by this process")
ATTEMPTS_FINISHED = Counter(
    "outdial_attempts_finished",
    "Attempts ended, by result and hangup reason",
    ["result", "hangup_reason"],
)
CALLS_IN_FLIGHT = Gauge("outdial_calls_in_flight", "Attempts in flight in this process")
IN_FLIGHT_DRIFT = Counter(
    "outdial_in_flight_drift",
    "Attempts ended that the campaign's in_flight no longer counted (a drift; never expected)",
)
FENCED_WRITES = Counter(
    "outdial_engine_fenced_writes_total",
    "Attempt writes refused because the attempt was no longer this engine's (its lease was "
    "recovered by another engine while this one was cut off)",
)
ENGINE_FENCED = Counter(
    "outdial_engine_fenced_total",
    "Times this engine found itself fenced (declared dead by another engine) and rejoined",
)
CLAIM_SECONDS = Histogram(
    "outdial_claim_seconds",
    "Time of one claim transaction (start up to max_batch attempts)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
API_SECONDS = Histogram(
    "outdial_api_request_seconds",
    "API request latency, by method, route template and status code",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
WEBHOOK_DELIVERIES = Counter(
    "outdial_webhook_deliveries", "Webhook delivery attempts that succeeded"
)
WEBHOOK_FAILURES = Counter(
    "outdial_webhook_delivery_failures",
    "Webhook delivery attempts that failed (error, timeout or non-2xx), by kind",
    ["kind"],
)
EVENTS_STREAMED = Counter("outdial_events_streamed", "Events sent on SSE streams")
SIP_REGISTERED = Gauge(
    "outdial_sip_registered", "1 while this process holds a live registration with the trunk"
)
SIP_REGISTER_FAILURES = Counter(
    "outdial_sip_register_failures", "REGISTER attempts with the trunk that failed"
)
SIP_TRUNK_UP = Gauge(
    "outdial_sip_trunk_up",
    "1 while this process counts its SIP trunk as up, 0 while it is down (docs/operations.md)",
)
SIP_TRUNK_PROBES = Counter(
    "outdial_sip_trunk_probes",
    "OPTIONS probes of a down trunk, by response class (none: no answer)",
    ["response"],
)
LEDGER_HELD = Gauge(
    "outdial_engine_results_held",
    "Attempt updates (answers, ends) waiting to be written; grows while the database is away",
)
DATABASE_UP = Gauge(
    "outdial_engine_database_up", "0 while this engine cannot reach the database, else 1"
)
ASYNCIO_TASKS = Gauge(
    "outdial_engine_asyncio_tasks", "asyncio tasks alive in the engine's process (each heartbeat)"
)
TRUNK_PAUSED = Gauge(
    "outdial_engine_trunk_paused", "1 while this engine starts no attempts: its trunk is down"
)


def exposition() -> tuple[bytes, str]:
    """The text format body and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST


def serve_metrics(host: str, port: int) -> tuple[int, Callable[[], None]]:
    """`GET /metrics` on its own socket, for processes without the API (`outdial engine`,
    `outdial webhooks`): prometheus-client's small threaded server. Returns the bound port
    (port 0 picks a free one) and the function that stops it."""
    httpd, _thread = start_http_server(port, addr=host)
    return int(httpd.server_address[1]), httpd.shutdown
