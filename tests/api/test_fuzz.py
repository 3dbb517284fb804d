"""Fuzzing over the app's own OpenAPI schema (schemathesis): no request ever gets a 500, and
every response conforms to the schema as far as the schema says anything (see CHECKS).

Valid and invalid requests are generated for every operation and sent with a valid key, on
SQLite and on PostgreSQL. Path ids are often those of the caller's real resources, so that the
fuzzer gets past the 404s into the validation and write paths.

The app runs on schemathesis' own event-loop thread. Each test points the app at freshly
seeded services; the database pool opens on that thread and is closed there too, by the app's
shutdown hook, which `shutdown_lifespans()` runs after every test.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.python.asgi import shutdown_lifespans

from outdial.api.app import create_app
from outdial.clock import SystemClock
from outdial.services.container import Services
from outdial.storage.db import Database

# Examples per operation, generation mode and database: 6 locally (under a minute for the whole
# file: 52 operations on two databases on the 2-core machine), 20 under CI=true. Each test is
# time-boxed (OUTDIAL_FUZZ_BUDGET_S, from its first example): past its budget the remaining
# examples are generated but not sent, so a slow machine searches less instead of running long. Set
# OUTDIAL_FUZZ_EXAMPLES for a deeper search: 60 passed on every operation on 2026-11-27.
IN_CI = os.environ.get("CI", "").lower() == "true"
MAX_EXAMPLES = int(os.environ.get("OUTDIAL_FUZZ_EXAMPLES", "20" if IN_CI else "6"))
BUDGET_S = float(os.environ.get("OUTDIAL_FUZZ_BUDGET_S", "4" if IN_CI else "30"))

# The response checks. Each is applied to every generated request.
CHECKS = [
    checks.not_a_server_error,  # no input ever produces a 500
    checks.response_schema_conformance,  # bodies match the documented schema
    checks.response_headers_conformance,  # documented headers are present and valid
    checks.negative_data_rejection,  # requests that break the schema are refused (4xx)
    checks.use_after_free,  # a deleted resource is not found afterwards
    checks.ensure_resource_availability,  # a created resource can be read
    checks.ignored_auth,  # a request without the key is refused
    checks.missing_required_header,
    checks.unsupported_method,  # undeclared methods: 405 with an Allow header
    checks.allow_header_conformance,
]
# Left out by design until issue 20 types the OpenAPI document (each fails now for that reason
# only, not for a bug in the responses):
#  - status_code_conformance: invalid input is answered 400 (SPEC 2, INVALID_ARGUMENT) while
#    the generated document lists FastAPI's 422 and no 400/404/409.
#  - positive_data_acceptance: the document declares bodies loosely (untyped fields), so
#    "schema-valid" data includes what the API must refuse (an E.164 of two digits, ...).
# content_type_conformance holds for every JSON operation; the event stream (GET /events)
# answers text/event-stream, which the document does not declare yet (issue 20), so it skips
# that one check.
CONTENT_TYPE_EXEMPT = {("GET", "/v1.0/events")}


async def _close_pool() -> None:
    services: Services | None = APP.state.services
    if services is not None:
        await services.ctx.db.dispose()


APP = create_app(cast(Services, None), on_shutdown=_close_pool)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema.config.generation.update(modes=["positive", "negative"], max_examples=MAX_EXAMPLES)

# Ids of the current test's real resources, by the path segment that names their kind.
REAL_IDS: dict[str, list[str]] = {}


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    path: str = context.operation.path
    kind = path.split("/")[2] if path.startswith("/v1.0/") else ""  # /v1.0/<kind>/{id}...
    if "{id}" not in path or kind not in REAL_IDS:
        return st.just(path_parameters)
    chosen = {"id": st.sampled_from(REAL_IDS[kind])}
    if "{target_id}" in path:
        chosen["target_id"] = st.sampled_from(REAL_IDS["targets"])
    real = st.fixed_dictionaries(chosen).map(lambda ids: {**path_parameters, **ids})
    return st.just(path_parameters) | real


async def _seed(services: Services) -> str:
    """A customer with a key and one resource of each kind; returns the key."""
    s = services
    customer = await s.customers.create("fuzzer")
    _, token = await s.customers.create_accesskey(customer.id, "fuzz")
    me = customer.id
    outdial = await s.outdials.create(me, {"name": "fuzz list"})
    body = {"destination_0": {"type": "tel", "target": "+15550001"}}
    target = await s.targets.create(me, outdial.id, body)
    outplan = await s.outplans.create(me, {"name": "fuzz plan"})
    campaign = await s.campaigns.create(me, {"name": "fuzz campaign"})
    REAL_IDS.update(
        outdials=[str(outdial.id)],
        targets=[str(target.id)],
        outplans=[str(outplan.id)],
        campaigns=[str(campaign.id)],
    )
    await s.ctx.db.dispose()  # the pool reopens on the loop that serves the requests
    return token


@pytest.fixture
def fuzz_clock() -> list[float]:
    """When this operation's time box ends (monotonic); set by its first example, so that
    at least one example always runs."""
    return []


@pytest.fixture
def fuzz_token(database_url: str) -> Iterator[str]:
    services = Services.build(Database(database_url), SystemClock())
    token = asyncio.run(_seed(services))
    APP.state.services = services
    try:
        yield token
    finally:
        shutdown_lifespans()  # the app's shutdown hook closes the pool on the serving loop
        APP.state.services = None


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_request_gets_a_500(case: Any, fuzz_token: str, fuzz_clock: list[float]) -> None:
    if not fuzz_clock:
        fuzz_clock.append(time.monotonic() + BUDGET_S)
    elif time.monotonic() > fuzz_clock[0]:
        return  # this operation's time box is used up: the rest are generated, not sent
    # An event stream (SSE) never ends on its own: its status and headers come first, so
    # a short read cut at the deadline still shows whether the request was accepted.
    stream = case.operation.path.endswith("/events") and case.method.upper() == "GET"
    response = case.call(
        headers={"Authorization": f"Bearer {fuzz_token}"}, timeout=0.3 if stream else 30
    )
    assert response.status_code < 500, (case.as_curl_command(), response.text)
    assert response.status_code != 401, response.text  # the key is valid: real paths are hit
    chosen = list(CHECKS)
    if (case.method.upper(), case.operation.path) not in CONTENT_TYPE_EXEMPT:
        chosen.append(checks.content_type_conformance)
    case.validate_response(response, checks=chosen)
