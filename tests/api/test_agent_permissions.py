"""Agent permission bits (issue 13/14): VoIPBIN's customer manager bit (0x0040) opens a
supervisor's reading and other agents' status to an agent session, the customer admin bit
(0x0020) what a customer user may do; a plain agent stays least-privilege
(tests/api/test_agent_login.py). The bits are read at every request."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from outdial.api.routes.live import KEY_CHECK_S
from outdial.services import events
from outdial.services.container import Services
from tests.api.helpers import TEL, error
from tests.api.test_agent_login import (
    PASSWORD,
    _connected_call,
    cheap_hashes,  # noqa: F401 (autouse fixture)
    make_agent,
    signed_in,
)
from tests.api.test_event_stream import serving
from tests.conftest import Tenant

MANAGER, ADMIN = 0x0040, 0x0020


async def _campaign(tenant: Tenant) -> tuple[dict, dict, dict]:  # type: ignore[type-arg]
    od = await tenant.ok("POST", "/v1.0/outdials", json={"name": "o"})
    plan = await tenant.ok("POST", "/v1.0/outplans", json={"source": TEL})
    campaign = await tenant.ok(
        "POST", "/v1.0/campaigns", json={"outdial_id": od["id"], "outplan_id": plan["id"]}
    )
    return od, plan, campaign


async def test_a_manager_reads_like_a_supervisor_and_sets_agents_status(
    client: httpx.AsyncClient, tenant: Tenant, services: Services
) -> None:
    boss = await make_agent(tenant, username="boss", permission=MANAGER | 0x0010)
    other = await make_agent(tenant, username="bob")
    od, plan, campaign = await _campaign(tenant)
    theirs = await _connected_call(services, tenant, campaign, uuid.UUID(other["id"]))
    queue = await tenant.ok("POST", "/v1.0/queues", json={"name": "q"})
    browser = await signed_in(client, "boss")
    them = other["id"]
    for path in (
        "/v1.0/campaigns",
        f"/v1.0/campaigns/{campaign['id']}",
        f"/v1.0/campaigns/{campaign['id']}/campaigncalls",
        "/v1.0/campaigncalls",
        f"/v1.0/campaigncalls/{theirs}",
        f"/v1.0/campaigncalls/{theirs}/context",
        "/v1.0/agents",
        f"/v1.0/agents/{them}",
        f"/v1.0/agents/{them}/campaigncalls",
        "/v1.0/queues",
        f"/v1.0/queues/{queue['id']}",
        "/v1.0/outdials",
        f"/v1.0/outdials/{od['id']}",
        f"/v1.0/outdials/{od['id']}/targets",
    ):
        response = await browser.call("GET", path)
        assert response.status_code == 200, (path, response.text)
    listed = (await browser.call("GET", f"/v1.0/agents/{them}/campaigncalls")).json()
    assert [c["id"] for c in listed["result"]] == [theirs]
    status = await browser.call("PUT", f"/v1.0/agents/{them}/status", json={"status": "away"})
    assert status.status_code == 200, status.text
    assert (await tenant.ok("GET", f"/v1.0/agents/{them}"))["status"] == "away"
    denied = [
        ("POST", "/v1.0/campaigns", {"outdial_id": od["id"], "outplan_id": plan["id"]}),
        ("PUT", f"/v1.0/campaigns/{campaign['id']}/status", {"status": "run"}),
        ("PUT", f"/v1.0/campaigncalls/{theirs}/disposition", {"disposition": "x"}),
        ("POST", "/v1.0/agents", {"username": "eve", "password": PASSWORD}),
        ("PUT", f"/v1.0/agents/{boss['id']}", {"permission": 0x0020}),
        ("DELETE", f"/v1.0/agents/{them}", None),
        ("POST", f"/v1.0/agents/{them}/phone", {"type": "offer", "sdp": "v=0"}),
        ("GET", "/v1.0/outplans", None),
        ("GET", f"/v1.0/customers/{tenant.customer_id}/users", None),
        ("GET", "/v1.0/events", None),
    ]
    for method, path, body in denied:
        response = await browser.call(method, path, json=body)
        error(response, 403, "PERMISSION_DENIED", "AGENT_NOT_PERMITTED")
    assert (await tenant.ok("GET", f"/v1.0/agents/{boss['id']}"))["permission"] == 0x0050


async def test_an_admin_agent_does_what_a_customer_user_may(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await make_agent(tenant, username="root", permission=ADMIN)
    plan = await tenant.ok("POST", "/v1.0/outplans", json={"source": TEL})
    browser = await signed_in(client, "root")
    od_made = await browser.call("POST", "/v1.0/outdials", json={"name": "mine"})
    assert od_made.status_code == 200, od_made.text
    od = od_made.json()
    made = await browser.call(
        "POST", "/v1.0/campaigns", json={"outdial_id": od["id"], "outplan_id": plan["id"]}
    )
    assert made.status_code == 200, made.text
    assert (await browser.call("GET", "/v1.0/outplans")).status_code == 200
    users = await browser.call("GET", f"/v1.0/customers/{tenant.customer_id}/users")
    assert users.status_code == 200, users.text
    eve = await browser.call("POST", "/v1.0/agents", json={"username": "eve", "name": "Eve"})
    assert eve.status_code == 200, eve.text
    # writes still need the session's CSRF token
    bare = await browser.call("DELETE", f"/v1.0/agents/{eve.json()['id']}", csrf=False)
    error(bare, 403, "PERMISSION_DENIED", "CSRF_TOKEN_INVALID")
    gone = await browser.call("DELETE", f"/v1.0/agents/{eve.json()['id']}")
    assert gone.status_code == 200, gone.text


async def test_permission_bits_are_read_at_every_request(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    agent = await make_agent(tenant, username="ann", permission=0x0010)
    browser = await signed_in(client, "ann")
    error(await browser.call("GET", "/v1.0/campaigns"), 403, "PERMISSION_DENIED")
    await tenant.ok("PUT", f"/v1.0/agents/{agent['id']}", json={"permission": MANAGER})
    assert (await browser.call("GET", "/v1.0/campaigns")).status_code == 200
    await tenant.ok("PUT", f"/v1.0/agents/{agent['id']}", json={"permission": 0})
    response = await browser.call("GET", "/v1.0/campaigns")
    error(response, 403, "PERMISSION_DENIED", "AGENT_NOT_PERMITTED")


async def test_an_agent_streams_only_its_own_events(services: Services) -> None:
    """`GET /v1.0/agents/{id}/events` on a real server (SSE): the agent's status and its
    campaigncalls' updates, never another agent's; another agent's stream is refused."""
    customer = await services.customers.create("desk")
    _, token = await services.customers.create_accesskey(customer.id, "k")
    key = {"Authorization": f"Bearer {token}"}
    async with serving(services) as url, httpx.AsyncClient(base_url=url, timeout=None) as http:
        made = []
        for name in ("ann", "bob"):
            body = {"username": name, "password": PASSWORD, "name": name}
            response = await http.post("/v1.0/agents", json=body, headers=key)
            assert response.status_code == 200, response.text
            made.append(response.json()["id"])
        me, them = made
        login = await http.post(
            "/v1.0/login", json={"kind": "agent", "username": "ann", "password": PASSWORD}
        )
        cookie = {"Cookie": f"outdial_session={login.cookies['outdial_session']}"}
        refused = await http.get(f"/v1.0/agents/{them}/events", headers=cookie)
        error(refused, 403, "PERMISSION_DENIED", "AGENT_NOT_PERMITTED")
        missing = await http.get(f"/v1.0/agents/{uuid.uuid4()}/events", headers=key)
        error(missing, 404, "NOT_FOUND", "AGENT_NOT_FOUND")
        async with http.stream("GET", f"/v1.0/agents/{me}/events", headers=cookie) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            chunks = stream.aiter_text()
            assert (await anext(chunks)).startswith("retry:")
            for agent, status in ((them, "away"), (me, "available")):
                path = f"/v1.0/agents/{agent}/status"
                assert (await http.put(path, json={"status": status}, headers=key)).is_success
            call, theirs = uuid.uuid4(), uuid.uuid4()
            async with services.ctx.db.write() as conn:
                for cc, agent in ((theirs, them), (call, me)):
                    data = {"id": str(cc), "agent_id": agent, "callback_agent_id": me}
                    await events.emit(conn, customer.id, events.CAMPAIGNCALL_UPDATED, data)
            seen = ""
            async with asyncio.timeout(20):
                while seen.count("\n\n") < 2:
                    seen += await anext(chunks)
            # past a session check (KEY_CHECK_S) the stream is still open: the agent's
            # session is checked as an agent's, not a user's
            await asyncio.sleep(KEY_CHECK_S + 0.5)
            path = f"/v1.0/agents/{me}/status"
            assert (await http.put(path, json={"status": "away"}, headers=key)).is_success
            later = ""
            async with asyncio.timeout(20):
                while "\n\n" not in later:
                    later += await anext(chunks)
            assert "event: agent_status_updated" in later and '"status":"away"' in later
            csrf = {"X-CSRF-Token": login.json()["csrf_token"], **cookie}
            assert (await http.post("/v1.0/logout", headers=csrf)).is_success
            async with asyncio.timeout(20):
                async for _ in chunks:  # the stream ends soon after the session
                    pass
        blocks = [b for b in seen.split("\n\n") if b.startswith("id:")]
        assert [b.split("\n")[1] for b in blocks] == [
            "event: agent_status_updated",
            "event: campaigncall_updated",
        ]
        assert me in blocks[0] and them not in blocks[0] and str(call) in blocks[1]
        assert them not in seen and str(theirs) not in seen
