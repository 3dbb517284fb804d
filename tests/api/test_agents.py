"""/v1.0/tags, /v1.0/agents, /v1.0/queues (issue 13, SPEC 7): CRUD, the password never shown,
validation, the private-network rule on addresses, `sim:` agents only on the sim telephony,
tenant isolation."""

from __future__ import annotations

import pytest

from outdial.clock import FakeClock
from outdial.domain.netpolicy import NetworkPolicy
from outdial.services.container import Services
from outdial.storage.db import Database
from outdial.storage.tables import agents
from tests.api.helpers import SENTINEL, error
from tests.conftest import LOOPBACK, Tenant

AGENT_FIELDS = [
    "id",
    "customer_id",
    "username",
    "name",
    "detail",
    "ring_method",
    "status",
    "permission",
    "tag_ids",
    "addresses",
    "tm_status",
    "tm_create",
    "tm_update",
    "tm_delete",
]
SIP = {"type": "sip", "target": "agent1@example.com"}
SIM = {"type": "sip", "target": "sim:agent?aht=120&wrap=10"}


@pytest.fixture
def services(db: Database, clock: FakeClock) -> Services:
    """The API as `outdial serve --telephony sim` builds it: sim: agents accepted."""
    return Services.build(db, clock, network=NetworkPolicy.from_text(LOOPBACK), sim_agents=True)


async def test_tag_crud(tenant: Tenant) -> None:
    tag = await tenant.ok("POST", "/v1.0/tags", json={"name": "sales", "detail": "d"})
    assert list(tag) == [
        "id",
        "customer_id",
        "name",
        "detail",
        "tm_create",
        "tm_update",
        "tm_delete",
    ]
    path = f"/v1.0/tags/{tag['id']}"
    assert (await tenant.ok("PUT", path, json={"name": "s2"}))["detail"] == "d"
    assert [t["id"] for t in (await tenant.ok("GET", "/v1.0/tags"))["result"]] == [tag["id"]]
    assert (await tenant.ok("DELETE", path))["tm_delete"] != SENTINEL
    assert (await tenant.ok("GET", "/v1.0/tags"))["result"] == []


async def test_agent_crud_and_password_never_shown(tenant: Tenant, db: Database) -> None:
    tag = await tenant.ok("POST", "/v1.0/tags", json={"name": "sales"})
    body = {
        "username": "alice",
        "password": "s3cret-pass",
        "name": "Alice",
        "ring_method": "ringall",
        "permission": 16,
        "tag_ids": [tag["id"]],
        "addresses": [SIP, {"type": "tel", "target": "+15550001111"}],
    }
    response = await tenant.call("POST", "/v1.0/agents", json=body)
    assert response.status_code == 200
    assert "s3cret" not in response.text and "argon2" not in response.text
    agent = response.json()
    assert list(agent) == AGENT_FIELDS
    assert agent["status"] == "offline" and agent["tag_ids"] == [tag["id"]]
    assert agent["addresses"][0]["target"] == "agent1@example.com"
    async with db.read() as conn:
        stored = (await conn.execute(agents.select())).one()
    assert stored.password_hash.startswith("$argon2id$") and "s3cret" not in stored.password_hash
    path = f"/v1.0/agents/{agent['id']}"
    assert (await tenant.ok("PUT", f"{path}/status", json={"status": "available"}))[
        "status"
    ] == "available"
    error(
        await tenant.call("PUT", f"{path}/status", json={"status": "ringing"}),
        400,
        "INVALID_ARGUMENT",
    )
    updated = await tenant.ok("PUT", path, json={"name": "Alice B"})
    assert (updated["name"], updated["username"], updated["status"]) == (
        "Alice B",
        "alice",
        "available",
    )
    assert (await tenant.ok("PUT", f"{path}/tag_ids", json={"tag_ids": []}))["tag_ids"] == []
    moved = await tenant.ok("PUT", f"{path}/addresses", json={"addresses": [SIP]})
    assert len(moved["addresses"]) == 1
    response = await tenant.call("PUT", f"{path}/password", json={"password": "n3w-pass"})
    assert response.status_code == 200 and "n3w" not in response.text
    async with db.read() as conn:
        again = (await conn.execute(agents.select())).one()
    assert again.password_hash != stored.password_hash
    assert (await tenant.ok("DELETE", path))["tm_delete"] != SENTINEL
    assert (await tenant.ok("GET", "/v1.0/agents"))["result"] == []


async def test_agent_validation(tenant: Tenant) -> None:
    bad = [
        {"addresses": [{"type": "tel", "target": "12"}]},
        {"addresses": [{"type": "extension", "target": "100"}]},
        {"addresses": [{"type": "sip", "target": "a@10.0.0.1"}]},  # private: closed
        {"ring_method": "everyone"},
        {"tag_ids": ["not-a-uuid"]},
        {"tag_ids": ["8b0d6c3e-3f4a-4b59-9a55-0c4b1f0f7f11"]},  # no such tag
        {"addresses": [{"type": "sip", "target": "sim:agent?aht=abc"}]},
    ]
    for body in bad:
        response = await tenant.call("POST", "/v1.0/agents", json=body)
        assert response.status_code == 400, (body, response.text)
    sim = await tenant.ok("POST", "/v1.0/agents", json={"addresses": [SIM]})
    assert sim["addresses"][0]["target"] == SIM["target"]


async def test_sim_agents_only_on_sim_telephony(db: Database, clock: FakeClock) -> None:
    plain = Services.build(db, clock)  # what `--telephony sip` builds
    customer = await plain.customers.create("c")
    from outdial.domain.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="simulated telephony"):
        await plain.agents.create(customer.id, {"addresses": [SIM]})


async def test_queue_crud(tenant: Tenant) -> None:
    tag = await tenant.ok("POST", "/v1.0/tags", json={"name": "sales"})
    body = {
        "name": "q",
        "routing_method": "longest-idle",
        "tag_ids": [tag["id"]],
        "wait_actions": [{"type": "talk", "option": {"text": "please hold"}}],
        "wait_timeout": 60000,
        "service_timeout": 600000,
    }
    queue = await tenant.ok("POST", "/v1.0/queues", json=body)
    assert queue["routing_method"] == "longest-idle" and queue["tag_ids"] == [tag["id"]]
    assert queue["wait_actions"][0]["type"] == "talk"
    assert queue["total_abandoned_count"] == 0
    path = f"/v1.0/queues/{queue['id']}"
    assert (await tenant.ok("PUT", path, json={"wait_timeout": 5}))["wait_timeout"] == 5
    assert (await tenant.ok("GET", path))["name"] == "q"
    error(
        await tenant.call("POST", "/v1.0/queues", json={"routing_method": "x"}),
        400,
        "INVALID_ARGUMENT",
    )
    error(
        await tenant.call("POST", "/v1.0/queues", json={"wait_timeout": -1}),
        400,
        "INVALID_ARGUMENT",
    )
    default = await tenant.ok("POST", "/v1.0/queues", json={})
    assert default["routing_method"] == "random" and default["tag_ids"] == []
    assert (await tenant.ok("DELETE", path))["tm_delete"] != SENTINEL


async def test_isolation(tenant: Tenant, other_tenant: Tenant) -> None:
    tag = await tenant.ok("POST", "/v1.0/tags", json={"name": "mine"})
    agent = await tenant.ok("POST", "/v1.0/agents", json={"name": "a"})
    queue = await tenant.ok("POST", "/v1.0/queues", json={"name": "q"})
    for path in (
        f"/v1.0/tags/{tag['id']}",
        f"/v1.0/agents/{agent['id']}",
        f"/v1.0/queues/{queue['id']}",
    ):
        error(await other_tenant.call("GET", path), 404, "NOT_FOUND")
        error(await other_tenant.call("DELETE", path), 404, "NOT_FOUND")
    error(
        await other_tenant.call(
            "PUT", f"/v1.0/agents/{agent['id']}/status", json={"status": "available"}
        ),
        404,
        "NOT_FOUND",
    )
    # another customer's tag is not a reference anyone else may use
    response = await other_tenant.call("POST", "/v1.0/agents", json={"tag_ids": [tag["id"]]})
    error(response, 400, "INVALID_ARGUMENT", "INVALID_REFERENCE")
    assert (await other_tenant.ok("GET", "/v1.0/agents"))["result"] == []
    assert agent["tag_ids"] == [] and queue["tag_ids"] == []


async def test_nailed_up_field(tenant: Tenant) -> None:
    """outdial's own `nailed_up` (docs/agents.md): set on create or PUT, shown only when true
    (an agent without it has exactly VoIPBIN's fields), a boolean only."""
    agent = await tenant.ok("POST", "/v1.0/agents", json={"name": "n", "nailed_up": True})
    assert agent["nailed_up"] is True and list(agent)[:-1] == AGENT_FIELDS
    path = f"/v1.0/agents/{agent['id']}"
    off = await tenant.ok("PUT", path, json={"nailed_up": False})
    assert "nailed_up" not in off and list(off) == AGENT_FIELDS
    assert (await tenant.ok("PUT", path, json={"nailed_up": True, "name": "m"}))["nailed_up"]
    error(await tenant.call("PUT", path, json={"nailed_up": "yes"}), 400, "INVALID_ARGUMENT")
    assert (await tenant.ok("GET", path))["nailed_up"] is True
