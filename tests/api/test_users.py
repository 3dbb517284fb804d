"""Customer users and sessions (issue 14): /v1.0/customers/{id}/users, login with an
HttpOnly SameSite=Strict cookie, CSRF on cookie writes, logout, expiry, login throttling,
tenant isolation. On SQLite and PostgreSQL (the `services` fixture)."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from outdial.api.app import create_app
from outdial.clock import FakeClock
from outdial.domain.users import SessionPolicy
from outdial.services.container import Services
from outdial.storage.tables import user_sessions, users
from tests.api.helpers import make_outdial
from tests.conftest import Tenant, make_tenant

PASSWORD = "correct horse battery"


def users_path(t: Tenant) -> str:
    return f"/v1.0/customers/{t.customer_id}/users"


async def make_user(t: Tenant, username: str = "Ann@Example.com") -> dict[str, Any]:
    made: dict[str, Any] = await t.ok(
        "POST", users_path(t), json={"username": username, "password": PASSWORD}
    )
    return made


async def login(
    client: httpx.AsyncClient, username: str = "ann@example.com", password: str = PASSWORD
) -> httpx.Response:
    return await client.post("/v1.0/login", json={"username": username, "password": password})


class Browser:
    """A signed-in user: the session cookie and the CSRF token, sent explicitly."""

    def __init__(self, client: httpx.AsyncClient, response: httpx.Response) -> None:
        assert response.status_code == 200, response.text
        self.client = client
        self.cookie = response.cookies["outdial_session"]
        self.csrf = response.json()["csrf_token"]

    async def call(self, method: str, path: str, *, csrf: bool = True, **kw: Any) -> httpx.Response:
        headers = {"Cookie": f"outdial_session={self.cookie}", **kw.pop("headers", {})}
        if csrf:
            headers["X-CSRF-Token"] = self.csrf
        return await self.client.request(method, path, headers=headers, **kw)


async def test_create_list_delete_users(tenant: Tenant, services: Services) -> None:
    made = await make_user(tenant)
    assert set(made) == {"id", "customer_id", "username", "tm_create", "tm_update", "tm_delete"}
    assert made["username"] == "ann@example.com"  # usernames are kept in lower case
    assert made["customer_id"] == str(tenant.customer_id)
    async with services.ctx.db.read() as conn:
        stored = (await conn.execute(sa.select(users.c.password_hash))).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    listed = await tenant.ok("GET", users_path(tenant))
    assert listed == {"result": [made]}
    taken = await tenant.call(
        "POST", users_path(tenant), json={"username": "ANN@example.com", "password": PASSWORD}
    )
    assert taken.status_code == 409 and taken.json()["error"]["reason"] == "USERNAME_TAKEN"
    gone = await tenant.ok("DELETE", f"{users_path(tenant)}/{made['id']}")
    assert gone["tm_delete"] != "9999-01-01 00:00:00.000000"
    assert await tenant.ok("GET", users_path(tenant)) == {"result": []}
    again = await make_user(tenant)  # a deleted user's name is free again
    assert again["id"] != made["id"]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"username": "ann", "password": PASSWORD}, "username"),
        ({"username": "a b@example.com", "password": PASSWORD}, "username"),
        ({"username": "ann@example.com", "password": "short"}, "password"),
        ({"username": "ann@example.com"}, "password"),
        ({"username": 5, "password": PASSWORD}, "username"),
    ],
)
async def test_bad_users_are_400(tenant: Tenant, body: dict[str, Any], field: str) -> None:
    response = await tenant.call("POST", users_path(tenant), json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["message"]


async def test_another_customers_users_are_404(tenant: Tenant, other_tenant: Tenant) -> None:
    await make_user(tenant)
    for method, kw in (
        ("GET", {}),
        ("POST", {"json": {"username": "x@y.z", "password": PASSWORD}}),
    ):
        response = await other_tenant.call(method, users_path(tenant), **kw)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["reason"] == "CUSTOMER_NOT_FOUND"


async def test_login_sets_a_strict_httponly_cookie(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = await make_user(tenant)
    response = await login(client, "  ANN@example.com ")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customer_id"] == str(tenant.customer_id)
    assert body["username"] == "ann@example.com" and body["user_id"] == user["id"]
    assert len(body["csrf_token"]) >= 32
    cookie = response.headers["set-cookie"]
    parts = [p.strip().lower() for p in cookie.split(";")]
    assert parts[0].startswith("outdial_session=")
    assert cookie.split(";")[0].split("=", 1)[1] not in response.text  # never in the body
    assert {"httponly", "samesite=strict", "path=/"} <= set(parts)
    assert "max-age=28800" in parts
    assert "secure" not in parts  # plain http here; https requests get Secure
    me = await Browser(client, response).call("GET", "/v1.0/session")
    assert me.json() == body


async def test_a_session_sees_only_its_customers_data(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await make_user(tenant)
    mine = await make_outdial(tenant, name="mine")
    theirs = await make_outdial(other_tenant, name="theirs")
    browser = Browser(client, await login(client))
    listed = (await browser.call("GET", "/v1.0/outdials")).json()["result"]
    assert [o["id"] for o in listed] == [mine["id"]]
    hidden = await browser.call("GET", f"/v1.0/outdials/{theirs['id']}")
    assert hidden.status_code == 404
    other_users = await browser.call("GET", users_path(other_tenant))
    assert other_users.status_code == 404


async def test_cookie_writes_need_the_csrf_token(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await make_user(tenant)
    browser = Browser(client, await login(client))
    missing = await browser.call("POST", "/v1.0/outdials", csrf=False, json={"name": "x"})
    assert missing.status_code == 403
    assert missing.json()["error"]["reason"] == "CSRF_TOKEN_INVALID"
    wrong = await browser.call(
        "POST", "/v1.0/outdials", csrf=False, json={"name": "x"}, headers={"X-CSRF-Token": "no"}
    )
    assert wrong.status_code == 403
    odd = await browser.call(
        "POST",
        "/v1.0/outdials",
        csrf=False,
        json={},
        headers={"X-CSRF-Token": "\u00e9t\u00e9".encode()},
    )
    assert odd.status_code == 403  # a non-ASCII header is a wrong token, not a crash
    made = await browser.call("POST", "/v1.0/outdials", json={"name": "x"})
    assert made.status_code == 200 and made.json()["customer_id"] == str(tenant.customer_id)
    # Another session's token is not this one's.
    second = Browser(client, await login(client))
    crossed = await browser.call(
        "POST", "/v1.0/outdials", csrf=False, json={}, headers={"X-CSRF-Token": second.csrf}
    )
    assert crossed.status_code == 403
    assert (await browser.call("GET", "/v1.0/outdials", csrf=False)).status_code == 200


async def test_logout_ends_the_session(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await make_user(tenant)
    browser = Browser(client, await login(client))
    out = await browser.call("POST", "/v1.0/logout")
    assert out.status_code == 200 and out.json() == {"logged_out": True}
    assert 'outdial_session=""' in out.headers["set-cookie"] or "max-age=0" in (
        out.headers["set-cookie"].lower()
    )
    after = await browser.call("GET", "/v1.0/outdials")
    assert after.status_code == 401
    assert after.json()["error"]["reason"] == "SESSION_EXPIRED"


async def test_sessions_expire(client: httpx.AsyncClient, tenant: Tenant, clock: FakeClock) -> None:
    await make_user(tenant)
    browser = Browser(client, await login(client))
    await clock.advance(8 * 3600 - 10)
    assert (await browser.call("GET", "/v1.0/outdials")).status_code == 200
    await clock.advance(11)
    expired = await browser.call("GET", "/v1.0/outdials")
    assert expired.status_code == 401 and expired.json()["error"]["reason"] == "SESSION_EXPIRED"


async def test_deleting_a_user_ends_its_sessions(
    client: httpx.AsyncClient, tenant: Tenant, services: Services
) -> None:
    user = await make_user(tenant)
    browser = Browser(client, await login(client))
    await tenant.ok("DELETE", f"{users_path(tenant)}/{user['id']}")
    assert (await browser.call("GET", "/v1.0/outdials")).status_code == 401
    async with services.ctx.db.read() as conn:
        left = (await conn.execute(sa.select(sa.func.count()).select_from(user_sessions))).scalar()
    assert left == 0
    assert (await login(client)).status_code == 401


async def test_wrong_password_and_unknown_user_look_alike(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await make_user(tenant)
    wrong = await login(client, password="not the password")
    unknown = await login(client, username="nobody@example.com")
    malformed = await client.post("/v1.0/login", json={"username": ["x"], "password": 1})
    for response in (wrong, unknown, malformed):
        assert response.status_code == 401, response.text
        assert response.json()["error"]["reason"] == "INVALID_CREDENTIALS"
        assert "set-cookie" not in response.headers


async def test_login_is_throttled_per_username(
    client: httpx.AsyncClient, tenant: Tenant, clock: FakeClock
) -> None:
    await make_user(tenant)
    for _ in range(5):
        assert (await login(client, password="guess guess")).status_code == 401
    blocked = await login(client)  # even the right password, until the window moves on
    assert blocked.status_code == 429
    assert blocked.json()["error"]["reason"] == "LOGIN_THROTTLED"
    assert 1 <= int(blocked.headers["retry-after"]) <= 900
    await clock.advance(901)
    assert (await login(client)).status_code == 200


async def test_login_is_throttled_per_address(services: Services, tenant: Tenant) -> None:
    strict = dataclasses.replace(
        services.ctx, sessions=SessionPolicy(max_failures_per_address=3, max_failures_per_user=100)
    )
    app = create_app(Services.over(strict))
    app.state.ready = True
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://outdial.test") as c:
        for n in range(3):
            assert (await login(c, username=f"u{n}@example.com")).status_code == 401
        blocked = await login(c, username="someone.else@example.com")
        assert blocked.status_code == 429 and "retry-after" in blocked.headers
    other = httpx.ASGITransport(app=app, client=("203.0.113.10", 1234))
    async with httpx.AsyncClient(transport=other, base_url="http://outdial.test") as c:
        assert (await login(c, username="u0@example.com")).status_code == 401  # not 429


async def test_form_login_and_cross_origin_refusal(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await make_user(tenant)
    form = await client.post(
        "/v1.0/login",
        data={"username": "ann@example.com", "password": PASSWORD},
        headers={"Origin": "http://outdial.test"},
    )
    assert form.status_code == 200, form.text
    assert "outdial_session" in form.cookies
    cross = await client.post(
        "/v1.0/login",
        data={"username": "ann@example.com", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403 and cross.json()["error"]["reason"] == "CROSS_ORIGIN_LOGIN"
    plain = await client.post("/v1.0/login", content=b"x", headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415
    broken = await client.post(
        "/v1.0/login", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["error"]["reason"] == "INVALID_JSON_BODY"


async def test_an_access_key_still_works_and_has_no_session(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    me = await tenant.ok("GET", "/v1.0/session")
    assert me["kind"] == "accesskey" and me["customer_id"] == str(tenant.customer_id)
    assert me["csrf_token"] == ""
    out = await tenant.ok("POST", "/v1.0/logout")
    assert out == {"logged_out": False}
    assert (await tenant.call("GET", "/v1.0/outdials")).status_code == 200


async def test_a_session_can_import_targets(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """The console's upload path: the import with the session cookie and its CSRF token."""
    await make_user(tenant)
    outdial = await make_outdial(tenant)
    browser = Browser(client, await login(client))
    body = b"name,destination_0\na,tel:+15550001\n"
    path = f"/v1.0/outdials/{outdial['id']}/targets_import"
    headers = {"Content-Type": "text/csv"}
    refused = await browser.call("POST", path, csrf=False, content=body, headers=headers)
    assert refused.status_code == 403
    done = await browser.call("POST", path, content=body, headers=headers)
    assert done.json() == {"imported": 1}


async def test_users_of_a_session_are_its_customers(
    client: httpx.AsyncClient, services: Services
) -> None:
    """A signed-in user may manage its own customer's users (as its access keys may)."""
    t = await make_tenant(services, client, "acme")
    await make_user(t)
    browser = Browser(client, await login(client))
    made = await browser.call(
        "POST", users_path(t), json={"username": "bob@example.com", "password": PASSWORD}
    )
    assert made.status_code == 200 and made.json()["customer_id"] == str(t.customer_id)


async def test_logout_ends_an_open_event_stream(services: Services, tenant: Tenant) -> None:
    """On a real server: a stream opened with the session cookie ends within seconds of the
    logout (api/routes/live.py asks the session, not the access keys)."""
    from tests.api.test_event_stream import _read_until_closed, serving

    await make_user(tenant)
    async with serving(services) as url, httpx.AsyncClient(base_url=url, timeout=None) as http:
        signed = await login(http)
        cookie = {"Cookie": f"outdial_session={signed.cookies['outdial_session']}"}
        http.cookies.clear()
        async with http.stream("GET", "/v1.0/events", headers=cookie) as response:
            assert response.status_code == 200
            chunks = response.aiter_text()
            assert (await anext(chunks)).startswith("retry:")
            csrf = {"X-CSRF-Token": signed.json()["csrf_token"]}
            out = await http.post("/v1.0/logout", headers={**cookie, **csrf})
            assert out.json() == {"logged_out": True}
            await _read_until_closed(chunks)  # the stream ends on its own
