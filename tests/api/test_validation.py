"""Validation with the error envelope: ids, JSON, types, addresses, enums, sizes, text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.api.helpers import (
    TEL,
    error,
    make_campaign,
    make_outdial,
    make_outplan,
    make_target,
)
from tests.conftest import Tenant

JSON = {"Content-Type": "application/json"}
VALID = "6f1c2d3e-0000-4000-8000-000000000001"
ID_ROUTES = [
    ("GET", "/v1.0/outdials/{}"),
    ("PUT", "/v1.0/outdials/{}"),
    ("DELETE", "/v1.0/outdials/{}"),
    ("PUT", "/v1.0/outdials/{}/campaign_id"),
    ("PUT", "/v1.0/outdials/{}/data"),
    ("GET", "/v1.0/outdials/{}/targets"),
    ("POST", "/v1.0/outdials/{}/targets"),
    ("POST", "/v1.0/outdials/{}/targets_bulk"),
    ("GET", "/v1.0/outdials/{}/targets/" + VALID),
    ("DELETE", "/v1.0/outdials/{}/targets/" + VALID),
    ("GET", "/v1.0/outdials/" + VALID + "/targets/{}"),
    ("DELETE", "/v1.0/outdials/" + VALID + "/targets/{}"),
    ("GET", "/v1.0/outplans/{}"),
    ("PUT", "/v1.0/outplans/{}"),
    ("PUT", "/v1.0/outplans/{}/dial_info"),
    ("DELETE", "/v1.0/outplans/{}"),
    ("GET", "/v1.0/campaigns/{}"),
    ("PUT", "/v1.0/campaigns/{}"),
    ("DELETE", "/v1.0/campaigns/{}"),
    ("PUT", "/v1.0/campaigns/{}/status"),
    ("PUT", "/v1.0/campaigns/{}/service_level"),
    ("PUT", "/v1.0/campaigns/{}/actions"),
    ("PUT", "/v1.0/campaigns/{}/resource_info"),
    ("PUT", "/v1.0/campaigns/{}/next_campaign_id"),
    ("GET", "/v1.0/campaigns/{}/campaigncalls"),
    ("GET", "/v1.0/campaigncalls/{}"),
    ("DELETE", "/v1.0/campaigncalls/{}"),
]
VALID_BODY: dict[str, Any] = {
    "/targets": {"destination_0": TEL},
    "/targets_bulk": [{"destination_0": TEL}],
    "/status": {"status": "stop"},
    "/service_level": {"service_level": 1},
    "/actions": {"actions": []},
}


def body_for(path: str) -> Any:
    for suffix, body in VALID_BODY.items():
        if path.endswith(suffix):
            return body
    return {}


@pytest.mark.parametrize("method,template", ID_ROUTES)
async def test_malformed_ids_are_400_invalid_id(tenant: Tenant, method: str, template: str) -> None:
    for bad in ("not-a-uuid", "1234", "00000000-0000-0000-0000-000000000000", VALID + "0"):
        path = template.format(bad)
        body = body_for(path) if method in ("POST", "PUT") else None
        response = await tenant.call(method, path, json=body)
        error(response, 400, "INVALID_ARGUMENT", "INVALID_ID")


BODY_ROUTES = [
    ("POST", "/v1.0/outdials"),
    ("PUT", "/v1.0/outdials/{outdial}"),
    ("PUT", "/v1.0/outdials/{outdial}/data"),
    ("PUT", "/v1.0/outdials/{outdial}/campaign_id"),
    ("POST", "/v1.0/outdials/{outdial}/targets"),
    ("POST", "/v1.0/outdials/{outdial}/targets_bulk"),
    ("POST", "/v1.0/outplans"),
    ("PUT", "/v1.0/outplans/{outplan}"),
    ("PUT", "/v1.0/outplans/{outplan}/dial_info"),
    ("POST", "/v1.0/campaigns"),
    ("PUT", "/v1.0/campaigns/{campaign}"),
    ("PUT", "/v1.0/campaigns/{campaign}/status"),
    ("PUT", "/v1.0/campaigns/{campaign}/actions"),
    ("PUT", "/v1.0/campaigns/{campaign}/resource_info"),
]


async def resources(t: Tenant) -> dict[str, str]:
    return {
        "outdial": (await make_outdial(t))["id"],
        "outplan": (await make_outplan(t))["id"],
        "campaign": (await make_campaign(t))["id"],
    }


async def test_malformed_json_is_400_invalid_json_body(tenant: Tenant) -> None:
    ids = await resources(tenant)
    for method, template in BODY_ROUTES:
        path = template.format(**ids)
        for raw in ('{"name": ', "{'name': 'x'}", "{name}", '{"a": 1} trailing', "\xff"):
            response = await tenant.call(method, path, content=raw.encode("latin-1"), headers=JSON)
            error(response, 400, "INVALID_ARGUMENT", "INVALID_JSON_BODY")
    # a number too long for the JSON parser, and nesting too deep for it
    for raw in ('{"name": 1' + "0" * 5000 + "}", "[" * 100_000):
        response = await tenant.call("POST", "/v1.0/outdials", content=raw, headers=JSON)
        error(response, 400, "INVALID_ARGUMENT", "INVALID_JSON_BODY")


async def test_a_body_that_is_not_an_object_is_400(tenant: Tenant) -> None:
    for raw in ("[]", '"x"', "3", "true"):
        response = await tenant.call("POST", "/v1.0/outdials", content=raw, headers=JSON)
        err = error(response, 400, "INVALID_ARGUMENT")
        assert "JSON object" in err["message"]


@pytest.mark.parametrize(
    "path,body,field",
    [
        ("/v1.0/outdials", {"name": 5}, "name"),
        ("/v1.0/outdials", {"detail": ["x"]}, "detail"),
        ("/v1.0/outdials", {"data": {"k": "v"}}, "data"),
        ("/v1.0/outdials", {"campaign_id": 7}, "campaign_id"),
        ("/v1.0/outplans", {"dial_timeout": "10"}, "dial_timeout"),
        ("/v1.0/outplans", {"try_interval": 2.5}, "try_interval"),
        ("/v1.0/outplans", {"max_try_count_0": False}, "max_try_count_0"),
        ("/v1.0/outplans", {"source": "tel:+15550001"}, "source"),
        ("/v1.0/outplans", {"source": {"type": "tel", "target": 15550001}}, "source.target"),
        ("/v1.0/campaigns", {"service_level": "high"}, "service_level"),
        ("/v1.0/campaigns", {"max_concurrent_calls": 0}, "max_concurrent_calls"),
        ("/v1.0/campaigns", {"calls_per_second": 0}, "calls_per_second"),
        ("/v1.0/campaigns", {"calls_per_second": "fast"}, "calls_per_second"),
        ("/v1.0/campaigns", {"actions": "talk"}, "actions"),
        ("/v1.0/campaigns", {"actions": [{"type": 3}]}, "actions[0].type"),
        ("/v1.0/campaigns", {"outplan_id": ["x"]}, "outplan_id"),
    ],
)
async def test_wrong_types_name_the_field(
    tenant: Tenant, path: str, body: dict[str, Any], field: str
) -> None:
    err = error(await tenant.call("POST", path, json=body), 400, "INVALID_ARGUMENT")
    assert field in err["message"], err


@pytest.mark.parametrize(
    "address",
    [
        {"type": "tel", "target": "15550001"},
        {"type": "tel", "target": "+123456"},
        {"type": "tel", "target": "+1234567890123456"},
        {"type": "tel", "target": "+1555abc0001"},
        {"type": "tel", "target": "+1 555 0001"},
        {"type": "tel", "target": ""},
        {"type": "sip", "target": "nohost"},
        {"type": "sip", "target": "@pbx.example"},
        {"type": "sip", "target": "bob@"},
        {"type": "sip", "target": "bob@pbx example"},
        {"type": "sip", "target": "bob@pbx.example:99999"},
        {"type": "sip", "target": "bob@-pbx.example"},
        {"type": "sip", "target": "bob@pbx.example;maddr=10.0.0.1"},
        {"type": "sip", "target": "bob@pbx.example;transport=sctp"},
        {"type": "fax", "target": "+15550001"},
        {"type": "", "target": "+15550001"},
        {"target": "+15550001"},
        {"type": "extension", "target": ""},
        {"type": "tel", "target": "+15550001", "name": "x" * 256},
    ],
)
async def test_invalid_addresses_name_the_field(tenant: Tenant, address: dict[str, Any]) -> None:
    outdial = await make_outdial(tenant)
    body = {"destination_0": TEL, "destination_2": address}
    response = await tenant.call("POST", f"/v1.0/outdials/{outdial['id']}/targets", json=body)
    err = error(response, 400, "INVALID_ARGUMENT")
    assert "destination_2" in err["message"], err
    if address.get("type") in ("tel", "sip") and "name" not in address and len(address) == 2:
        assert "destination_2.target" in err["message"], err
    listed = await tenant.ok("GET", f"/v1.0/outdials/{outdial['id']}/targets")
    assert listed["result"] == []


@pytest.mark.parametrize(
    "address,stored",
    [
        ({"type": "tel", "target": "+1234567"}, "+1234567"),
        ({"type": "tel", "target": "+123456789012345"}, "+123456789012345"),
        ({"type": "sip", "target": "sip:bob@pbx.example"}, "bob@pbx.example"),
        (
            {"type": "sip", "target": "bob@pbx.example;transport=tcp"},
            "bob@pbx.example;transport=tcp",
        ),
        (
            {"type": "sip", "target": "bob@pbx.example:5061;transport=TLS"},
            "bob@pbx.example:5061;transport=TLS",
        ),
        ({"type": "sip", "target": "bob@203.0.113.1:5060"}, "bob@203.0.113.1:5060"),
        ({"type": "sip", "target": "bob@[::1]:5060"}, "bob@[::1]:5060"),
        ({"type": "agent", "target": "6f1c2d3e-0000-4000-8000-000000000001"}, None),
        ({"type": "conference", "target": "room-1"}, None),
        ({"type": "line", "target": "line-1"}, None),
    ],
)
async def test_valid_addresses(tenant: Tenant, address: dict[str, Any], stored: str | None) -> None:
    outdial = await make_outdial(tenant)
    created = await make_target(tenant, outdial["id"], destination_0=address)
    assert created["destination_0"]["target"] == (stored or address["target"])
    assert created["destination_0"]["type"] == address["type"]


@pytest.mark.parametrize("length", [200, 60_000])
async def test_a_long_bad_sip_host_is_rejected(tenant: Tenant, length: int) -> None:
    """A long host that fails only at its last character: the address checks are linear (no
    backtracking), so even 60 000 characters are answered at once (a regular expression that
    backtracked would hang here until the per-test timeout fails it)."""
    outdial = await make_outdial(tenant)
    address = {"type": "sip", "target": "bob@" + "a" * length + "!"}
    response = await tenant.call(
        "POST", f"/v1.0/outdials/{outdial['id']}/targets", json={"destination_0": address}
    )
    body = error(response, 400, "INVALID_ARGUMENT")
    assert body["message"].startswith("destination_0.target"), body


async def test_a_target_needs_a_destination(tenant: Tenant) -> None:
    outdial = await make_outdial(tenant)
    path = f"/v1.0/outdials/{outdial['id']}/targets"
    for body in (
        {},
        {"name": "nobody"},
        {f"destination_{n}": None for n in range(5)},
        {f"destination_{n}": {} for n in range(5)},
        {"destination_1": {"type": "", "target": "", "name": "just a label"}},
    ):
        err = error(await tenant.call("POST", path, json=body), 400, "INVALID_ARGUMENT")
        assert "destination" in err["message"]
    error(await tenant.call("POST", path), 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    "path,body,field",
    [
        ("/v1.0/campaigns", {"type": "sms"}, "type"),
        ("/v1.0/campaigns", {"type": "CALL"}, "type"),
        ("/v1.0/campaigns", {"end_handle": "pause"}, "end_handle"),
        ("/v1.0/campaigns", {"end_handle": ""}, "end_handle"),
    ],
)
async def test_unknown_enum_values(
    tenant: Tenant, path: str, body: dict[str, Any], field: str
) -> None:
    err = error(await tenant.call("POST", path, json=body), 400, "INVALID_ARGUMENT")
    assert field in err["message"]
    campaign = await make_campaign(tenant)
    response = await tenant.call("PUT", f"/v1.0/campaigns/{campaign['id']}", json=body)
    assert field in error(response, 400, "INVALID_ARGUMENT")["message"]


NAME_LIMITS = [
    ("/v1.0/outdials", "name"),
    ("/v1.0/outplans", "name"),
    ("/v1.0/campaigns", "name"),
]


@pytest.mark.parametrize("path,field", NAME_LIMITS)
async def test_names_are_at_most_255_characters(tenant: Tenant, path: str, field: str) -> None:
    ok = await tenant.ok("POST", path, json={field: "é" * 255})
    assert ok[field] == "é" * 255
    err = error(await tenant.call("POST", path, json={field: "x" * 256}), 400, "INVALID_ARGUMENT")
    assert field in err["message"]


async def test_target_name_limit(tenant: Tenant) -> None:
    outdial = await make_outdial(tenant)
    path = f"/v1.0/outdials/{outdial['id']}/targets"
    await make_target(tenant, outdial["id"], name="n" * 255)
    body = {"name": "n" * 256, "destination_0": TEL}
    assert (
        "name"
        in error(await tenant.call("POST", path, json=body), 400, "INVALID_ARGUMENT")["message"]
    )


@pytest.mark.parametrize(
    "method,path,field",
    [
        ("POST", "/v1.0/outdials", "detail"),
        ("POST", "/v1.0/outdials", "data"),
        ("PUT", "/v1.0/outdials/{outdial}/data", "data"),
        ("PUT", "/v1.0/outdials/{outdial}", "detail"),
        ("POST", "/v1.0/outdials/{outdial}/targets", "detail"),
        ("POST", "/v1.0/outdials/{outdial}/targets", "data"),
        ("POST", "/v1.0/outplans", "detail"),
        ("POST", "/v1.0/campaigns", "detail"),
    ],
)
async def test_detail_and_data_are_at_most_64_kib(
    tenant: Tenant, method: str, path: str, field: str
) -> None:
    ids = await resources(tenant)
    url = path.format(**ids)
    limit = 64 * 1024
    extra = {"destination_0": TEL} if url.endswith("/targets") else {}
    ok = await tenant.ok(method, url, json={field: "x" * limit, **extra})
    assert len(ok[field]) == limit
    too_long = {field: "x" * (limit - 1) + "é", **extra}  # 64 KiB + 1 byte in UTF-8
    err = error(await tenant.call(method, url, json=too_long), 400, "INVALID_ARGUMENT")
    assert field in err["message"]


async def test_a_body_over_32_mib_is_413(tenant: Tenant) -> None:
    big = b'{"data": "' + b"x" * (32 * 1024 * 1024) + b'"}'
    response = await tenant.call("POST", "/v1.0/outdials", content=big, headers=JSON)
    error(response, 413, "INVALID_ARGUMENT", "REQUEST_TOO_LARGE")


async def test_a_streamed_body_over_32_mib_is_413(tenant: Tenant) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"data": "'
        for _ in range(33):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    response = await tenant.call("POST", "/v1.0/outdials", content=chunks(), headers=JSON)
    error(response, 413, "INVALID_ARGUMENT", "REQUEST_TOO_LARGE")
    assert (await tenant.ok("GET", "/v1.0/outdials"))["result"] == []


@pytest.mark.parametrize("size", ["0", "101", "-1", "x", "1.5", ""])
async def test_page_size_out_of_range(tenant: Tenant, size: str) -> None:
    for path in ("/v1.0/outdials", "/v1.0/outplans", "/v1.0/campaigns", "/v1.0/campaigncalls"):
        response = await tenant.call("GET", path, params={"page_size": size})
        assert "page_size" in error(response, 400, "INVALID_ARGUMENT")["message"]


async def test_page_size_limits_accepted(tenant: Tenant) -> None:
    for size in ("1", "100"):
        await tenant.ok("GET", "/v1.0/outdials", params={"page_size": size})


@pytest.mark.parametrize(
    "token",
    [
        "yesterday",
        "2022-13-01T00:00:00Z",
        "2022-04-30T17:52:16Z_not-a-uuid",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+14:00",
        "x" * 201,
    ],
)
async def test_bad_page_tokens_are_400(tenant: Tenant, token: str) -> None:
    response = await tenant.call("GET", "/v1.0/outdials", params={"page_token": token})
    assert "page_token" in error(response, 400, "INVALID_ARGUMENT")["message"]


# Raw JSON text, so that escapes reach the server as written.
BAD_TEXT = ['"\\ud800"', '"a\\udfffb"', '"a\\u0000b"']


@pytest.mark.parametrize("text", BAD_TEXT)
async def test_lone_surrogates_and_nul_are_400(tenant: Tenant, text: str) -> None:
    ids = await resources(tenant)
    od = ids["outdial"]
    dest = '"destination_0": {"type": "tel", "target": "+15550001"}'
    cases = [
        ("POST", "/v1.0/outdials", f'{{"name": {text}}}', "name"),
        ("POST", "/v1.0/outdials", f'{{"data": {text}}}', "data"),
        ("PUT", f"/v1.0/outdials/{od}", f'{{"detail": {text}}}', "detail"),
        ("POST", f"/v1.0/outdials/{od}/targets", f'{{"name": {text}, {dest}}}', "name"),
        (
            "POST",
            f"/v1.0/outdials/{od}/targets",
            f'{{"destination_0": {{"type": "extension", "target": {text}}}}}',
            "destination_0.target",
        ),
        (
            "POST",
            f"/v1.0/outdials/{od}/targets",
            f'{{"destination_0": {{"type": "tel", "target": "+15550001", "name": {text}}}}}',
            "destination_0.name",
        ),
        (
            "POST",
            f"/v1.0/outdials/{od}/targets_bulk",
            f'[{{"destination_0": "tel:+15550001"}}, {{"name": {text}, {dest}}}]',
            "item 1",
        ),
        (
            "POST",
            "/v1.0/outplans",
            f'{{"source": {{"type": "tel", "target": "+15550001", "target_name": {text}}}}}',
            "source.target_name",
        ),
        ("POST", "/v1.0/campaigns", f'{{"name": {text}}}', "name"),
        (
            "POST",
            "/v1.0/campaigns",
            f'{{"actions": [{{"type": "talk", "option": {{"text": {text}}}}}]}}',
            "actions[0].option",
        ),
        (
            "POST",
            "/v1.0/campaigns",
            f'{{"actions": [{{"type": "talk", "option": {{{text}: 1}}}}]}}',
            "actions[0].option",
        ),
        ("POST", "/v1.0/campaigns", f'{{"actions": [{{"type": {text}}}]}}', "actions[0].type"),
    ]
    for method, path, raw, field in cases:
        response = await tenant.call(method, path, content=raw, headers=JSON)
        err = error(response, 400, "INVALID_ARGUMENT")
        assert field in err["message"], (raw, err)
    assert len((await tenant.ok("GET", "/v1.0/outdials"))["result"]) == 1
    assert (await tenant.ok("GET", f"/v1.0/outdials/{od}/targets"))["result"] == []


async def test_action_options_must_be_plain_json(tenant: Tenant) -> None:
    deep: dict[str, Any] = {}
    cur = deep
    for _ in range(300):
        cur["a"] = {}
        cur = cur["a"]
    for raw in (
        '{"actions": [{"type": "talk", "option": {"x": NaN}}]}',
        '{"actions": [{"type": "talk", "option": {"x": [1, Infinity]}}]}',
        '{"actions": [{"type": "talk", "option": {"x": "' + "y" * 70_000 + '"}}]}',
    ):
        response = await tenant.call("POST", "/v1.0/campaigns", content=raw, headers=JSON)
        assert "actions[0].option" in error(response, 400, "INVALID_ARGUMENT")["message"]
    response = await tenant.call(
        "POST", "/v1.0/campaigns", json={"actions": [{"type": "talk", "option": deep}]}
    )
    assert "nested" in error(response, 400, "INVALID_ARGUMENT")["message"]
    assert (await tenant.ok("GET", "/v1.0/campaigns"))["result"] == []


async def test_unknown_routes_and_methods(tenant: Tenant, client: httpx.AsyncClient) -> None:
    error(await tenant.call("GET", "/v1.0/nothing"), 404, "NOT_FOUND", "ROUTE_NOT_FOUND")
    response = await tenant.call("PATCH", "/v1.0/outdials")
    assert response.status_code == 405
    assert response.json()["error"]["reason"] == "METHOD_NOT_ALLOWED"
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}  # RFC 9110
