"""Campaigns and campaigncalls: every endpoint of SPEC 2 without a running engine."""

from __future__ import annotations

from typing import Any

import pytest

from outdial.clock import FakeClock
from outdial.services.container import Services
from tests.api.helpers import (
    CAMPAIGN_FIELDS,
    CAMPAIGNCALL_FIELDS,
    NIL,
    SENTINEL,
    TEL,
    error,
    insert_campaigncall,
    make_campaign,
    make_outdial,
    make_outplan,
)
from tests.conftest import Tenant

TALK = {"type": "talk", "option": {"text": "hello", "language": "en-US"}}


async def ready_campaign(t: Tenant, **body: Any) -> dict[str, Any]:
    """A campaign with an outplan and an outdial (so it may run)."""
    outplan = await make_outplan(t, source=TEL, max_try_count_0=1)
    outdial = await make_outdial(t)
    return await make_campaign(t, outplan_id=outplan["id"], outdial_id=outdial["id"], **body)


async def test_create_with_defaults(tenant: Tenant) -> None:
    created = await make_campaign(tenant)
    assert list(created) == CAMPAIGN_FIELDS
    assert created["customer_id"] == str(tenant.customer_id)
    assert created["type"] == "call"
    assert created["status"] == "stop"
    assert created["end_handle"] == "stop"
    assert created["service_level"] == 0
    assert created["actions"] == []
    for ref in ("outplan_id", "outdial_id", "queue_id", "next_campaign_id"):
        assert created[ref] == NIL
    assert created["max_concurrent_calls"] == 100
    assert created["calls_per_second"] == 10
    assert created["tm_create"] == created["tm_update"]
    assert created["tm_delete"] == SENTINEL


async def test_create_get_list_and_attach_outdial(tenant: Tenant) -> None:
    outplan = await make_outplan(tenant)
    outdial = await make_outdial(tenant)
    created = await make_campaign(
        tenant,
        name="spring",
        detail="d",
        type="call",
        service_level=80,
        end_handle="continue",
        actions=[TALK],
        outplan_id=outplan["id"],
        outdial_id=outdial["id"],
        max_concurrent_calls=5,
        calls_per_second=2.5,
    )
    assert created["service_level"] == 80
    assert created["end_handle"] == "continue"
    assert created["outplan_id"] == outplan["id"]
    assert created["outdial_id"] == outdial["id"]
    assert created["max_concurrent_calls"] == 5
    assert created["calls_per_second"] == 2.5
    [action] = created["actions"]
    assert action["type"] == "talk" and action["option"] == TALK["option"]
    assert action["next_id"] == NIL and action["id"] != NIL
    assert await tenant.ok("GET", f"/v1.0/campaigns/{created['id']}") == created
    assert (await tenant.ok("GET", "/v1.0/campaigns"))["result"] == [created]
    attached = await tenant.ok("GET", f"/v1.0/outdials/{outdial['id']}")
    assert attached["campaign_id"] == created["id"]


async def test_put_changes_only_the_fields_it_carries(tenant: Tenant, clock: FakeClock) -> None:
    created = await ready_campaign(tenant, name="n", detail="d", service_level=10)
    await clock.advance(1)
    path = f"/v1.0/campaigns/{created['id']}"
    updated = await tenant.ok("PUT", path, json={"name": "n2", "end_handle": "continue"})
    changed = {k for k in created if created[k] != updated[k]}
    assert changed == {"name", "end_handle", "tm_update"}
    updated = await tenant.ok(
        "PUT", path, json={"type": "flow", "max_concurrent_calls": 3, "calls_per_second": 0.5}
    )
    assert (updated["type"], updated["max_concurrent_calls"], updated["calls_per_second"]) == (
        "flow",
        3,
        0.5,
    )
    assert (updated["name"], updated["detail"], updated["service_level"]) == ("n2", "d", 10)


async def test_put_service_level(tenant: Tenant) -> None:
    created = await make_campaign(tenant, name="n")
    path = f"/v1.0/campaigns/{created['id']}/service_level"
    updated = await tenant.ok("PUT", path, json={"service_level": 95})
    assert (updated["service_level"], updated["name"]) == (95, "n")
    for bad in ({"service_level": 101}, {"service_level": -1}, {}, {"service_level": "9"}):
        error(await tenant.call("PUT", path, json=bad), 400, "INVALID_ARGUMENT")


async def test_put_actions(tenant: Tenant) -> None:
    created = await make_campaign(tenant, actions=[TALK])
    path = f"/v1.0/campaigns/{created['id']}/actions"
    first = "0d9f4c3e-5b7a-4c1e-9a57-1e2f3a4b5c6d"
    actions = [
        {"id": first, "type": "talk", "option": {"text": "hi"}},
        {"type": "sleep", "option": {"duration": 500}},
        {"type": "hangup"},
    ]
    updated = await tenant.ok("PUT", path, json={"actions": actions})
    assert [a["type"] for a in updated["actions"]] == ["talk", "sleep", "hangup"]
    assert updated["actions"][0]["id"] == first
    assert updated["actions"][2]["option"] == {}
    assert (await tenant.ok("PUT", path, json={"actions": []}))["actions"] == []
    for bad in (
        {"actions": [{"option": {}}]},
        {"actions": [{"type": ""}]},
        {"actions": [{"type": "sleep", "option": {"duration": -1}}]},
        {"actions": [{"type": "talk", "id": "nope"}]},
        {"actions": {"type": "talk"}},
        {},
    ):
        error(await tenant.call("PUT", path, json=bad), 400, "INVALID_ARGUMENT")


async def test_put_resource_info_moves_the_outdial(tenant: Tenant) -> None:
    created = await ready_campaign(tenant)
    old_outdial = created["outdial_id"]
    new_outdial = await make_outdial(tenant)
    new_outplan = await make_outplan(tenant)
    queue = (await tenant.ok("POST", "/v1.0/queues", json={"name": "q"}))["id"]
    path = f"/v1.0/campaigns/{created['id']}/resource_info"
    updated = await tenant.ok(
        "PUT",
        path,
        json={"outplan_id": new_outplan["id"], "outdial_id": new_outdial["id"], "queue_id": queue},
    )
    assert updated["outplan_id"] == new_outplan["id"]
    assert updated["outdial_id"] == new_outdial["id"]
    assert updated["queue_id"] == queue
    assert (await tenant.ok("GET", f"/v1.0/outdials/{old_outdial}"))["campaign_id"] == NIL
    moved = await tenant.ok("GET", f"/v1.0/outdials/{new_outdial['id']}")
    assert moved["campaign_id"] == created["id"]
    # only the carried fields change
    updated = await tenant.ok("PUT", path, json={"queue_id": ""})
    assert (updated["queue_id"], updated["outplan_id"]) == (NIL, new_outplan["id"])


async def test_put_next_campaign_id(tenant: Tenant) -> None:
    created = await make_campaign(tenant)
    follower = await make_campaign(tenant)
    path = f"/v1.0/campaigns/{created['id']}/next_campaign_id"
    chained = await tenant.ok("PUT", path, json={"next_campaign_id": follower["id"]})
    assert chained["next_campaign_id"] == follower["id"]
    assert (await tenant.ok("PUT", path, json={"next_campaign_id": ""}))["next_campaign_id"] == NIL
    missing = "6f1c2d3e-0000-4000-8000-000000000001"
    response = await tenant.call("PUT", path, json={"next_campaign_id": missing})
    error(response, 400, "INVALID_ARGUMENT", "INVALID_REFERENCE")
    response = await tenant.call("PUT", path, json={"next_campaign_id": "x"})
    error(response, 400, "INVALID_ARGUMENT", "INVALID_ID")


async def test_run_then_stop_without_an_engine(tenant: Tenant) -> None:
    created = await ready_campaign(tenant)
    path = f"/v1.0/campaigns/{created['id']}"
    running = await tenant.ok("PUT", f"{path}/status", json={"status": "run"})
    assert running["status"] == "run"
    assert (await tenant.ok("GET", path))["status"] == "run"
    # nothing is in flight, so stop goes straight to stop
    stopped = await tenant.ok("PUT", f"{path}/status", json={"status": "stop"})
    assert stopped["status"] == "stop"


async def test_run_needs_an_outplan_and_an_outdial(tenant: Tenant) -> None:
    created = await make_campaign(tenant)
    response = await tenant.call(
        "PUT", f"/v1.0/campaigns/{created['id']}/status", json={"status": "run"}
    )
    error(response, 400, "INVALID_ARGUMENT")
    assert (await tenant.ok("GET", f"/v1.0/campaigns/{created['id']}"))["status"] == "stop"


@pytest.mark.parametrize("status", ["stopping", "pause", "", "RUN", None, 1])
async def test_unknown_status_is_rejected(tenant: Tenant, status: object) -> None:
    created = await ready_campaign(tenant)
    response = await tenant.call(
        "PUT", f"/v1.0/campaigns/{created['id']}/status", json={"status": status}
    )
    error(response, 400, "INVALID_ARGUMENT")


async def test_delete_only_when_stopped(tenant: Tenant) -> None:
    created = await ready_campaign(tenant)
    path = f"/v1.0/campaigns/{created['id']}"
    await tenant.ok("PUT", f"{path}/status", json={"status": "run"})
    error(await tenant.call("DELETE", path), 409, "FAILED_PRECONDITION", "CAMPAIGN_NOT_STOPPED")
    assert (await tenant.ok("GET", path))["tm_delete"] == SENTINEL
    await tenant.ok("PUT", f"{path}/status", json={"status": "stop"})
    deleted = await tenant.ok("DELETE", path)
    assert deleted["tm_delete"] != SENTINEL
    assert await tenant.ok("GET", path) == deleted
    assert (await tenant.ok("GET", "/v1.0/campaigns"))["result"] == []
    # the outdial is free again
    outdial = await tenant.ok("GET", f"/v1.0/outdials/{created['outdial_id']}")
    assert outdial["campaign_id"] == NIL


async def test_missing_campaign_is_404(tenant: Tenant) -> None:
    missing = "6f1c2d3e-0000-4000-8000-000000000001"
    for method, path, body in [
        ("GET", "", None),
        ("PUT", "", {}),
        ("DELETE", "", None),
        ("PUT", "/status", {"status": "stop"}),
        ("PUT", "/service_level", {"service_level": 1}),
        ("PUT", "/actions", {"actions": []}),
        ("PUT", "/resource_info", {}),
        ("PUT", "/next_campaign_id", {}),
        ("GET", "/campaigncalls", None),
    ]:
        response = await tenant.call(method, f"/v1.0/campaigns/{missing}{path}", json=body)
        error(response, 404, "NOT_FOUND", "CAMPAIGN_NOT_FOUND")


# --- campaigncalls ---------------------------------------------------------------------------


async def test_campaigncalls_list_get_delete(tenant: Tenant, services: Services) -> None:
    campaign = await ready_campaign(tenant)
    other = await ready_campaign(tenant)
    done = await insert_campaigncall(services, tenant.customer_id, campaign, status="done")
    dialing = await insert_campaigncall(services, tenant.customer_id, campaign, status="dialing")
    elsewhere = await insert_campaigncall(services, tenant.customer_id, other)

    call = await tenant.ok("GET", f"/v1.0/campaigncalls/{done}")
    assert list(call) == CAMPAIGNCALL_FIELDS
    assert call["campaign_id"] == campaign["id"]
    assert call["outplan_id"] == campaign["outplan_id"]
    assert call["status"] == "done" and call["result"] == "success"
    assert call["destination"] == TEL
    assert call["tm_delete"] == SENTINEL

    everything = await tenant.ok("GET", "/v1.0/campaigncalls")
    assert {c["id"] for c in everything["result"]} == {done, dialing, elsewhere}
    mine = await tenant.ok("GET", f"/v1.0/campaigns/{campaign['id']}/campaigncalls")
    assert {c["id"] for c in mine["result"]} == {done, dialing}

    response = await tenant.call("DELETE", f"/v1.0/campaigncalls/{dialing}")
    error(response, 409, "FAILED_PRECONDITION", "CAMPAIGNCALL_NOT_DONE")
    deleted = await tenant.ok("DELETE", f"/v1.0/campaigncalls/{done}")
    assert deleted["tm_delete"] != SENTINEL
    assert await tenant.ok("GET", f"/v1.0/campaigncalls/{done}") == deleted
    left = await tenant.ok("GET", f"/v1.0/campaigns/{campaign['id']}/campaigncalls")
    assert [c["id"] for c in left["result"]] == [dialing]


async def test_missing_campaigncall_is_404(tenant: Tenant) -> None:
    missing = "6f1c2d3e-0000-4000-8000-000000000001"
    for method in ("GET", "DELETE"):
        response = await tenant.call(method, f"/v1.0/campaigncalls/{missing}")
        error(response, 404, "NOT_FOUND", "CAMPAIGNCALL_NOT_FOUND")
