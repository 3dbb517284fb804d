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


def exposition() -> tuple[bytes, str]:
    """The text format body and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST


def serve_metrics(host: str, port: int) -> tuple[int, Callable[[], None]]:
    """`GET /metrics` on its own socket, for processes without the API (`outdial engine`,
    `outdial webhooks`): prometheus-client's small threaded server. Returns the bound port
    (port 0 picks a free one) and the function that stops it."""
    httpd, _thread = start_http_server(port, addr=host)
    return int(httpd.server_address[1]), httpd.shutdown
