"""The seed page's example target must round-trip through the API exactly."""

from __future__ import annotations

import re

from tests.conftest import Tenant

SEED_EXAMPLE = {
    "id": "1b3d7a92-7146-466d-90f5-4bc701ada4c0",
    "outdial_id": "40bea034-1d17-474d-a5de-da00d0861c69",
    "name": "test destination 0",
    "detail": "test detatination 0 detail",
    "data": "test data",
    "status": "done",
    "destination_0": {
        "type": "tel",
        "target": "+821100000001",
        "target_name": "",
        "name": "",
        "detail": "",
    },
    "destination_1": None,
    "destination_2": None,
    "destination_3": None,
    "destination_4": None,
    "try_count_0": 1,
    "try_count_1": 0,
    "try_count_2": 0,
    "try_count_3": 0,
    "try_count_4": 0,
    "tm_create": "2022-04-30 17:52:16.484341",
    "tm_update": "2022-04-30 17:53:51.183345",
    "tm_delete": "9999-01-01 00:00:00.000000",
}
WIRE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")
SERVER_SET = {"id", "outdial_id", "status", "tm_create", "tm_update"} | {
    f"try_count_{n}" for n in range(5)
}


async def test_seed_example_round_trips(tenant: Tenant) -> None:
    outdial = await tenant.ok(
        "POST", "/v1.0/outdials", json={"name": "list", "detail": "d", "data": "x"}
    )
    body = {k: SEED_EXAMPLE[k] for k in ("name", "detail", "data")}
    body.update({f"destination_{n}": SEED_EXAMPLE[f"destination_{n}"] for n in range(5)})
    created = await tenant.ok("POST", f"/v1.0/outdials/{outdial['id']}/targets", json=body)
    fetched = await tenant.ok("GET", f"/v1.0/outdials/{outdial['id']}/targets/{created['id']}")

    # the seed's fields first, in its order; later features add fields after them (SPEC 1)
    assert list(fetched)[: len(SEED_EXAMPLE)] == list(SEED_EXAMPLE)
    assert set(fetched) - set(SEED_EXAMPLE) <= {"timezone", "priority"}
    assert fetched == created
    for key, value in SEED_EXAMPLE.items():
        if key not in SERVER_SET:
            assert fetched[key] == value, key
    assert fetched["outdial_id"] == outdial["id"]
    assert fetched["status"] == "idle"
    assert all(fetched[f"try_count_{n}"] == 0 for n in range(5))
    assert WIRE_TIME.fullmatch(fetched["tm_create"])
    assert fetched["tm_update"] == fetched["tm_create"]
    assert fetched["tm_delete"] == "9999-01-01 00:00:00.000000"


async def test_omitted_and_empty_destinations_are_null(tenant: Tenant) -> None:
    outdial = await tenant.ok("POST", "/v1.0/outdials", json={})
    created = await tenant.ok(
        "POST",
        f"/v1.0/outdials/{outdial['id']}/targets",
        json={
            "destination_0": {},
            "destination_2": {"type": "sip", "target": "sip:bob@pbx.example:5070"},
            "destination_3": None,
        },
    )
    assert created["destination_0"] is None
    assert created["destination_1"] is None
    assert created["destination_2"] == {
        "type": "sip",
        "target": "bob@pbx.example:5070",
        "target_name": "",
        "name": "",
        "detail": "",
    }
    assert created["destination_3"] is None
