"""Agents sign in (issue 14, the agent page): `POST /v1.0/login` with `kind: agent` sets the
same kind of session cookie as a customer user's, with CSRF on writes, logout, expiry and the
login throttle; the session is least-privilege (itself, its status, its own calls and their
disposition; everything else 403 AGENT_NOT_PERMITTED). On SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

import outdial.services.agents as agents_module
from outdial.clock import FakeClock
from outdial.services.container import Services
from outdial.storage.tables import agent_sessions, campaigncalls
from tests.api.helpers import TEL, error, insert_campaigncall
from tests.api.test_users import Browser, make_user
from tests.conftest import Tenant

PASSWORD = "agent secret 123"
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # argon2id, test-sized


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch, services: Services) -> None:
    """argon2id with 1 MiB instead of 64: the same code paths, a 2-core runner's time spared
    (verification reads the parameters from each hash)."""
    monkeypatch.setattr(agents_module, "_hasher", CHEAP)
    monkeypatch.setattr(services.users, "hasher", CHEAP)


async def make_agent(t: Tenant, username: str = "ann", **extra: Any) -> dict[str, Any]:
    body = {"username": username, "password": PASSWORD, "name": "Ann", **extra}
    made: dict[str, Any] = await t.ok("POST", "/v1.0/agents", json=body)
    return made


async def agent_login(
    client: httpx.AsyncClient, username: str = "ann", password: str = PASSWORD
) -> httpx.Response:
    body = {"kind": "agent", "username": username, "password": password}
    return await client.post("/v1.0/login", json=body)


async def signed_in(client: httpx.AsyncClient, username: str = "ann") -> Browser:
    return Browser(client, await agent_login(client, username))


async def test_agent_login_sets_a_strict_httponly_cookie(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    agent = await make_agent(tenant)
    response = await agent_login(client)
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert response.cookies["outdial_session"].startswith("a.")
    body = response.json()
    assert body["kind"] == "agent" and body["agent_id"] == agent["id"]
    assert body["customer_id"] == str(tenant.customer_id) and body["username"] == "ann"
    assert body["user_id"] == "" and body["csrf_token"]
    browser = Browser(client, response)
    who = await browser.call("GET", "/v1.0/session")
    assert who.status_code == 200 and who.json() == body
    me = await browser.call("GET", f"/v1.0/agents/{agent['id']}")
    assert me.status_code == 200 and me.json()["status"] == "offline"
    assert "password" not in me.text


async def test_bad_password_unknown_agent_and_no_password_look_alike(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await make_agent(tenant)
    await tenant.ok("POST", "/v1.0/agents", json={"username": "nopass", "name": "n"})
    for username, password in (("ann", "wrong password"), ("bob", PASSWORD), ("nopass", "")):
        response = await agent_login(client, username, password)
        error(response, 401, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
        assert "set-cookie" not in response.headers


async def test_users_and_agents_sign_in_apart(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """A customer user's password does not open the agent page, nor an agent's the console."""
    await make_user(tenant)
    await make_agent(tenant, username="ann@example.com")
    error(await agent_login(client, "ann@example.com", "correct horse battery"), 401,
          "UNAUTHENTICATED", "INVALID_CREDENTIALS")  # fmt: skip
    user_login = await client.post(
        "/v1.0/login", json={"username": "ann@example.com", "password": PASSWORD}
    )
    error(user_login, 401, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
    assert (await agent_login(client, "ann@example.com")).status_code == 200


async def test_agent_login_is_throttled(
    client: httpx.AsyncClient, tenant: Tenant, clock: FakeClock
) -> None:
    await make_agent(tenant)
    for _ in range(5):
        error(await agent_login(client, password="nope nope"), 401, "UNAUTHENTICATED")
    throttled = await agent_login(client)  # even the right password waits
    error(throttled, 429, "RESOURCE_EXHAUSTED", "LOGIN_THROTTLED")
    assert int(throttled.headers["retry-after"]) > 0
    await clock.advance(901)
    assert (await agent_login(client)).status_code == 200


async def test_agent_writes_need_the_csrf_token(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent = await make_agent(tenant)
    browser = await signed_in(client)
    path = f"/v1.0/agents/{agent['id']}/status"
    bare = await browser.call("PUT", path, csrf=False, json={"status": "available"})
    error(bare, 403, "PERMISSION_DENIED", "CSRF_TOKEN_INVALID")
    wrong = await browser.call(
        "PUT", path, csrf=False, headers={"X-CSRF-Token": "x" * 43}, json={"status": "away"}
    )
    error(wrong, 403, "PERMISSION_DENIED", "CSRF_TOKEN_INVALID")
    done = await browser.call("PUT", path, json={"status": "available"})
    assert done.status_code == 200 and done.json()["status"] == "available"
    error(await browser.call("PUT", path, json={"status": "ringing"}), 400, "INVALID_ARGUMENT")


async def test_agent_session_is_least_privilege(
    client: httpx.AsyncClient, tenant: Tenant, services: Services
) -> None:
    agent = await make_agent(tenant)
    other = await make_agent(tenant, username="bob")
    od = await tenant.ok("POST", "/v1.0/outdials", json={"name": "o"})
    plan = await tenant.ok("POST", "/v1.0/outplans", json={"source": TEL})
    campaign = await tenant.ok(
        "POST", "/v1.0/campaigns", json={"outdial_id": od["id"], "outplan_id": plan["id"]}
    )
    theirs = await _connected_call(services, tenant, campaign, uuid.UUID(other["id"]))
    browser = await signed_in(client)
    me, them = agent["id"], other["id"]
    denied = [
        ("GET", "/v1.0/outdials", None),
        ("GET", f"/v1.0/outdials/{od['id']}", None),
        ("POST", "/v1.0/campaigns", {"outdial_id": od["id"], "outplan_id": plan["id"]}),
        ("GET", "/v1.0/campaigns", None),
        ("GET", "/v1.0/campaigncalls", None),
        ("GET", f"/v1.0/campaigncalls/{theirs}", None),
        ("GET", f"/v1.0/campaigncalls/{theirs}/context", None),
        ("PUT", f"/v1.0/campaigncalls/{theirs}/disposition", {"disposition": "x"}),
        ("GET", "/v1.0/agents", None),
        ("POST", "/v1.0/agents", {"username": "eve", "password": PASSWORD}),
        ("GET", f"/v1.0/agents/{them}", None),
        ("PUT", f"/v1.0/agents/{them}/status", {"status": "away"}),
        ("GET", f"/v1.0/agents/{them}/campaigncalls", None),
        ("POST", f"/v1.0/agents/{them}/phone", {"type": "offer", "sdp": "v=0"}),
        ("DELETE", f"/v1.0/agents/{them}/phone", None),
        ("PUT", f"/v1.0/agents/{me}", {"name": "boss"}),
        ("PUT", f"/v1.0/agents/{me}/password", {"password": "another one 123"}),
        ("PUT", f"/v1.0/agents/{me}/tag_ids", {"tag_ids": []}),
        ("DELETE", f"/v1.0/agents/{me}", None),
        ("GET", "/v1.0/queues", None),
        ("GET", f"/v1.0/customers/{tenant.customer_id}/users", None),
        ("GET", "/v1.0/events", None),
        ("GET", f"/v1.0/campaigncalls/{uuid.uuid4()}/context", None),
        ("GET", "/v1.0/campaigncalls/not-an-id/context", None),
    ]
    for method, path, body in denied:
        response = await browser.call(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["reason"] == "AGENT_NOT_PERMITTED", (method, path)
    async with services.ctx.db.read() as conn:
        row = (await conn.execute(sa.select(campaigncalls.c.disposition))).one()
    assert row.disposition == ""  # nothing was written on the way
    assert (await tenant.ok("GET", f"/v1.0/agents/{them}"))["status"] == "offline"
    # its own browser phone is allowed (this app has no browser phones: 409, not 403)
    offer = {"type": "offer", "sdp": "v=0"}
    own = await browser.call("POST", f"/v1.0/agents/{me}/phone", json=offer)
    assert own.status_code == 409, own.text
    assert own.json()["error"]["reason"] == "WEBRTC_UNAVAILABLE"


async def _connected_call(
    services: Services,
    tenant: Tenant,
    campaign: dict[str, Any],
    agent_id: uuid.UUID,
    target_id: uuid.UUID | None = None,
) -> str:
    call_id = await insert_campaigncall(services, tenant.customer_id, campaign, target_id=target_id)
    async with services.ctx.db.write() as conn:
        await conn.execute(
            sa.update(campaigncalls)
            .where(campaigncalls.c.id == uuid.UUID(call_id))
            .values(agent_id=agent_id, tm_connect=services.ctx.now_us())
        )
    return call_id


async def test_agent_sees_its_call_and_sets_the_disposition(
    client: httpx.AsyncClient, tenant: Tenant, services: Services, clock: FakeClock
) -> None:
    agent = await make_agent(tenant)
    od = await tenant.ok("POST", "/v1.0/outdials", json={"name": "o"})
    plan = await tenant.ok("POST", "/v1.0/outplans", json={"source": TEL, "max_try_count_0": 3})
    campaign = await tenant.ok(
        "POST",
        "/v1.0/campaigns",
        json={
            "name": "renewals",
            "outdial_id": od["id"],
            "outplan_id": plan["id"],
            "dispositions": ["sale", "callback"],
        },
    )
    target = await tenant.ok(
        "POST",
        f"/v1.0/outdials/{od['id']}/targets",
        json={
            "name": "Carol",
            "detail": "renewal due",
            "data": "plan=gold",
            "destination_0": TEL,
        },
    )
    target_id = uuid.UUID(target["id"])
    earlier = await insert_campaigncall(services, tenant.customer_id, campaign, target_id=target_id)
    await clock.advance(60)
    me = uuid.UUID(agent["id"])
    call_id = await _connected_call(services, tenant, campaign, me, target_id)
    browser = await signed_in(client)
    listed = await browser.call("GET", f"/v1.0/agents/{me}/campaigncalls?active=1")
    assert listed.status_code == 200, listed.text
    assert [c["id"] for c in listed.json()["result"]] == [call_id]
    context = await browser.call("GET", f"/v1.0/campaigncalls/{call_id}/context")
    assert context.status_code == 200, context.text
    seen = context.json()
    assert seen["campaigncall"]["id"] == call_id
    assert seen["campaign"] == {
        "id": campaign["id"],
        "name": "renewals",
        "dispositions": ["sale", "callback"],
    }
    assert (seen["target"]["name"], seen["target"]["detail"]) == ("Carol", "renewal due")
    assert seen["target"]["data"] == "plan=gold"
    assert seen["target"]["destination_0"]["target"] == TEL["target"]
    assert [h["id"] for h in seen["history"]] == [earlier]
    path = f"/v1.0/campaigncalls/{call_id}/disposition"
    bad = await browser.call("PUT", path, json={"disposition": "maybe"})
    error(bad, 400, "INVALID_ARGUMENT", "INVALID_DISPOSITION")
    at = clock.now() + timedelta(days=1)
    body = {"disposition": "callback", "note": "after 5 pm", "callback_at": at.isoformat()}
    done = await browser.call("PUT", path, json=body)
    assert done.status_code == 200, done.text
    assert done.json()["disposition"] == "callback"
    again = await browser.call("GET", f"/v1.0/agents/{me}/campaigncalls?active=1")
    assert again.json()["result"] == []  # wrapped up: back to waiting
    every = await browser.call("GET", f"/v1.0/agents/{me}/campaigncalls")
    assert [c["id"] for c in every.json()["result"]] == [call_id]
    # A supervisor (the customer's access key) reads the same.
    assert (await tenant.ok("GET", f"/v1.0/campaigncalls/{call_id}/context"))["target"]
    listed_by_key = await tenant.ok("GET", f"/v1.0/agents/{me}/campaigncalls")
    assert [c["id"] for c in listed_by_key["result"]] == [call_id]


async def test_another_customers_agent_and_call_are_hidden(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    agent = await make_agent(tenant)
    error(await other_tenant.call("GET", f"/v1.0/agents/{agent['id']}/campaigncalls"), 404,
          "NOT_FOUND", "AGENT_NOT_FOUND")  # fmt: skip
    error(await other_tenant.call("GET", f"/v1.0/campaigncalls/{uuid.uuid4()}/context"), 404,
          "NOT_FOUND", "CAMPAIGNCALL_NOT_FOUND")  # fmt: skip


async def test_agent_sessions_end(
    client: httpx.AsyncClient, tenant: Tenant, services: Services, clock: FakeClock
) -> None:
    agent = await make_agent(tenant)
    me = f"/v1.0/agents/{agent['id']}"
    # logout
    browser = await signed_in(client)
    out = await browser.call("POST", "/v1.0/logout")
    assert out.status_code == 200 and out.json() == {"logged_out": True}
    error(await browser.call("GET", me), 401, "UNAUTHENTICATED", "SESSION_EXPIRED")
    # expiry (8 hours)
    browser = await signed_in(client)
    await clock.advance(8 * 3600 - 10)
    assert (await browser.call("GET", me)).status_code == 200
    await clock.advance(11)
    error(await browser.call("GET", me), 401, "UNAUTHENTICATED", "SESSION_EXPIRED")
    # a new password ends the old sessions
    browser = await signed_in(client)
    await tenant.ok("PUT", f"{me}/password", json={"password": "a new secret 456"})
    error(await browser.call("GET", me), 401, "UNAUTHENTICATED", "SESSION_EXPIRED")
    error(await agent_login(client), 401, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
    # deleting the agent ends its sessions
    browser = Browser(client, await agent_login(client, password="a new secret 456"))
    await tenant.ok("DELETE", me)
    error(await browser.call("GET", me), 401, "UNAUTHENTICATED", "SESSION_EXPIRED")
    async with services.ctx.db.read() as conn:
        left = (await conn.execute(sa.select(sa.func.count()).select_from(agent_sessions))).scalar()
    assert left == 0


async def test_agent_login_refuses_other_sites(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await make_agent(tenant)
    response = await client.post(
        "/v1.0/login",
        json={"kind": "agent", "username": "ann", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    error(response, 403, "PERMISSION_DENIED", "CROSS_ORIGIN_LOGIN")
    form = await client.post(
        "/v1.0/login",
        content=f"kind=agent&username=ann&password={PASSWORD.replace(' ', '+')}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 200 and form.json()["kind"] == "agent"
    odd = await client.post(
        "/v1.0/login", json={"kind": "robot", "username": "ann", "password": "x"}
    )
    error(odd, 400, "INVALID_ARGUMENT")
