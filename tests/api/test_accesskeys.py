"""Access keys over REST (`/v1.0/accesskeys`, console-ops): VoIPBIN's shapes, the token shown
once and stored hashed, paging, tenant isolation, revocation at once in every process, a key
that revokes itself, expiry capped by the caller's key. SQLite and PostgreSQL (`services`)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from outdial.api.app import create_app
from outdial.clock import FakeClock
from outdial.domain.netpolicy import NetworkPolicy
from outdial.services.container import Services
from outdial.services.customers import hash_token
from outdial.storage.tables import accesskeys
from tests.api.test_users import PASSWORD, Browser, login, make_user
from tests.conftest import LOOPBACK, Tenant

FIELDS = {
    "id",
    "customer_id",
    "name",
    "detail",
    "token_prefix",
    "tm_expire",
    "tm_create",
    "tm_update",
    "tm_delete",
}
SENTINEL = "9999-01-01 00:00:00.000000"


async def make_key(t: Tenant, **body: Any) -> dict[str, Any]:
    made: dict[str, Any] = await t.ok("POST", "/v1.0/accesskeys", json=body)
    return made


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_create_shows_the_token_once_and_stores_its_hash(
    tenant: Tenant, services: Services
) -> None:
    made = await make_key(tenant, name="reports", detail="nightly export")
    assert set(made) == FIELDS | {"token"}
    assert made["customer_id"] == str(tenant.customer_id)
    assert (made["name"], made["detail"], made["tm_expire"]) == ("reports", "nightly export", None)
    assert made["tm_delete"] == SENTINEL
    token = made["token"]
    assert len(token) >= 40 and made["token_prefix"] == token[:8]
    async with services.ctx.db.read() as conn:
        stored = (
            await conn.execute(
                sa.select(accesskeys).where(accesskeys.c.id == uuid.UUID(made["id"]))
            )
        ).one()
    assert stored.token_hash == hash_token(token) and token not in stored._mapping.values()
    # the new key works, and nothing answers its token again
    listed = await tenant.client.get("/v1.0/accesskeys", headers=bearer(token))
    assert listed.status_code == 200
    assert token not in listed.text
    one = await tenant.ok("GET", f"/v1.0/accesskeys/{made['id']}")
    assert set(one) == FIELDS and one["token_prefix"] == token[:8]
    assert {k["id"] for k in listed.json()["result"]} >= {made["id"]}


async def test_list_is_paged_newest_first_without_revoked_keys(
    tenant: Tenant, clock: FakeClock
) -> None:
    made = []
    for n in range(5):
        await clock.advance(1)
        made.append(await make_key(tenant, name=f"k{n}"))
    first = await tenant.ok("GET", "/v1.0/accesskeys", params={"page_size": 3})
    assert [k["name"] for k in first["result"]] == ["k4", "k3", "k2"]
    rest = await tenant.ok(
        "GET", "/v1.0/accesskeys", params={"page_size": 3, "page_token": first["next_page_token"]}
    )
    assert [k["name"] for k in rest["result"]] == ["k1", "k0", "test"]  # "test": the fixture's
    gone = await tenant.ok("DELETE", f"/v1.0/accesskeys/{made[2]['id']}")
    assert gone["tm_delete"] != SENTINEL
    names = [k["name"] for k in (await tenant.ok("GET", "/v1.0/accesskeys"))["result"]]
    assert names == ["k4", "k3", "k1", "k0", "test"]
    # a revoked key is still readable by id, with its tm_delete, but cannot be renamed
    again = await tenant.ok("GET", f"/v1.0/accesskeys/{made[2]['id']}")
    assert again["tm_delete"] == gone["tm_delete"]
    put = await tenant.call("PUT", f"/v1.0/accesskeys/{made[2]['id']}", json={"name": "x"})
    assert put.status_code == 404 and put.json()["error"]["reason"] == "ACCESSKEY_NOT_FOUND"


async def test_update_changes_name_and_detail_only(tenant: Tenant) -> None:
    made = await make_key(tenant, name="a", detail="d")
    path = f"/v1.0/accesskeys/{made['id']}"
    changed = await tenant.ok("PUT", path, json={"detail": "new", "token": "x", "expire": 5})
    assert (changed["name"], changed["detail"], changed["tm_expire"]) == ("a", "new", None)
    assert changed["token_prefix"] == made["token_prefix"] and "token" not in changed
    renamed = await tenant.ok("PUT", path, json={"name": "b"})
    assert (renamed["name"], renamed["detail"]) == ("b", "new")
    bad = await tenant.call("PUT", path, json={"name": "x" * 256})
    assert bad.status_code == 400


async def test_another_customers_key_is_404(tenant: Tenant, other_tenant: Tenant) -> None:
    made = await make_key(tenant, name="mine")
    path = f"/v1.0/accesskeys/{made['id']}"
    for method, kw in (("GET", {}), ("PUT", {"json": {"name": "x"}}), ("DELETE", {})):
        response = await other_tenant.call(method, path, **kw)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["reason"] == "ACCESSKEY_NOT_FOUND"
    theirs = await other_tenant.ok("GET", "/v1.0/accesskeys")
    assert made["id"] not in {k["id"] for k in theirs["result"]}
    # the key still works: mallory's DELETE did nothing
    still = await tenant.client.get("/v1.0/outdials", headers=bearer(made["token"]))
    assert still.status_code == 200


async def test_revoking_stops_the_key_at_once_in_every_process(
    tenant: Tenant, services: Services
) -> None:
    """Two `serve` processes over one database: B used the key a moment ago; A revokes it;
    B refuses it on the very next request (no cache of working keys)."""
    made = await make_key(tenant, name="shared")
    other = Services.build(
        services.ctx.db, services.ctx.clock, network=NetworkPolicy.from_text(LOOPBACK)
    )
    app_b = create_app(other)
    app_b.state.ready = True
    transport = httpx.ASGITransport(app=app_b)
    async with httpx.AsyncClient(transport=transport, base_url="http://b.test") as b:
        ok = await b.get("/v1.0/outdials", headers=bearer(made["token"]))
        assert ok.status_code == 200
        await tenant.ok("DELETE", f"/v1.0/accesskeys/{made['id']}")
        refused = await b.get("/v1.0/outdials", headers=bearer(made["token"]))
        assert refused.status_code == 401
        assert refused.json()["error"]["reason"] == "INVALID_CREDENTIALS"


async def test_a_key_may_revoke_itself(tenant: Tenant) -> None:
    made = await make_key(tenant, name="self")
    me = bearer(made["token"])
    answer = await tenant.client.delete(f"/v1.0/accesskeys/{made['id']}", headers=me)
    assert answer.status_code == 200 and answer.json()["tm_delete"] != SENTINEL
    after = await tenant.client.get("/v1.0/accesskeys", headers=me)
    assert after.status_code == 401
    again = await tenant.ok("DELETE", f"/v1.0/accesskeys/{made['id']}")  # twice: unchanged
    assert again["tm_delete"] == answer.json()["tm_delete"]


async def test_expire_in_seconds_and_capped_by_the_callers_key(
    tenant: Tenant, clock: FakeClock
) -> None:
    made = await make_key(tenant, name="day", expire=86400)
    assert made["tm_expire"] is not None and made["tm_expire"] > made["tm_create"]
    # a key made with the expiring key cannot outlive it: without expire, or asking longer
    short = await tenant.client.post(
        "/v1.0/accesskeys", headers=bearer(made["token"]), json={"name": "child"}
    )
    assert short.status_code == 200 and short.json()["tm_expire"] == made["tm_expire"]
    longer = await tenant.client.post(
        "/v1.0/accesskeys",
        headers=bearer(made["token"]),
        json={"name": "child2", "expire": 10 * 86400},
    )
    assert longer.json()["tm_expire"] == made["tm_expire"]
    sooner = await tenant.client.post(
        "/v1.0/accesskeys", headers=bearer(made["token"]), json={"name": "c3", "expire": 60}
    )
    assert sooner.json()["tm_expire"] < made["tm_expire"]
    # an expired key is refused
    await clock.advance(61)
    gone = await tenant.client.get("/v1.0/outdials", headers=bearer(sooner.json()["token"]))
    assert gone.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"expire": -1},
        {"expire": "60"},
        {"expire": 1.5},
        {"expire": 10**12},
        {"name": 5},
        {"name": "x" * 256},
        {"detail": ["x"]},
    ],
)
async def test_bad_bodies_are_400(tenant: Tenant, body: dict[str, Any]) -> None:
    response = await tenant.call("POST", "/v1.0/accesskeys", json=body)
    assert response.status_code == 400, response.text


async def test_a_users_session_manages_keys(tenant: Tenant, client: httpx.AsyncClient) -> None:
    await make_user(tenant)
    user = Browser(client, await login(client, password=PASSWORD))
    made = await user.call("POST", "/v1.0/accesskeys", json={"name": "from the console"})
    assert made.status_code == 200, made.text
    no_csrf = await user.call("POST", "/v1.0/accesskeys", json={"name": "x"}, csrf=False)
    assert no_csrf.status_code == 403
    listed = await user.call("GET", "/v1.0/accesskeys")
    assert made.json()["id"] in {k["id"] for k in listed.json()["result"]}
    gone = await user.call("DELETE", f"/v1.0/accesskeys/{made.json()['id']}")
    assert gone.status_code == 200
    refused = await client.get("/v1.0/outdials", headers=bearer(made.json()["token"]))
    assert refused.status_code == 401
