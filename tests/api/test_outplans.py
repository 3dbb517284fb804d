"""Outplans: create, read, list, PUT (basic and /dial_info), soft delete, number checks."""

from __future__ import annotations

import pytest

from outdial.clock import FakeClock
from tests.api.helpers import (
    EMPTY_ADDRESS,
    OUTPLAN_FIELDS,
    SENTINEL,
    TEL,
    error,
    make_outplan,
)
from tests.conftest import Tenant

DIAL = {
    "source": TEL,
    "dial_timeout": 30_000,
    "try_interval": 60_000,
    "max_try_count_0": 3,
    "max_try_count_1": 2,
    "max_try_count_2": 1,
    "max_try_count_3": 0,
    "max_try_count_4": 5,
}
NUMBERS = ["dial_timeout", "try_interval", *[f"max_try_count_{n}" for n in range(5)]]


async def test_create_with_defaults(tenant: Tenant) -> None:
    created = await make_outplan(tenant)
    assert list(created) == OUTPLAN_FIELDS
    assert created["customer_id"] == str(tenant.customer_id)
    assert created["source"] == EMPTY_ADDRESS
    assert all(created[n] == 0 for n in NUMBERS)
    assert created["tm_create"] == created["tm_update"]
    assert created["tm_delete"] == SENTINEL


async def test_create_get_list(tenant: Tenant) -> None:
    created = await make_outplan(tenant, name="plan", detail="three tries", **DIAL)
    for key, value in DIAL.items():
        assert created[key] == value, key
    assert await tenant.ok("GET", f"/v1.0/outplans/{created['id']}") == created
    assert (await tenant.ok("GET", "/v1.0/outplans"))["result"] == [created]


async def test_put_changes_name_and_detail_only(tenant: Tenant, clock: FakeClock) -> None:
    created = await make_outplan(tenant, name="plan", detail="d", **DIAL)
    await clock.advance(1)
    updated = await tenant.ok(
        "PUT", f"/v1.0/outplans/{created['id']}", json={"name": "renamed", "dial_timeout": 1}
    )
    assert updated["name"] == "renamed"
    assert updated["detail"] == "d"
    assert updated["dial_timeout"] == 30_000  # not part of PUT /outplans/{id}
    assert updated["tm_update"] != created["tm_update"]


async def test_put_dial_info_changes_only_the_fields_it_carries(tenant: Tenant) -> None:
    created = await make_outplan(tenant, name="plan", **DIAL)
    path = f"/v1.0/outplans/{created['id']}/dial_info"
    updated = await tenant.ok("PUT", path, json={"try_interval": 5_000, "max_try_count_0": 9})
    expected = {**created, "try_interval": 5_000, "max_try_count_0": 9}
    assert {k: v for k, v in updated.items() if k != "tm_update"} == {
        k: v for k, v in expected.items() if k != "tm_update"
    }
    source = {"type": "sip", "target": "dialer@pbx.example", "name": "Dialer"}
    updated = await tenant.ok("PUT", path, json={"source": source, "name": "ignored"})
    assert updated["source"] == {**EMPTY_ADDRESS, **source}
    assert updated["name"] == "plan"
    # a null source clears the caller id
    assert (await tenant.ok("PUT", path, json={"source": None}))["source"] == EMPTY_ADDRESS


@pytest.mark.parametrize("field", NUMBERS)
async def test_negative_numbers_are_rejected(tenant: Tenant, field: str) -> None:
    err = error(
        await tenant.call("POST", "/v1.0/outplans", json={field: -1}), 400, "INVALID_ARGUMENT"
    )
    assert field in err["message"]
    created = await make_outplan(tenant)
    response = await tenant.call(
        "PUT", f"/v1.0/outplans/{created['id']}/dial_info", json={field: -1}
    )
    assert field in error(response, 400, "INVALID_ARGUMENT")["message"]
    assert await tenant.ok("GET", f"/v1.0/outplans/{created['id']}") == created


async def test_numbers_out_of_range_and_wrong_types(tenant: Tenant) -> None:
    for body in (
        {"dial_timeout": 10**12},
        {"max_try_count_0": 10**6},
        {"dial_timeout": "30000"},
        {"dial_timeout": 1.5},
        {"max_try_count_1": True},
    ):
        error(await tenant.call("POST", "/v1.0/outplans", json=body), 400, "INVALID_ARGUMENT")


async def test_invalid_source_names_the_field(tenant: Tenant) -> None:
    response = await tenant.call(
        "POST", "/v1.0/outplans", json={"source": {"type": "tel", "target": "5550001"}}
    )
    assert "source.target" in error(response, 400, "INVALID_ARGUMENT")["message"]


async def test_delete_is_soft(tenant: Tenant) -> None:
    keep = await make_outplan(tenant, name="keep")
    gone = await make_outplan(tenant, name="gone")
    deleted = await tenant.ok("DELETE", f"/v1.0/outplans/{gone['id']}")
    assert deleted["tm_delete"] != SENTINEL
    assert deleted["tm_update"] == deleted["tm_delete"]
    assert await tenant.ok("GET", f"/v1.0/outplans/{gone['id']}") == deleted
    assert [p["id"] for p in (await tenant.ok("GET", "/v1.0/outplans"))["result"]] == [keep["id"]]


async def test_missing_outplan_is_404(tenant: Tenant) -> None:
    missing = "6f1c2d3e-0000-4000-8000-000000000001"
    for method, path in [
        ("GET", f"/v1.0/outplans/{missing}"),
        ("PUT", f"/v1.0/outplans/{missing}"),
        ("PUT", f"/v1.0/outplans/{missing}/dial_info"),
        ("DELETE", f"/v1.0/outplans/{missing}"),
    ]:
        error(await tenant.call(method, path), 404, "NOT_FOUND", "OUTPLAN_NOT_FOUND")


async def test_sip_headers_are_stored_validated_and_changed_by_dial_info(tenant: Tenant) -> None:
    headers = {"Diversion": "<sip:+15550009@pbx.example>;reason=unconditional", "Privacy": "id"}
    created = await make_outplan(tenant, sip_headers=headers)
    assert created["sip_headers"] == headers
    assert (await make_outplan(tenant))["sip_headers"] == {}
    got = await tenant.ok("GET", f"/v1.0/outplans/{created['id']}")
    assert got["sip_headers"] == headers
    changed = await tenant.ok(
        "PUT", f"/v1.0/outplans/{created['id']}/dial_info", json={"sip_headers": {"X-A": "b"}}
    )
    assert changed["sip_headers"] == {"X-A": "b"} and changed["dial_timeout"] == 0
    for bad, where in (
        ({"X-A": "b\r\nVia: SIP/2.0/UDP evil"}, "sip_headers.X-A"),
        ({"Call-ID": "x"}, "sip_headers.Call-ID"),
    ):
        response = await tenant.call("POST", "/v1.0/outplans", json={"sip_headers": bad})
        assert where in error(response, 400, "INVALID_ARGUMENT")["message"]
