"""Issue 20: the OpenAPI document is the contract.

- Every response the API sends (each resource rendered by the real renderers: created, read,
  listed, updated, deleted through the API) validates against the schema the document names
  for that operation and status, and against its pydantic model with `extra="forbid"` and
  every field required: a field a renderer adds or drops fails here (the schemas cannot drift).
- The document itself: named component per success response, no 422, the errors with the
  envelope, `format: uuid` ids, the domain's limits in request schemas, security schemes.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any, cast

import httpx
import jsonschema_rs
import pytest
from pydantic import BaseModel

from outdial.api import openapi_schemas as out
from outdial.api.app import create_app
from outdial.api.openapi import OPERATIONS
from outdial.clock import FakeClock
from outdial.domain.limits import Limits
from outdial.domain.netpolicy import NetworkPolicy
from outdial.domain.outcome import CallOutcome, HangupReason, RecordingFile
from outdial.services.container import Services
from outdial.services.dialing import DialingService
from outdial.storage.db import Database
from tests.api.helpers import TEL, insert_campaigncall, make_outdial
from tests.api.test_seed_roundtrip import SEED_EXAMPLE
from tests.conftest import LOOPBACK, Tenant

DOC = create_app(cast(Services, None)).openapi()


def _operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The documented operation that serves this request path."""
    for template, operations in DOC["paths"].items():
        pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path) and method.lower() in operations:
            return template, operations[method.lower()]
    raise AssertionError(f"{method} {path} is not in the document")


def _validator(schema: dict[str, Any]) -> Any:
    return jsonschema_rs.validator_for({**schema, "components": DOC["components"]})


class Recorder:
    """Sends requests as a tenant and checks each answer against the document."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.seen: set[str] = set()

    async def send(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        response = await self.tenant.call(method, path, **kw)
        assert response.status_code == expect, response.text
        self.check(method, path.split("?")[0], response)
        return response.json()

    def check(self, method: str, path: str, response: httpx.Response) -> None:
        _, operation = _operation(method, path)
        code = str(response.status_code)
        assert code in operation["responses"], (operation["operationId"], code)
        content = operation["responses"][code]["content"]["application/json"]
        errors = list(_validator(content["schema"]).iter_errors(response.json()))
        assert not errors, (operation["operationId"], code, [str(e) for e in errors])
        ref = content["schema"]["$ref"].rsplit("/", 1)[1]
        model: type[BaseModel] = out.MODELS[ref]
        model.model_validate(response.json(), strict=True)  # extra="forbid", all required
        if code == "200":
            self.seen.add(operation["operationId"])


@pytest.fixture
def services(db: Database, clock: FakeClock) -> Services:
    """The walk below sends more requests than one key's burst on a clock that never moves:
    the rate limit (tested in test_limits.py) is raised here, every other limit stays."""
    return Services.build(
        db, clock, network=NetworkPolicy.from_text(LOOPBACK), limits=Limits(request_burst=1000)
    )


@pytest.fixture
def api(tenant: Tenant) -> Recorder:
    return Recorder(tenant)


ADDR = {"type": "sip", "target": "alice@example.com:5070", "target_name": "A", "name": "n"}
ADDR_OUT = {**ADDR, "detail": ""}


async def test_every_response_matches_its_schema(
    api: Recorder, tenant: Tenant, services: Services
) -> None:
    s = api.send
    o = await s("POST", "/v1.0/outdials", json={"name": "list", "detail": "d", "data": "x"})
    oid = o["id"]
    await s("GET", "/v1.0/outdials")
    await s("GET", f"/v1.0/outdials/{oid}")
    await s("PUT", f"/v1.0/outdials/{oid}", json={"name": "list 2"})
    await s("PUT", f"/v1.0/outdials/{oid}/data", json={"data": "y"})
    t = await s(
        "POST",
        f"/v1.0/outdials/{oid}/targets",
        json={"name": "t", "destination_0": TEL, "destination_2": ADDR, "timezone": "Asia/Seoul"},
    )
    assert t["destination_2"] == ADDR_OUT and t["destination_1"] is None
    bulk = [{"destination_0": "tel:+15550002"}, {"destination_0": "sip:bob@example.com"}]
    await s("POST", f"/v1.0/outdials/{oid}/targets_bulk", json=bulk)
    await s("GET", f"/v1.0/outdials/{oid}/targets")
    await s("GET", f"/v1.0/outdials/{oid}/targets/{t['id']}")
    await s("GET", f"/v1.0/outdials/{oid}/targets/{t['id']}/eligibility")
    dedupe = "?dedupe=within_outdial&dedupe_action=skip"
    await s("POST", f"/v1.0/outdials/{oid}/targets_bulk{dedupe}", json=bulk)
    await s("POST", f"/v1.0/outdials/{oid}/targets/{t['id']}/reset", json={"reason": "asked"})
    await s("GET", f"/v1.0/outdials/{oid}/targets/{t['id']}/history")
    at = {"not_before": "2030-01-01T09:00:00Z", "destination": 0}
    await s("PUT", f"/v1.0/outdials/{oid}/targets/{t['id']}/schedule", json=at)

    plan = {"name": "p", "source": TEL, "dial_timeout": 30000, "max_try_count_0": 2}
    p = await s("POST", "/v1.0/outplans", json=plan)
    await s("GET", "/v1.0/outplans")
    await s("GET", f"/v1.0/outplans/{p['id']}")
    await s("PUT", f"/v1.0/outplans/{p['id']}", json={"detail": "dd"})
    window = {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "20:00"}
    dial = {"call_window": window, "sip_headers": {"X-Campaign": "a"}, "min_number_gap": 1000}
    await s("PUT", f"/v1.0/outplans/{p['id']}/dial_info", json=dial)

    action = {"type": "talk", "option": {"text": "hello"}}
    body = {"name": "c", "outplan_id": p["id"], "outdial_id": oid, "actions": [action]}
    c = await s("POST", "/v1.0/campaigns", json={**body, "calls_per_second": 2.5})
    cid = c["id"]
    await s("GET", "/v1.0/campaigns")
    await s("GET", f"/v1.0/campaigns/{cid}")
    await s("PUT", f"/v1.0/campaigns/{cid}", json={"service_level": 80})
    await s("PUT", f"/v1.0/campaigns/{cid}/service_level", json={"service_level": 90})
    await s("PUT", f"/v1.0/campaigns/{cid}/actions", json={"actions": [action]})
    await s("PUT", f"/v1.0/campaigns/{cid}/resource_info", json={"outplan_id": p["id"]})
    await s("PUT", f"/v1.0/campaigns/{cid}/next_campaign_id", json={"next_campaign_id": ""})
    await s("PUT", f"/v1.0/outdials/{oid}/campaign_id", json={"campaign_id": cid})
    await s("GET", f"/v1.0/campaigns/{cid}/preview")
    await s("GET", f"/v1.0/campaigns/{cid}/compliance")
    await s("GET", f"/v1.0/campaigns/{cid}/stats")
    recycle = {"results": ["fail"], "tries_below": 3, "last_attempt_before": "2030-01-01"}
    await s("POST", f"/v1.0/campaigns/{cid}/recycle", json=recycle)
    call = await insert_campaigncall(services, tenant.customer_id, c, status="progressing")
    # the attempt ends having heard something and with a recording (failed: recording is off)
    rec = uuid.uuid4()
    failed = RecordingFile(rec, "", "wav", 2, 0, "failed", "recording is off", "", "")
    heard = CallOutcome(
        HangupReason.NORMAL, answered=True, sip_code=200, amd_result="human", amd_ms=1200,
        digits="9", recordings=(failed,),
    )  # fmt: skip
    await DialingService(services.ctx).attempts.record([], [(uuid.UUID(call), heard)])
    await s("GET", "/v1.0/recordings")
    await s("GET", f"/v1.0/recordings/{rec}")
    await s("DELETE", f"/v1.0/recordings/{rec}")
    await s("GET", f"/v1.0/campaigns/{cid}/campaigncalls")
    await s("GET", "/v1.0/campaigncalls")
    await s("GET", f"/v1.0/campaigncalls/{call}")
    later = {"disposition": "sale", "note": "n"}
    await s("PUT", f"/v1.0/campaigncalls/{call}/disposition", json=later)
    await s("GET", f"/v1.0/campaigncalls/{call}/context")
    await s("DELETE", f"/v1.0/campaigncalls/{call}")
    await s("PUT", f"/v1.0/campaigns/{cid}/status", json={"status": "run"})
    await s("DELETE", f"/v1.0/campaigns/{cid}", expect=409)
    await s("PUT", f"/v1.0/campaigns/{cid}/status", json={"status": "stop"})
    assert (await s("GET", f"/v1.0/campaigns/{cid}"))["status"] == "stop"  # no engine runs
    await s("DELETE", f"/v1.0/campaigns/{cid}")

    d = await s("POST", "/v1.0/dnclists", json={"name": "dnc"})
    did = d["id"]
    await s("GET", "/v1.0/dnclists")
    await s("GET", f"/v1.0/dnclists/{did}")
    await s("PUT", f"/v1.0/dnclists/{did}", json={"detail": "x"})
    e = await s("POST", f"/v1.0/dnclists/{did}/entries", json={"number": "+12125550100"})
    expiring = {"number": "+12125550101", "expire": "2030-01-01T00:00:00Z"}
    await s("POST", f"/v1.0/dnclists/{did}/entries_bulk", json=[expiring])
    await s("GET", f"/v1.0/dnclists/{did}/entries")
    await s("GET", f"/v1.0/dnclists/{did}/entries/{e['id']}")
    await s("DELETE", f"/v1.0/dnclists/{did}/entries/{e['id']}")
    await s("DELETE", f"/v1.0/dnclists/{did}")

    tag = await s("POST", "/v1.0/tags", json={"name": "sales"})
    await s("GET", "/v1.0/tags")
    await s("GET", f"/v1.0/tags/{tag['id']}")
    await s("PUT", f"/v1.0/tags/{tag['id']}", json={"detail": "d"})
    agent_body = {"username": "a", "password": "pw", "tag_ids": [tag["id"]]}
    ag = await s("POST", "/v1.0/agents", json={**agent_body, "addresses": [TEL]})
    aid = ag["id"]
    await s("GET", "/v1.0/agents")
    await s("GET", f"/v1.0/agents/{aid}")
    await s("PUT", f"/v1.0/agents/{aid}", json={"name": "A"})
    await s("PUT", f"/v1.0/agents/{aid}/status", json={"status": "available"})
    await s("PUT", f"/v1.0/agents/{aid}/addresses", json={"addresses": [TEL]})
    await s("PUT", f"/v1.0/agents/{aid}/tag_ids", json={"tag_ids": []})
    await s("PUT", f"/v1.0/agents/{aid}/password", json={"password": "pw2"})
    offer = {"type": "offer", "sdp": "v=0"}  # no browser phones in this app: 409
    await s("POST", f"/v1.0/agents/{aid}/phone", json=offer, expect=409)
    from tests.api.test_agent_phone import FakePhones

    tenant.client._transport.app.state.phones = FakePhones()  # type: ignore[attr-defined]
    await s("POST", f"/v1.0/agents/{aid}/phone", json=offer)
    await s("GET", f"/v1.0/agents/{aid}/phone")
    await s("DELETE", f"/v1.0/agents/{aid}/phone")
    await s("GET", f"/v1.0/agents/{aid}/campaigncalls?active=1")
    await s("POST", "/v1.0/login", json={"kind": "agent", "username": "a", "password": "pw2"})
    await s("DELETE", f"/v1.0/agents/{aid}")
    q = await s("POST", "/v1.0/queues", json={"name": "q", "tag_ids": [tag["id"]]})
    await s("GET", "/v1.0/queues")
    await s("GET", f"/v1.0/queues/{q['id']}")
    await s("PUT", f"/v1.0/queues/{q['id']}", json={"routing_method": "longest-idle"})
    await s("DELETE", f"/v1.0/queues/{q['id']}")
    await s("DELETE", f"/v1.0/tags/{tag['id']}")

    me = tenant.customer_id
    await s("GET", f"/v1.0/customers/{me}")
    await s("GET", "/v1.0/customer")
    hook = {"webhook_uri": "http://127.0.0.1:9/hook", "allowed_calling_codes": ["1", "82"]}
    await s("PUT", f"/v1.0/customers/{me}", json=hook)
    await s("POST", f"/v1.0/customers/{me}/webhook_secret")
    await s("POST", "/v1.0/events/replay", json={"from_event_id": 0})
    await s("GET", "/v1.0/webhook_deliveries")

    await s("DELETE", f"/v1.0/outdials/{oid}/targets/{t['id']}")
    await s("PUT", f"/v1.0/outdials/{oid}/campaign_id", json={"campaign_id": None})
    await s("DELETE", f"/v1.0/outdials/{oid}")
    await s("DELETE", f"/v1.0/outplans/{p['id']}")

    from tests.api.test_media import WAV, wav

    m = await s("POST", "/v1.0/media?name=greeting", content=wav(), headers=WAV)
    await s("GET", "/v1.0/media")
    await s("GET", f"/v1.0/media/{m['id']}")
    await s("DELETE", f"/v1.0/media/{m['id']}")

    # Issue 14: the import, users and sessions (an access key has no session: kind accesskey).
    o2 = await s("POST", "/v1.0/outdials", json={"name": "import"})
    csv_body = b"name,destination_0\na,tel:+15550001\n"
    csv_type = {"Content-Type": "text/csv"}
    await s("POST", f"/v1.0/outdials/{o2['id']}/targets_import", content=csv_body, headers=csv_type)
    await s(
        "POST",
        f"/v1.0/outdials/{o2['id']}/targets_import",
        expect=400,
        content=b"name,destination_0\nb,tel:9\n",
        headers=csv_type,
    )
    u = await s(
        "POST", f"/v1.0/customers/{me}/users", json={"username": "a@b.c", "password": "p" * 8}
    )
    await s("GET", f"/v1.0/customers/{me}/users")
    await s("POST", "/v1.0/login", json={"username": "a@b.c", "password": "p" * 8})
    await s("GET", "/v1.0/session")
    await s("POST", "/v1.0/logout")
    await s("DELETE", f"/v1.0/customers/{me}/users/{u['id']}")
    k = await s("POST", "/v1.0/accesskeys", json={"name": "k", "detail": "d", "expire": 3600})
    await s("GET", "/v1.0/accesskeys")
    await s("GET", f"/v1.0/accesskeys/{k['id']}")
    await s("PUT", f"/v1.0/accesskeys/{k['id']}", json={"name": "k2"})
    await s("DELETE", f"/v1.0/accesskeys/{k['id']}")

    json_ops = {k for k, op in OPERATIONS.items() if "/" not in op.success and k != "health"}
    assert json_ops - api.seen == set()


async def test_errors_match_the_documented_envelope(api: Recorder, tenant: Tenant) -> None:
    """Each error status below is documented for its operation, with the envelope schema."""
    o = await make_outdial(tenant)
    nil = "00000000-0000-0000-0000-000000000000"
    missing = "40bea034-1d17-474d-a5de-da00d0861c69"
    await api.send("GET", "/v1.0/outdials/0", expect=400)
    await api.send("GET", f"/v1.0/outdials/{nil}", expect=400)
    await api.send("GET", f"/v1.0/outdials/{missing}", expect=404)
    await api.send("GET", f"/v1.0/outdials/{o['id']}/targets/{missing}", expect=404)
    await api.send("GET", "/v1.0/outdials?page_size=0", expect=400)
    await api.send("POST", "/v1.0/outdials", content=b"{", expect=400)
    await api.send("POST", "/v1.0/outdials", json={"name": "x" * 256}, expect=400)
    await api.send("PUT", f"/v1.0/campaigns/{missing}/status", json={"status": "x"}, expect=400)
    # An event id past 2**53 - 1 is a 400 (the fuzzer found a database overflow, a 500, at 2**63).
    huge = 2**63
    await api.send("POST", "/v1.0/events/replay", json={"from_event_id": huge}, expect=400)
    await api.send("GET", f"/v1.0/events?last_event_id={huge}", expect=400)
    await api.send("GET", "/v1.0/events", headers={"Last-Event-ID": str(huge)}, expect=400)
    r = await tenant.client.get("/v1.0/outdials")
    api.check("GET", "/v1.0/outdials", r)
    assert r.status_code == 401
    r = await tenant.client.get("/v1.0/outdials", headers={"Authorization": "Bearer nope"})
    api.check("GET", "/v1.0/outdials", r)
    assert r.status_code == 401


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in DOC["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


def test_every_operation_is_described() -> None:
    for method, path, operation in _operations():
        where = f"{method.upper()} {path}"
        assert operation["operationId"] in OPERATIONS, f"{where}: add it to api/openapi.py"
        assert operation.get("summary"), where
        assert operation.get("tags"), where
        responses = operation["responses"]
        assert "422" not in responses, where
        success = responses["200"]["content"]
        if "application/json" in success:
            assert success["application/json"]["schema"]["$ref"].startswith(
                "#/components/schemas/"
            ), where
        if not path.startswith("/v1.0/"):
            continue
        assert operation["security"], where
        assert {"401", "429"} <= set(responses), where
        for param in operation.get("parameters", []):
            if param["in"] == "path":
                assert param["schema"]["format"] == "uuid", where
                assert "400" in responses and "404" in responses, where
        if method in ("post", "put"):
            assert {"400", "413"} <= set(responses) or "requestBody" not in operation, where
        for code, response in responses.items():
            if code != "200":
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", where
                assert response["x-reasons"], where


async def test_health_matches_its_schema(client: httpx.AsyncClient) -> None:
    _, operation = _operation("GET", "/health")
    for code in ("200", "503"):
        assert operation["responses"][code]["content"]["application/json"]["schema"]
    r = await client.get("/health")
    assert r.status_code == 200
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert _validator(schema).is_valid(r.json())


def test_no_validation_error_components_and_security_schemes() -> None:
    schemas = DOC["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    schemes = DOC["components"]["securitySchemes"]
    forms = {(s.get("in"), s.get("name"), s.get("scheme")) for s in schemes.values()}
    assert forms == {
        (None, None, "bearer"),
        ("query", "accesskey", None),
        ("query", "token", None),
        ("cookie", "accesskey", None),
        ("cookie", "token", None),
        ("cookie", "outdial_session", None),
    }


def test_request_schemas_carry_the_rules() -> None:
    schemas = DOC["components"]["schemas"]
    name = schemas["OutdialCreate"]["properties"]["name"]["anyOf"][0]
    assert name["maxLength"] == 255
    assert schemas["OutdialCreate"]["properties"]["detail"]["anyOf"][0]["maxLength"] == 65536
    tel = schemas["AddressTel"]
    assert tel["properties"]["type"] == {"const": "tel"}
    assert tel["properties"]["target"]["pattern"] == r"^\+[0-9]{7,15}$"
    timeout = schemas["DialInfo"]["properties"]["dial_timeout"]["anyOf"][0]
    assert (timeout["minimum"], timeout["maximum"]) == (0, 3_600_000)
    assert schemas["CampaignStatusIn"]["properties"]["status"]["enum"] == ["run", "stop"]
    listing = DOC["paths"]["/v1.0/outdials"]["get"]["parameters"]
    size = next(p for p in listing if p["name"] == "page_size")["schema"]
    assert (size["minimum"], size["maximum"]) == (1, 100)
    sip = re.compile(schemas["AddressSip"]["properties"]["target"]["pattern"])
    assert sip.fullmatch("alice@example.com:5070") and sip.fullmatch("sip:bob@pbx.example")
    assert not sip.fullmatch("alice") and not sip.fullmatch("alice@-bad-")
    unset = schemas["TargetCreate"]["not"]["properties"]
    assert sorted(unset) == [f"destination_{n}" for n in range(5)]
    assert schemas["DncEntryIn"]["required"] == ["number"]
    token = DOC["paths"]["/v1.0/outdials"]["get"]["parameters"]
    page_token = next(p for p in token if p["name"] == "page_token")["schema"]["pattern"]
    assert re.fullmatch(
        page_token, "2022-04-30T17:52:16.484341Z_" + "1" * 8 + "-1111" * 3 + "-" + "1" * 12
    )
    assert re.fullmatch(page_token, "") and not re.fullmatch(page_token, "0" * 40)


def test_component_examples_are_valid() -> None:
    """The seed's example target validates against the Outdialtarget schema."""
    seed = {**SEED_EXAMPLE, "timezone": "", "priority": 0}
    assert _validator({"$ref": "#/components/schemas/Outdialtarget"}).is_valid(seed)
    out.Outdialtarget.model_validate(seed, strict=True)
    properties = DOC["components"]["schemas"]["Outdialtarget"]["properties"]
    assert properties["status"]["examples"] == ["done"]
    assert DOC["components"]["schemas"]["Outdialtarget"]["additionalProperties"] is False
