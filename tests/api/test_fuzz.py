"""Fuzzing over the app's own OpenAPI schema (schemathesis, every check it has: `--checks all`):
no request ever gets a 500, every response conforms to the document (status, headers, content
type, body schema), schema-valid requests are accepted and schema-violating ones refused, except
the by-design cases listed in BY_DESIGN / BY_DESIGN_FOR with their reasons (issue 20).

Valid and invalid requests are generated for every operation and sent with a valid key, on
SQLite and on PostgreSQL. Path ids are often those of the caller's real resources, so that the
fuzzer gets past the 404s into the validation and write paths.

The app runs on schemathesis' own event-loop thread. Each test points the app at freshly
seeded services; the database pool opens on that thread and is closed there too, by the app's
shutdown hook, which `shutdown_lifespans()` runs after every test.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.python.asgi import shutdown_lifespans

from outdial.api.app import create_app
from outdial.api.openapi import PAGE_TOKEN, TIME
from outdial.clock import SystemClock
from outdial.domain.errors import OutdialError
from outdial.domain.netpolicy import NetworkPolicy
from outdial.services.container import Services
from outdial.storage.db import Database
from outdial.wire.paging import parse_page_token, parse_time
from tests.conftest import LOOPBACK

# Examples per operation, generation mode and database: 6 locally (about 3 minutes for the whole
# file: 58 operations on two databases on the loaded 2-core machine), 20 under CI=true. Each test is
# time-boxed (OUTDIAL_FUZZ_BUDGET_S, from its first example): past its budget the remaining
# examples are generated but not sent, so a slow machine searches less instead of running long. Set
# OUTDIAL_FUZZ_EXAMPLES for a deeper search: 60 passed on every operation on 2026-11-27.
IN_CI = os.environ.get("CI", "").lower() == "true"
MAX_EXAMPLES = int(os.environ.get("OUTDIAL_FUZZ_EXAMPLES", "20" if IN_CI else "6"))
BUDGET_S = float(os.environ.get("OUTDIAL_FUZZ_BUDGET_S", "2.5" if IN_CI else "8"))

# Every check schemathesis has (`--checks all`), applied to every generated request, except the
# by-design ones below, each with its reason (issue 20).
checks.load_all_checks()
CHECKS = list(checks.CHECKS.get_all())
BY_DESIGN: dict[str, str] = {
    # SPEC 1: delete is soft and a deleted record stays readable by id, as VoIPBIN does.
    "use_after_free": "a deleted record is still readable by id (soft delete, SPEC 1)",
}
# Per operation (method, path template): check name -> why it does not hold there.
_REFERENCE = {
    "positive_data_acceptance": "an id in the body must name an existing resource of the "
    "caller's (400 INVALID_REFERENCE): a fact of the data, not of the request's shape",
}
_ACTIONS = {
    "positive_data_acceptance": "each action's `option` is checked by its type "
    "(domain/action_options.py); the document lists the types and leaves `option` an object",
}
BY_DESIGN_FOR: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/v1.0/outdials"): _REFERENCE,
    ("PUT", "/v1.0/outdials/{id}/campaign_id"): _REFERENCE,
    ("POST", "/v1.0/campaigns"): _REFERENCE,
    ("PUT", "/v1.0/campaigns/{id}/resource_info"): _REFERENCE,
    ("PUT", "/v1.0/campaigns/{id}/next_campaign_id"): _REFERENCE,
    ("PUT", "/v1.0/campaigns/{id}/actions"): {
        "positive_data_acceptance": "each action's `option` is checked by its type (issue 12, "
        "domain/action_options.py: webhook_send needs a uri, goto a target_id in the list, ...); "
        "the document lists the types and leaves `option` an object",
    },
    ("POST", "/v1.0/outdials/{id}/targets_bulk"): {
        "positive_data_acceptance": "schemathesis' coverage phase puts NUL characters in the "
        "strings of array items whatever allow_x00 says (and past filter_body); text fields "
        "refuse NUL, as the document says in words",
    },
    ("PUT", "/v1.0/customers/{id}"): {
        "positive_data_acceptance": "webhook_uri's host must resolve in DNS to an address the "
        "network policy allows: a fact of the world, not of the request's shape",
    },
    # Issue 14.
    ("POST", "/v1.0/outdials/{id}/targets_import"): {
        "positive_data_acceptance": "the body must be CSV or JSON Lines rows with a destination "
        "each (400 IMPORT_REJECTED names the bad lines); the document can say only that it is "
        "text",
    },
    ("POST", "/v1.0/customers/{id}/users"): {
        "positive_data_acceptance": "a username must be free (409 USERNAME_TAKEN): a fact of "
        "the data, not of the request's shape",
    },
    ("POST", "/v1.0/login"): {
        "positive_data_acceptance": "made-up credentials are 401 INVALID_CREDENTIALS (and, "
        "after several, 429 LOGIN_THROTTLED): whether a user has that password is a fact of "
        "the data",
    },
    # issue 13: tag ids must name the caller's tags; a queue's wait_actions are actions
    ("POST", "/v1.0/agents"): _REFERENCE,
    ("PUT", "/v1.0/agents/{id}/tag_ids"): _REFERENCE,
    ("POST", "/v1.0/queues"): {**_REFERENCE, **_ACTIONS},
    ("PUT", "/v1.0/queues/{id}"): {**_REFERENCE, **_ACTIONS},
    ("PUT", "/v1.0/campaigncalls/{id}/disposition"): {
        "positive_data_acceptance": "a code must be one of the campaign's dispositions and "
        "callback_at in the future: facts of the data and of the time, not of the shape",
    },
    ("POST", "/v1.0/media"): {
        "positive_data_acceptance": "the body must be a PCM WAV file; the document can say "
        "only that it is bytes",
    },
}


def _checks_for(method: str, path: str) -> list[Any]:
    skipped = {**BY_DESIGN, **BY_DESIGN_FOR.get((method, path), {})}
    return [c for c in CHECKS if c.__name__ not in skipped]


async def _close_pool() -> None:
    services: Services | None = APP.state.services
    if services is not None:
        await services.ctx.db.dispose()


APP = create_app(cast(Services, None), on_shutdown=_close_pool)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# NUL characters and lone surrogates are refused in every text field (400): the document
# says so in words, as JSON Schema cannot say it cheaply; generated strings leave them out.
schema.config.generation.update(
    modes=["positive", "negative"], max_examples=MAX_EXAMPLES, allow_x00=False, codec="utf-8"
)

# A targets import (issue 14) takes JSON Lines too: the generated text is sent as it is.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")

# Ids of the current test's real resources, by the path segment that names their kind.
REAL_IDS: dict[str, list[str]] = {}


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    path: str = context.operation.path
    kind = path.split("/")[2] if path.startswith("/v1.0/") else ""  # /v1.0/<kind>/{id}...
    generated = [path_parameters.get(name) for name in ("id", "target_id") if name in path]
    if "{id}" not in path or kind not in REAL_IDS or not all(_uuid(v) for v in generated):
        return st.just(path_parameters)  # a negative case (an invalid id) stays as generated
    chosen = {"id": st.sampled_from(REAL_IDS[kind])}
    if "{target_id}" in path:
        chosen["target_id"] = st.sampled_from(REAL_IDS["targets"])
    real = st.fixed_dictionaries(chosen).map(lambda ids: {**path_parameters, **ids})
    return st.just(path_parameters) | real


@schema.hook
def map_body(context: Any, body: Any) -> Any:
    """JSON Schema counts 65.0 as an integer; outdial takes JSON types strictly (an integer
    field wants an integer literal: docs/api.md), so integral floats are sent as integers."""
    return _integral(body)


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [_integral(v) for v in value]
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    return value


@schema.hook
def filter_body(context: Any, body: Any) -> bool:
    """No NUL characters (see the generation settings): also from the phases that do not
    read those settings. And, as for page tokens (filter_query), no `expire` (nor a schedule's
    `not_before`) on a date that no calendar has (April 31), which the pattern admits."""
    if "\\u0000" in json.dumps(body, default=str):  # media bodies are bytes
        return False
    items = body if isinstance(body, list) else [body]
    return not any(
        isinstance(item, dict)
        and (_impossible(item.get("expire")) or _impossible(item.get("not_before")))
        for item in items
    )


def _impossible(value: Any) -> bool:
    """A time that matches the documented pattern but names no real moment."""
    if not isinstance(value, str) or not re.fullmatch(TIME, value):
        return False
    try:
        parse_time(value, "expire")
    except OutdialError:
        return True
    return False


@schema.hook
def filter_query(context: Any, query: dict[str, Any] | None) -> bool:
    """A page token's pattern admits dates that no calendar has (February 30): those are left
    out rather than documented away."""
    token = (query or {}).get("page_token")
    if not isinstance(token, str) or not token:
        return True
    try:
        parse_page_token(token)
    except OutdialError:
        return not re.fullmatch(PAGE_TOKEN, token)  # keep the negative cases
    return True


def _uuid(value: Any) -> bool:
    try:
        return isinstance(value, str) and uuid.UUID(value).int != 0
    except ValueError:
        return False


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
    refs = {"outplan_id": str(outplan.id), "outdial_id": str(outdial.id)}
    campaign = await s.campaigns.create(me, {"name": "fuzz campaign", **refs})
    dnclist = await s.dnclists.create(me, {"name": "fuzz dnc"})
    tag = await s.tags.create(me, {"name": "fuzz tag"})
    agent = await s.agents.create(me, {"name": "fuzz agent", "tag_ids": [str(tag.id)]})
    queue = await s.queues.create(me, {"name": "fuzz queue", "tag_ids": [str(tag.id)]})
    # A webhook (never reached: no dispatcher runs here), so that replays are accepted.
    await s.accounts.update(me, me, {"webhook_uri": "http://127.0.0.1:9/hook"})
    REAL_IDS.update(
        outdials=[str(outdial.id)],
        targets=[str(target.id)],
        outplans=[str(outplan.id)],
        campaigns=[str(campaign.id)],
        dnclists=[str(dnclist.id)],
        customers=[str(me)],
        tags=[str(tag.id)],
        agents=[str(agent.id)],
        queues=[str(queue.id)],
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
    network = NetworkPolicy.from_text(LOOPBACK)
    services = Services.build(Database(database_url), SystemClock(), network=network)
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
    if case.operation.path != "/v1.0/login":  # login takes no key: 401 is a wrong password
        assert response.status_code != 401, response.text  # the key is valid: real paths are hit
    case.validate_response(response, checks=_checks_for(case.method.upper(), case.operation.path))
