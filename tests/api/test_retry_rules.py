"""Issue 17 over REST: outplan `retry_rules` and `order`, target `priority` (single create,
`targets_bulk`, `outdial targets import`), and `PUT .../targets/{id}/schedule`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from outdial.services.container import Services
from outdial.services.importer import ImportFailed, import_file
from tests.api.helpers import TEL, error
from tests.conftest import Tenant

RULES = [
    {"when": {"hangup_reason": "busy"}, "interval_ms": 300000, "max_tries": 3, "then": "retry"},
    {"when": {"hangup_reason": "noanswer"}, "interval_ms": 7200000, "then": "retry"},
    {"when": {"amd_result": "machine"}, "interval_ms": 86400000, "then": "next_destination"},
    {"when": {"hangup_reason": "failed", "sip_code": 503}, "interval_ms": 60000},
    {"when": {"disposition": "do_not_call"}, "then": "finish"},
]


async def test_outplan_takes_returns_and_changes_rules_and_order(tenant: Tenant) -> None:
    plain = await tenant.ok("POST", "/v1.0/outplans", json={"name": "p"})
    assert plain["retry_rules"] == [] and plain["order"] == "oldest_attempt_first"
    made = await tenant.ok(
        "POST", "/v1.0/outplans", json={"name": "p", "retry_rules": RULES, "order": "priority"}
    )
    expected = [{"interval_ms": 0, "max_tries": 0, "then": "retry", **r} for r in RULES]
    assert made["retry_rules"] == expected and made["order"] == "priority"
    got = await tenant.ok("GET", f"/v1.0/outplans/{made['id']}")
    assert got["retry_rules"] == expected
    # PUT dial_info changes only what it carries
    changed = await tenant.ok(
        "PUT", f"/v1.0/outplans/{made['id']}/dial_info", json={"order": "fifo"}
    )
    assert changed["order"] == "fifo" and changed["retry_rules"] == expected
    cleared = await tenant.ok(
        "PUT", f"/v1.0/outplans/{made['id']}/dial_info", json={"retry_rules": []}
    )
    assert cleared["retry_rules"] == [] and cleared["order"] == "fifo"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"retry_rules": [{"when": {"hangup_reason": "bussy"}}]},
            "retry_rules[0].when.hangup_reason",
        ),
        ({"retry_rules": [RULES[0], {"when": {}}]}, "retry_rules[1].when"),
        ({"retry_rules": [{"when": {"sip_code": 700}}]}, "retry_rules[0].when.sip_code"),
        (
            {"retry_rules": [{"when": {"amd_result": "machine"}, "then": "x"}]},
            "retry_rules[0].then",
        ),
        ({"retry_rules": [RULES[0]] * 21}, "retry_rules"),
        ({"order": "random"}, "order"),
    ],
)
async def test_bad_rules_are_a_400_naming_the_field(
    tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    response = await tenant.call("POST", "/v1.0/outplans", json={"name": "p", **body})
    assert error(response, 400, "INVALID_ARGUMENT")["message"].startswith(field)


async def test_target_priority_single_and_bulk(tenant: Tenant) -> None:
    outdial = await tenant.ok("POST", "/v1.0/outdials", json={"name": "l"})
    base = f"/v1.0/outdials/{outdial['id']}"
    plain = await tenant.ok("POST", f"{base}/targets", json={"destination_0": TEL})
    assert plain["priority"] == 0
    high = await tenant.ok("POST", f"{base}/targets", json={"destination_0": TEL, "priority": 9})
    assert high["priority"] == 9
    assert (await tenant.ok("GET", f"{base}/targets/{high['id']}"))["priority"] == 9
    listed = await tenant.ok("GET", f"{base}/targets")
    assert sorted(t["priority"] for t in listed["result"]) == [0, 9]
    bulk = await tenant.ok(
        "POST",
        f"{base}/targets_bulk",
        json=[{"destination_0": "tel:+15550001", "priority": 4}, {"destination_0": "+15550002"}],
    )
    assert [t["priority"] for t in bulk["result"]] == [4, 0]
    for bad in (10, -1):
        response = await tenant.call(
            "POST", f"{base}/targets", json={"destination_0": TEL, "priority": bad}
        )
        assert response.status_code == 400


async def test_import_takes_a_priority_column(services: Services, tmp_path: Path) -> None:
    me = (await services.customers.create("importer")).id
    outdial = await services.outdials.create(me, {"name": "list"})
    csv_file = tmp_path / "t.csv"
    csv_file.write_text("name,destination_0,priority\na,tel:+15550001,7\nb,tel:+15550002,\n")
    await import_file(services.ctx, outdial.id, csv_file)
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text(json.dumps({"destination_0": "tel:+15550003", "priority": 2}) + "\n")
    await import_file(services.ctx, outdial.id, jsonl)
    page = await services.targets.list(me, outdial.id, None, 100)
    assert sorted(t.priority for t in page.items) == [0, 2, 7]
    bad = tmp_path / "bad.csv"
    bad.write_text("destination_0,priority\ntel:+15550001,11\ntel:+15550002,high\n")
    with pytest.raises(ImportFailed) as caught:
        await import_file(services.ctx, outdial.id, bad)
    assert [e.split(":")[0] for e in caught.value.errors] == ["line 2", "line 3"]
    assert all("priority" in e for e in caught.value.errors)


async def test_schedule_over_rest(tenant: Tenant) -> None:
    outdial = await tenant.ok("POST", "/v1.0/outdials", json={"name": "l"})
    base = f"/v1.0/outdials/{outdial['id']}"
    target = await tenant.ok("POST", f"{base}/targets", json={"destination_0": TEL})
    path = f"{base}/targets/{target['id']}/schedule"
    answer = await tenant.ok("PUT", path, json={"not_before": "2030-01-02T09:30:00+01:00"})
    assert answer["id"] == target["id"] and answer["status"] == "idle"
    response = await tenant.call("PUT", path, json={"not_before": "soon"})
    assert "not_before" in error(response, 400, "INVALID_ARGUMENT")["message"]
    response = await tenant.call("PUT", path, json={"not_before": "2030-01-01", "destination": 3})
    error(response, 409, "FAILED_PRECONDITION", "DESTINATION_NOT_SET")
    missing = f"{base}/targets/6f1c2d3e-0000-4000-8000-000000000001/schedule"
    response = await tenant.call("PUT", missing, json={"not_before": "2030-01-01T00:00:00Z"})
    error(response, 404, "NOT_FOUND", "OUTDIAL_TARGET_NOT_FOUND")
    await tenant.ok("DELETE", f"{base}/targets/{target['id']}")
    response = await tenant.call("PUT", path, json={"not_before": "2030-01-01T00:00:00Z"})
    error(response, 409, "FAILED_PRECONDITION", "TARGET_NOT_IDLE")
