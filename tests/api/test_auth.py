"""Credentials (SPEC 2: accesskey / token in query or cookie, Bearer) and tenant isolation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from outdial.services.container import Services
from tests.api.helpers import (
    NIL,
    SENTINEL,
    TEL,
    error,
    insert_campaigncall,
    make_campaign,
    make_outdial,
    make_outplan,
    make_target,
)
from tests.conftest import Tenant

FORMS = ["bearer", "accesskey-query", "accesskey-cookie", "token-query", "token-cookie"]


def send(form: str, key: str) -> dict[str, Any]:
    """httpx request arguments that carry `key` in the given form."""
    if form == "bearer":
        return {"headers": {"Authorization": f"Bearer {key}"}}
    name, where = form.split("-")
    if where == "query":
        return {"params": {name: key}}
    return {"headers": {"Cookie": f"{name}={key}"}}


@pytest.mark.parametrize("form", FORMS)
async def test_each_credential_form_works(
    client: httpx.AsyncClient, tenant: Tenant, form: str
) -> None:
    created = await make_outdial(tenant, name="mine")
    response = await client.get("/v1.0/outdials", **send(form, tenant.token))
    assert response.status_code == 200, response.text
    assert [o["id"] for o in response.json()["result"]] == [created["id"]]


@pytest.mark.parametrize("form", FORMS)
async def test_a_bad_key_is_401(client: httpx.AsyncClient, tenant: Tenant, form: str) -> None:
    response = await client.get("/v1.0/outdials", **send(form, tenant.token + "x"))
    error(response, 401, "UNAUTHENTICATED")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/v1.0/outdials"),
        ("POST", "/v1.0/outdials"),
        ("GET", "/v1.0/outplans"),
        ("GET", "/v1.0/campaigns"),
        ("GET", "/v1.0/campaigncalls"),
        ("GET", f"/v1.0/outdials/{NIL[:-1]}1"),
        ("DELETE", f"/v1.0/campaigns/{NIL[:-1]}1"),
    ],
)
async def test_no_credential_is_401(client: httpx.AsyncClient, method: str, path: str) -> None:
    error(await client.request(method, path), 401, "UNAUTHENTICATED")


async def test_empty_and_malformed_credentials_are_401(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for headers in (
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {tenant.token}"},
        {"Authorization": tenant.token},
        {"Cookie": "accesskey="},
    ):
        error(await client.get("/v1.0/outdials", headers=headers), 401, "UNAUTHENTICATED")
    error(await client.get("/v1.0/outdials", params={"token": ""}), 401, "UNAUTHENTICATED")


async def test_expired_key_is_401(services: Services, client: httpx.AsyncClient) -> None:
    customer = await services.customers.create("expired")
    now_us = services.ctx.now_us()
    _, token = await services.customers.create_accesskey(customer.id, "old", expire_us=now_us)
    response = await client.get("/v1.0/outdials", headers={"Authorization": f"Bearer {token}"})
    error(response, 401, "UNAUTHENTICATED")


async def test_a_revoked_key_stops_working_at_once(
    services: Services, client: httpx.AsyncClient
) -> None:
    customer = await services.customers.create("revoking")
    kept, kept_token = await services.customers.create_accesskey(customer.id, "kept")
    key, token = await services.customers.create_accesskey(customer.id, "gone")
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/v1.0/outdials", headers=bearer)).status_code == 200  # cached
    revoked = await services.customers.delete_accesskey(key.id)
    assert revoked.tm_delete is not None
    error(await client.get("/v1.0/outdials", headers=bearer), 401, "UNAUTHENTICATED")
    other = {"Authorization": f"Bearer {kept_token}"}
    assert (await client.get("/v1.0/outdials", headers=other)).status_code == 200
    listed = await services.customers.list_accesskeys(customer.id)
    assert {k.id: k.tm_delete is None for k in listed} == {key.id: False, kept.id: True}
    again = await services.customers.delete_accesskey(key.id)  # deleting twice changes nothing
    assert again.tm_delete == revoked.tm_delete


async def test_health_needs_no_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_health_carries_the_telephonys_state(services: Services) -> None:
    """`outdial serve` passes the SIP telephony's `health()` (registration with the trunk)."""
    from outdial.api.app import create_app

    detail = {"sip": {"registration": {"state": "registered", "aor": "sip:a@t", "expires": 600}}}
    app = create_app(services, health_detail=lambda: detail)
    app.state.ready = True
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://outdial.test") as c:
        body = (await c.get("/health")).json()
    assert body["status"] == "ok" and body["sip"] == detail["sip"]


# --- tenant isolation ------------------------------------------------------------------------


async def alices_world(t: Tenant, services: Services) -> dict[str, Any]:
    outplan = await make_outplan(t, name="alice plan", source=TEL)
    outdial = await make_outdial(t, name="alice list")
    target = await make_target(t, outdial["id"], name="alice target")
    campaign = await make_campaign(
        t, name="alice campaign", outplan_id=outplan["id"], outdial_id=outdial["id"]
    )
    call = await insert_campaigncall(services, t.customer_id, campaign)
    outdial = await t.ok("GET", f"/v1.0/outdials/{outdial['id']}")  # now attached
    return {
        "outplan": outplan,
        "outdial": outdial,
        "target": target,
        "campaign": campaign,
        "call": call,
    }


def foreign_requests(w: dict[str, Any]) -> list[tuple[str, str, Any, str]]:
    """(method, path, body, expected reason) for every route that names alice's resources."""
    od, tg, op, cp, call = (
        w["outdial"]["id"],
        w["target"]["id"],
        w["outplan"]["id"],
        w["campaign"]["id"],
        w["call"],
    )
    outdial = "OUTDIAL_NOT_FOUND"  # target routes check the outdial first
    plan, camp, cc = "OUTPLAN_NOT_FOUND", "CAMPAIGN_NOT_FOUND", "CAMPAIGNCALL_NOT_FOUND"
    return [
        ("GET", f"/v1.0/outdials/{od}", None, outdial),
        ("PUT", f"/v1.0/outdials/{od}", {"name": "pwned"}, outdial),
        ("PUT", f"/v1.0/outdials/{od}/campaign_id", {"campaign_id": ""}, outdial),
        ("PUT", f"/v1.0/outdials/{od}/data", {"data": "pwned"}, outdial),
        ("DELETE", f"/v1.0/outdials/{od}", None, outdial),
        ("GET", f"/v1.0/outdials/{od}/targets", None, outdial),
        ("POST", f"/v1.0/outdials/{od}/targets", {"destination_0": TEL}, outdial),
        ("POST", f"/v1.0/outdials/{od}/targets_bulk", [{"destination_0": TEL}], outdial),
        ("GET", f"/v1.0/outdials/{od}/targets/{tg}", None, outdial),
        ("DELETE", f"/v1.0/outdials/{od}/targets/{tg}", None, outdial),
        ("GET", f"/v1.0/outplans/{op}", None, plan),
        ("PUT", f"/v1.0/outplans/{op}", {"name": "pwned"}, plan),
        ("PUT", f"/v1.0/outplans/{op}/dial_info", {"dial_timeout": 1}, plan),
        ("DELETE", f"/v1.0/outplans/{op}", None, plan),
        ("GET", f"/v1.0/campaigns/{cp}", None, camp),
        ("PUT", f"/v1.0/campaigns/{cp}", {"name": "pwned"}, camp),
        ("PUT", f"/v1.0/campaigns/{cp}/status", {"status": "run"}, camp),
        ("PUT", f"/v1.0/campaigns/{cp}/service_level", {"service_level": 1}, camp),
        ("PUT", f"/v1.0/campaigns/{cp}/actions", {"actions": []}, camp),
        ("PUT", f"/v1.0/campaigns/{cp}/resource_info", {"queue_id": ""}, camp),
        ("PUT", f"/v1.0/campaigns/{cp}/next_campaign_id", {"next_campaign_id": ""}, camp),
        ("GET", f"/v1.0/campaigns/{cp}/campaigncalls", None, camp),
        ("DELETE", f"/v1.0/campaigns/{cp}", None, camp),
        ("GET", f"/v1.0/campaigncalls/{call}", None, cc),
        ("DELETE", f"/v1.0/campaigncalls/{call}", None, cc),
    ]


async def snapshot(t: Tenant, w: dict[str, Any]) -> list[Any]:
    od = w["outdial"]["id"]
    return [
        await t.ok("GET", f"/v1.0/outdials/{od}"),
        await t.ok("GET", f"/v1.0/outdials/{od}/targets/{w['target']['id']}"),
        await t.ok("GET", f"/v1.0/outplans/{w['outplan']['id']}"),
        await t.ok("GET", f"/v1.0/campaigns/{w['campaign']['id']}"),
        await t.ok("GET", f"/v1.0/campaigncalls/{w['call']}"),
    ]


async def test_another_customer_gets_404_everywhere(
    tenant: Tenant, other_tenant: Tenant, services: Services
) -> None:
    world = await alices_world(tenant, services)
    before = await snapshot(tenant, world)
    for method, path, body, reason in foreign_requests(world):
        response = await other_tenant.call(method, path, json=body)
        error(response, 404, "NOT_FOUND", reason)
    after = await snapshot(tenant, world)
    assert after == before
    assert all(item["tm_delete"] == SENTINEL for item in after)
    assert (
        len((await tenant.ok("GET", f"/v1.0/outdials/{world['outdial']['id']}/targets"))["result"])
        == 1
    )


async def test_another_customer_never_sees_them_in_lists(
    tenant: Tenant, other_tenant: Tenant, services: Services
) -> None:
    await alices_world(tenant, services)
    for path in ("/v1.0/outdials", "/v1.0/outplans", "/v1.0/campaigns", "/v1.0/campaigncalls"):
        assert len((await tenant.ok("GET", path))["result"]) == 1, path
        assert await other_tenant.ok("GET", path) == {"result": [], "next_page_token": ""}, path


async def test_references_to_another_customers_resources_are_rejected(
    tenant: Tenant, other_tenant: Tenant, services: Services
) -> None:
    world = await alices_world(tenant, services)
    spare_outdial = await make_outdial(tenant, name="alice spare")
    mallory_campaign = await make_campaign(other_tenant)
    for body in (
        {"outplan_id": world["outplan"]["id"]},
        {"outdial_id": spare_outdial["id"]},
        {"outdial_id": world["outdial"]["id"]},
        {"next_campaign_id": world["campaign"]["id"]},
    ):
        response = await other_tenant.call("POST", "/v1.0/campaigns", json=body)
        error(response, 400, "INVALID_ARGUMENT", "INVALID_REFERENCE")
        response = await other_tenant.call(
            "PUT", f"/v1.0/campaigns/{mallory_campaign['id']}/resource_info", json=body
        )
        error(response, 400, "INVALID_ARGUMENT", "INVALID_REFERENCE")
    response = await other_tenant.call(
        "PUT",
        f"/v1.0/campaigns/{mallory_campaign['id']}/next_campaign_id",
        json={"next_campaign_id": world["campaign"]["id"]},
    )
    error(response, 400, "INVALID_ARGUMENT", "INVALID_REFERENCE")
    response = await other_tenant.call(
        "POST", "/v1.0/outdials", json={"campaign_id": world["campaign"]["id"]}
    )
    error(response, 400, "INVALID_ARGUMENT", "INVALID_REFERENCE")
    # alice's outdials stay as they were
    spare = await tenant.ok("GET", f"/v1.0/outdials/{spare_outdial['id']}")
    assert spare["campaign_id"] == NIL
    attached = await tenant.ok("GET", f"/v1.0/outdials/{world['outdial']['id']}")
    assert attached["campaign_id"] == world["campaign"]["id"]
    assert (await other_tenant.ok("GET", f"/v1.0/campaigns/{mallory_campaign['id']}")) == (
        mallory_campaign
    )
