"""/v1.0/dnclists and their entries (issue 6): CRUD, validation, bulk, isolation."""

from __future__ import annotations

from tests.api.helpers import SENTINEL, error
from tests.conftest import Tenant

DNC_FIELDS = ["id", "customer_id", "name", "detail", "tm_create", "tm_update", "tm_delete"]
ENTRY_FIELDS = [
    "id",
    "customer_id",
    "dnclist_id",
    "number",
    "expire",
    "detail",
    "tm_create",
    "tm_update",
    "tm_delete",
]


async def test_dnclist_crud(tenant: Tenant) -> None:
    created = await tenant.ok("POST", "/v1.0/dnclists", json={"name": "opt-outs", "detail": "d"})
    assert list(created) == DNC_FIELDS
    assert created["customer_id"] == str(tenant.customer_id)
    assert created["tm_delete"] == SENTINEL and created["tm_update"] == created["tm_create"]
    path = f"/v1.0/dnclists/{created['id']}"
    assert await tenant.ok("GET", path) == created
    updated = await tenant.ok("PUT", path, json={"name": "renamed"})
    assert (updated["name"], updated["detail"]) == ("renamed", "d")
    listed = await tenant.ok("GET", "/v1.0/dnclists")
    assert [d["id"] for d in listed["result"]] == [created["id"]]
    deleted = await tenant.ok("DELETE", path)
    assert deleted["tm_delete"] != SENTINEL
    assert (await tenant.ok("GET", "/v1.0/dnclists"))["result"] == []
    assert (await tenant.ok("GET", path))["tm_delete"] == deleted["tm_delete"]
    response = await tenant.call("POST", f"{path}/entries", json={"number": "+15550001234"})
    error(response, 409, "FAILED_PRECONDITION", "DNCLIST_DELETED")


async def test_entries(tenant: Tenant) -> None:
    dnc = await tenant.ok("POST", "/v1.0/dnclists", json={"name": "x"})
    base = f"/v1.0/dnclists/{dnc['id']}/entries"
    one = await tenant.ok(
        "POST", base, json={"number": "tel:+1 (212) 555-0100", "detail": "asked on call"}
    )
    assert list(one) == ENTRY_FIELDS
    assert (one["number"], one["expire"], one["dnclist_id"]) == ("+12125550100", None, dnc["id"])
    timed = await tenant.ok(
        "POST", base, json={"number": "+12125550101", "expire": "2026-02-01T00:00:00Z"}
    )
    assert timed["expire"] == "2026-02-01 00:00:00.000000"
    wire = await tenant.ok(
        "POST", base, json={"number": "+12125550102", "expire": "2026-02-01 10:00:00.000000"}
    )
    assert wire["expire"] == "2026-02-01 10:00:00.000000"
    page = await tenant.ok("GET", base)
    assert {e["id"] for e in page["result"]} == {one["id"], timed["id"], wire["id"]}
    assert await tenant.ok("GET", f"{base}/{one['id']}") == one
    gone = await tenant.ok("DELETE", f"{base}/{one['id']}")
    assert gone["tm_delete"] != SENTINEL
    assert len((await tenant.ok("GET", base))["result"]) == 2


async def test_entry_validation(tenant: Tenant) -> None:
    dnc = await tenant.ok("POST", "/v1.0/dnclists", json={"name": "x"})
    base = f"/v1.0/dnclists/{dnc['id']}/entries"
    for body, field in [
        ({}, "number"),
        ({"number": "12125550100"}, "number"),
        ({"number": "+12"}, "number"),
        ({"number": "+1212555010a"}, "number"),
        ({"number": "+12125550100", "expire": "tomorrow"}, "expire"),
    ]:
        err = error(await tenant.call("POST", base, json=body), 400, "INVALID_ARGUMENT")
        assert err["message"].startswith(field), err
    err = error(await tenant.call("POST", base, json={"number": 5}), 400, "INVALID_ARGUMENT")
    assert "number" in err["message"]
    error(await tenant.call("GET", f"{base}/not-a-uuid"), 400, "INVALID_ARGUMENT", "INVALID_ID")
    missing = "/v1.0/dnclists/6f1c1d5e-3f0b-4b55-9c43-9a0b6a0c0b01"
    error(await tenant.call("GET", missing), 404, "NOT_FOUND", "DNCLIST_NOT_FOUND")
    error(
        await tenant.call("DELETE", f"{base}/6f1c1d5e-3f0b-4b55-9c43-9a0b6a0c0b01"),
        404,
        "NOT_FOUND",
        "DNCLIST_ENTRY_NOT_FOUND",
    )


async def test_bulk_is_all_or_nothing(tenant: Tenant) -> None:
    dnc = await tenant.ok("POST", "/v1.0/dnclists", json={"name": "x"})
    bulk = f"/v1.0/dnclists/{dnc['id']}/entries_bulk"
    items = [{"number": f"+1212555{i:04d}"} for i in range(500)]
    done = await tenant.ok("POST", bulk, json=items)
    assert done["count"] == 500 and done["result"][0]["number"] == "+12125550000"
    bad = [{"number": "+13125550000"}, {"number": "nope"}]
    err = error(await tenant.call("POST", bulk, json=bad), 400, "INVALID_ARGUMENT")
    assert err["message"].startswith("item 1: number")
    error(await tenant.call("POST", bulk, json=[]), 400, "INVALID_ARGUMENT")
    error(await tenant.call("POST", bulk, json=[{}] * 10_001), 400, "INVALID_ARGUMENT")
    total = 0
    token = ""
    while True:
        page = await tenant.ok(
            "GET", f"/v1.0/dnclists/{dnc['id']}/entries?page_size=100&page_token={token}"
        )
        total += len(page["result"])
        token = page["next_page_token"]
        if not page["result"]:
            break
    assert total == 500


async def test_isolation(tenant: Tenant, other_tenant: Tenant) -> None:
    dnc = await tenant.ok("POST", "/v1.0/dnclists", json={"name": "mine"})
    entry = await tenant.ok(
        "POST", f"/v1.0/dnclists/{dnc['id']}/entries", json={"number": "+12125550100"}
    )
    path = f"/v1.0/dnclists/{dnc['id']}"
    for method, url, body in [
        ("GET", path, None),
        ("PUT", path, {"name": "stolen"}),
        ("DELETE", path, None),
        ("GET", f"{path}/entries", None),
        ("POST", f"{path}/entries", {"number": "+12125550199"}),
        ("POST", f"{path}/entries_bulk", [{"number": "+12125550199"}]),
        ("GET", f"{path}/entries/{entry['id']}", None),
        ("DELETE", f"{path}/entries/{entry['id']}", None),
    ]:
        response = await other_tenant.call(method, url, json=body)
        error(response, 404, "NOT_FOUND", "DNCLIST_NOT_FOUND")
    assert (await other_tenant.ok("GET", "/v1.0/dnclists"))["result"] == []
    assert (await tenant.ok("GET", path))["name"] == "mine"
    response = await tenant.call("GET", path, headers={"Authorization": ""})
    assert response.status_code == 401
