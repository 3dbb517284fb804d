"""Outdials and their targets: every endpoint of SPEC 2, PUT semantics, soft delete."""

from __future__ import annotations

from outdial.clock import FakeClock
from tests.api.helpers import (
    NIL,
    OUTDIAL_FIELDS,
    SENTINEL,
    TEL,
    error,
    make_campaign,
    make_outdial,
    make_target,
)
from tests.conftest import Tenant

SIP = {"type": "sip", "target": "bob@pbx.example:5070", "target_name": "", "name": "", "detail": ""}


async def test_create_with_defaults(tenant: Tenant) -> None:
    created = await make_outdial(tenant)
    assert list(created) == OUTDIAL_FIELDS
    assert created["customer_id"] == str(tenant.customer_id)
    assert created["campaign_id"] == NIL
    assert (created["name"], created["detail"], created["data"]) == ("", "", "")
    assert created["tm_create"] == created["tm_update"] == "2026-01-05 12:00:00.000000"
    assert created["tm_delete"] == SENTINEL


async def test_create_get_and_list(tenant: Tenant) -> None:
    created = await make_outdial(tenant, name="list a", detail="about a", data='{"k": 1}')
    assert (created["name"], created["detail"], created["data"]) == (
        "list a",
        "about a",
        '{"k": 1}',
    )
    fetched = await tenant.ok("GET", f"/v1.0/outdials/{created['id']}")
    assert fetched == created
    listed = await tenant.ok("GET", "/v1.0/outdials")
    assert listed["result"] == [created]
    assert listed["next_page_token"]


async def test_create_attached_to_a_campaign(tenant: Tenant) -> None:
    campaign = await make_campaign(tenant)
    created = await make_outdial(tenant, campaign_id=campaign["id"])
    assert created["campaign_id"] == campaign["id"]


async def test_put_changes_only_the_fields_it_carries(tenant: Tenant, clock: FakeClock) -> None:
    created = await make_outdial(tenant, name="n", detail="d", data="x")
    await clock.advance(2)
    updated = await tenant.ok("PUT", f"/v1.0/outdials/{created['id']}", json={"name": "n2"})
    assert (updated["name"], updated["detail"], updated["data"]) == ("n2", "d", "x")
    assert updated["tm_create"] == created["tm_create"]
    assert updated["tm_update"] == "2026-01-05 12:00:02.000000"
    updated = await tenant.ok("PUT", f"/v1.0/outdials/{created['id']}", json={"detail": "d2"})
    assert (updated["name"], updated["detail"], updated["data"]) == ("n2", "d2", "x")
    # data is not part of PUT /outdials/{id}: it is ignored there
    updated = await tenant.ok("PUT", f"/v1.0/outdials/{created['id']}", json={"data": "ignored"})
    assert updated["data"] == "x"
    assert await tenant.ok("GET", f"/v1.0/outdials/{created['id']}") == updated


async def test_put_data(tenant: Tenant) -> None:
    created = await make_outdial(tenant, name="n", data="x")
    updated = await tenant.ok(
        "PUT", f"/v1.0/outdials/{created['id']}/data", json={"data": "new data"}
    )
    assert (updated["name"], updated["data"]) == ("n", "new data")


async def test_put_campaign_id_attaches_and_detaches(tenant: Tenant) -> None:
    campaign = await make_campaign(tenant)
    outdial = await make_outdial(tenant, name="n")
    path = f"/v1.0/outdials/{outdial['id']}/campaign_id"
    attached = await tenant.ok("PUT", path, json={"campaign_id": campaign["id"]})
    assert attached["campaign_id"] == campaign["id"]
    assert attached["name"] == "n"
    for detach in ({"campaign_id": ""}, {"campaign_id": NIL}, {"campaign_id": None}, {}):
        await tenant.ok("PUT", path, json={"campaign_id": campaign["id"]})
        assert (await tenant.ok("PUT", path, json=detach))["campaign_id"] == NIL


async def test_put_campaign_id_must_name_a_live_campaign(tenant: Tenant) -> None:
    outdial = await make_outdial(tenant)
    path = f"/v1.0/outdials/{outdial['id']}/campaign_id"
    missing = "6f1c2d3e-0000-4000-8000-000000000001"
    err = error(
        await tenant.call("PUT", path, json={"campaign_id": missing}),
        400,
        "INVALID_ARGUMENT",
        "INVALID_REFERENCE",
    )
    assert "campaign_id" in err["message"]
    campaign = await make_campaign(tenant)
    await tenant.ok("DELETE", f"/v1.0/campaigns/{campaign['id']}")
    error(
        await tenant.call("PUT", path, json={"campaign_id": campaign["id"]}),
        400,
        "INVALID_ARGUMENT",
        "INVALID_REFERENCE",
    )
    error(
        await tenant.call("PUT", path, json={"campaign_id": "not-a-uuid"}),
        400,
        "INVALID_ARGUMENT",
        "INVALID_ID",
    )


async def test_delete_is_soft(tenant: Tenant, clock: FakeClock) -> None:
    keep = await make_outdial(tenant, name="keep")
    gone = await make_outdial(tenant, name="gone")
    await clock.advance(5)
    deleted = await tenant.ok("DELETE", f"/v1.0/outdials/{gone['id']}")
    assert deleted["tm_delete"] == deleted["tm_update"] == "2026-01-05 12:00:05.000000"
    assert deleted["name"] == "gone"
    # still readable by id, left out of lists
    assert await tenant.ok("GET", f"/v1.0/outdials/{gone['id']}") == deleted
    listed = await tenant.ok("GET", "/v1.0/outdials")
    assert [o["id"] for o in listed["result"]] == [keep["id"]]
    # deleting again changes nothing
    await clock.advance(5)
    assert await tenant.ok("DELETE", f"/v1.0/outdials/{gone['id']}") == deleted


async def test_missing_outdial_is_404(tenant: Tenant) -> None:
    missing = "6f1c2d3e-0000-4000-8000-000000000001"
    for method, path in [
        ("GET", f"/v1.0/outdials/{missing}"),
        ("PUT", f"/v1.0/outdials/{missing}"),
        ("DELETE", f"/v1.0/outdials/{missing}"),
        ("PUT", f"/v1.0/outdials/{missing}/data"),
        ("PUT", f"/v1.0/outdials/{missing}/campaign_id"),
        ("GET", f"/v1.0/outdials/{missing}/targets"),
        ("POST", f"/v1.0/outdials/{missing}/targets"),
        ("GET", f"/v1.0/outdials/{missing}/targets/{missing}"),
        ("DELETE", f"/v1.0/outdials/{missing}/targets/{missing}"),
    ]:
        body = {"destination_0": TEL} if method in ("POST", "PUT") else None
        response = await tenant.call(method, path, json=body)
        error(response, 404, "NOT_FOUND", "OUTDIAL_NOT_FOUND")


# --- targets ---------------------------------------------------------------------------------


async def test_target_create_get_list(tenant: Tenant) -> None:
    outdial = await make_outdial(tenant)
    body = {
        "name": "alice",
        "detail": "first",
        "data": "crm:42",
        "destination_0": TEL,
        "destination_1": SIP,
        "destination_2": None,
        "destination_3": {"type": "extension", "target": "2001", "name": "desk"},
        "destination_4": {},
    }
    created = await make_target(tenant, outdial["id"], **body)
    assert created["outdial_id"] == outdial["id"]
    assert created["status"] == "idle"
    assert created["destination_0"] == TEL
    assert created["destination_1"] == SIP
    assert created["destination_2"] is None
    assert created["destination_3"] == {
        "type": "extension",
        "target": "2001",
        "target_name": "",
        "name": "desk",
        "detail": "",
    }
    assert created["destination_4"] is None
    assert [created[f"try_count_{n}"] for n in range(5)] == [0] * 5
    path = f"/v1.0/outdials/{outdial['id']}/targets"
    assert await tenant.ok("GET", f"{path}/{created['id']}") == created
    assert (await tenant.ok("GET", path))["result"] == [created]


async def test_target_read_only_fields_are_ignored(tenant: Tenant) -> None:
    outdial = await make_outdial(tenant)
    chosen_id = "1b3d7a92-7146-466d-90f5-4bc701ada4c0"
    created = await make_target(
        tenant,
        outdial["id"],
        id=chosen_id,
        outdial_id=NIL,
        status="done",
        try_count_0=7,
        tm_delete="2020-01-01 00:00:00.000000",
    )
    assert created["id"] != chosen_id
    assert created["outdial_id"] == outdial["id"]
    assert created["status"] == "idle"
    assert created["try_count_0"] == 0
    assert created["tm_delete"] == SENTINEL


async def test_target_delete_is_soft(tenant: Tenant, clock: FakeClock) -> None:
    outdial = await make_outdial(tenant)
    keep = await make_target(tenant, outdial["id"], name="keep")
    gone = await make_target(tenant, outdial["id"], name="gone")
    await clock.advance(1)
    path = f"/v1.0/outdials/{outdial['id']}/targets"
    deleted = await tenant.ok("DELETE", f"{path}/{gone['id']}")
    assert deleted["tm_delete"] == deleted["tm_update"] == "2026-01-05 12:00:01.000000"
    assert await tenant.ok("GET", f"{path}/{gone['id']}") == deleted
    assert [t["id"] for t in (await tenant.ok("GET", path))["result"]] == [keep["id"]]


async def test_target_of_another_outdial_is_404(tenant: Tenant) -> None:
    first = await make_outdial(tenant)
    second = await make_outdial(tenant)
    target = await make_target(tenant, first["id"])
    for method in ("GET", "DELETE"):
        response = await tenant.call(
            method, f"/v1.0/outdials/{second['id']}/targets/{target['id']}"
        )
        error(response, 404, "NOT_FOUND", "OUTDIAL_TARGET_NOT_FOUND")
    missing = "6f1c2d3e-0000-4000-8000-000000000001"
    response = await tenant.call("GET", f"/v1.0/outdials/{first['id']}/targets/{missing}")
    error(response, 404, "NOT_FOUND", "OUTDIAL_TARGET_NOT_FOUND")


async def test_no_targets_added_to_a_deleted_outdial(tenant: Tenant) -> None:
    outdial = await make_outdial(tenant)
    await tenant.ok("DELETE", f"/v1.0/outdials/{outdial['id']}")
    response = await tenant.call(
        "POST", f"/v1.0/outdials/{outdial['id']}/targets", json={"destination_0": TEL}
    )
    error(response, 409, "FAILED_PRECONDITION", "OUTDIAL_DELETED")
