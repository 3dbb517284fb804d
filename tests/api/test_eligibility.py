"""GET .../targets/{id}/eligibility, /campaigns/{id}/preview and /campaigns/{id}/compliance
(issue 6). The FakeClock starts on Monday 2026-01-05 12:00 UTC."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.services.container import Services
from outdial.storage.tables import campaigncalls
from tests.api.helpers import error, insert_campaigncall, make_campaign, make_outdial
from tests.conftest import Tenant
from tests.engine.harness import Harness

NEW_YORK = "+12125550101"  # 07:00 local at the start
LONDON = "+442079460101"  # 12:00 local
WINDOW = {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}


def tel(number: str) -> dict[str, str]:
    return {"type": "tel", "target": number}


async def _setup(t: Tenant, **plan: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    body = {"source": tel("+15550000000"), "dial_timeout": 5000, "max_try_count_0": 2}
    body["max_try_count_1"] = 1
    body.update(plan)
    outplan = await t.ok("POST", "/v1.0/outplans", json=body)
    outdial = await make_outdial(t, name="list")
    campaign = await make_campaign(
        t,
        name="c",
        outplan_id=outplan["id"],
        outdial_id=outdial["id"],
        actions=[{"type": "talk", "option": {"text": "hi"}}],
        calls_per_second=100,
    )
    await t.ok(
        "PUT", f"/v1.0/outdials/{outdial['id']}/campaign_id", json={"campaign_id": campaign["id"]}
    )
    return outplan, outdial, campaign


async def _target(t: Tenant, outdial: dict[str, Any], *numbers: str, **extra: Any) -> str:
    body = {f"destination_{n}": tel(x) for n, x in enumerate(numbers)} | extra
    created = await t.ok("POST", f"/v1.0/outdials/{outdial['id']}/targets", json=body)
    return str(created["id"])


async def _why(t: Tenant, outdial: dict[str, Any], target: str, query: str = "") -> Any:
    return await t.ok("GET", f"/v1.0/outdials/{outdial['id']}/targets/{target}/eligibility{query}")


async def test_outplan_and_target_fields(tenant: Tenant) -> None:
    outplan, outdial, _ = await _setup(
        tenant, call_window=WINDOW, max_attempts_per_number_24h=3, min_number_gap=60000
    )
    assert outplan["call_window"] == {
        "days": [1, 2, 3, 4, 5],
        "start": "09:00",
        "end": "17:00",
        "holidays": [],
        "timezone": "UTC",
    }
    assert (outplan["max_attempts_per_number_24h"], outplan["min_number_gap"]) == (3, 60000)
    path = f"/v1.0/outplans/{outplan['id']}/dial_info"
    changed = await tenant.ok("PUT", path, json={"call_window": None, "min_number_gap": 0})
    assert changed["call_window"] is None and changed["max_attempts_per_number_24h"] == 3
    plain = await tenant.ok("POST", "/v1.0/outplans", json={})
    assert (
        plain["call_window"],
        plain["max_attempts_per_number_24h"],
        plain["min_number_gap"],
    ) == (
        None,
        0,
        0,
    )
    bad = await tenant.call("PUT", path, json={"call_window": {"start": "25:00", "end": "10:00"}})
    assert error(bad, 400, "INVALID_ARGUMENT")["message"].startswith("call_window.start")
    bad = await tenant.call("PUT", path, json={"min_number_gap": -1})
    error(bad, 400, "INVALID_ARGUMENT")
    target = await tenant.ok(
        "POST",
        f"/v1.0/outdials/{outdial['id']}/targets",
        json={"destination_0": tel(NEW_YORK), "timezone": "Europe/Paris"},
    )
    assert target["timezone"] == "Europe/Paris"
    bad = await tenant.call(
        "POST",
        f"/v1.0/outdials/{outdial['id']}/targets",
        json={"destination_0": tel(NEW_YORK), "timezone": "Mars/Olympus"},
    )
    assert error(bad, 400, "INVALID_ARGUMENT")["message"].startswith("timezone")
    bulk = await tenant.ok(
        "POST",
        f"/v1.0/outdials/{outdial['id']}/targets_bulk",
        json=[{"destination_0": "tel:+12125550100", "timezone": "America/Chicago"}],
    )
    assert bulk["result"][0]["timezone"] == "America/Chicago"


async def test_eligibility_reasons(tenant: Tenant, services: Services) -> None:
    _, outdial, campaign = await _setup(tenant, call_window=WINDOW)
    ny = await _target(tenant, outdial, NEW_YORK)
    london = await _target(tenant, outdial, LONDON)
    paris_zone = await _target(tenant, outdial, NEW_YORK, timezone="Europe/Paris")
    dnc = await tenant.ok("POST", "/v1.0/dnclists", json={"name": "opt-outs"})
    await tenant.ok("POST", f"/v1.0/dnclists/{dnc['id']}/entries", json={"number": "+15557770001"})
    listed_then_ok = await _target(tenant, outdial, "+15557770001", LONDON)
    only_listed = await _target(tenant, outdial, "+15557770001")

    # the campaign is stopped: nothing is dialable, and it says so
    answer = await _why(tenant, outdial, london)
    assert answer["dialable_now"] is False
    assert answer["campaign_id"] == campaign["id"]
    assert [r["reason"] for r in answer["reasons"]] == ["campaign_not_running"]

    await tenant.ok("PUT", f"/v1.0/campaigns/{campaign['id']}/status", json={"status": "run"})
    answer = await _why(tenant, outdial, london)
    assert {k: answer[k] for k in ("dialable_now", "campaign_id", "reasons")} == {
        "dialable_now": True,
        "campaign_id": campaign["id"],
        "reasons": [],
    }
    assert (answer["priority"], answer["order"]) == (0, "oldest_attempt_first")
    assert (await _why(tenant, outdial, paris_zone))["dialable_now"] is True
    answer = await _why(tenant, outdial, ny)
    assert answer["dialable_now"] is False
    [reason] = answer["reasons"]
    assert reason["reason"] == "window_closed" and reason["destination_index"] == 0
    assert reason["clears_at"] == "2026-01-05 14:00:00.000000"
    assert "America/New_York Mon 07:00" in reason["detail"]

    answer = await _why(tenant, outdial, listed_then_ok)
    assert answer["dialable_now"] is True
    assert [(r["reason"], r["destination_index"]) for r in answer["reasons"]] == [("dnc_listed", 0)]
    answer = await _why(tenant, outdial, only_listed)
    assert answer["dialable_now"] is False
    assert [(r["reason"], r["destination_index"]) for r in answer["reasons"]] == [("dnc_listed", 0)]
    assert "opt-outs" in answer["reasons"][0]["detail"]

    # explicit campaign, a campaign of another outdial, another customer's target
    assert (await _why(tenant, outdial, ny, f"?campaign_id={campaign['id']}"))["reasons"]
    other_outdial = await make_outdial(tenant, name="other")
    response = await tenant.call(
        "GET",
        f"/v1.0/outdials/{other_outdial['id']}/targets/{ny}/eligibility",
    )
    error(response, 404, "NOT_FOUND", "OUTDIAL_TARGET_NOT_FOUND")
    response = await tenant.call(
        "GET",
        f"/v1.0/outdials/{outdial['id']}/targets/{ny}/eligibility?campaign_id=nope",
    )
    error(response, 400, "INVALID_ARGUMENT", "INVALID_ID")


async def test_eligibility_isolation(tenant: Tenant, other_tenant: Tenant) -> None:
    _, outdial, campaign = await _setup(tenant)
    target = await _target(tenant, outdial, LONDON)
    response = await other_tenant.call(
        "GET", f"/v1.0/outdials/{outdial['id']}/targets/{target}/eligibility"
    )
    error(response, 404, "NOT_FOUND", "OUTDIAL_NOT_FOUND")
    for tail in ("preview", "compliance"):
        response = await other_tenant.call("GET", f"/v1.0/campaigns/{campaign['id']}/{tail}")
        error(response, 404, "NOT_FOUND", "CAMPAIGN_NOT_FOUND")


async def test_number_limits_in_eligibility(tenant: Tenant, services: Services) -> None:
    _, outdial, campaign = await _setup(
        tenant, max_attempts_per_number_24h=1, min_number_gap=3_600_000
    )
    await tenant.ok("PUT", f"/v1.0/campaigns/{campaign['id']}/status", json={"status": "run"})
    target = await _target(tenant, outdial, LONDON)
    # an earlier call to the number, by any campaign of the customer
    call_id = await insert_campaigncall(services, tenant.customer_id, campaign)
    async with services.ctx.db.write() as conn:
        await conn.execute(
            sa.update(campaigncalls)
            .where(campaigncalls.c.id == uuid.UUID(call_id))
            .values(destination_number=LONDON)
        )
    answer = await _why(tenant, outdial, target)
    assert answer["dialable_now"] is False
    got = {r["reason"]: r["clears_at"] for r in answer["reasons"]}
    assert got == {
        "number_gap": "2026-01-05 13:00:00.000000",
        "number_limit": "2026-01-06 12:00:00.000000",
    }


async def test_preview_counts(tenant: Tenant) -> None:
    _, outdial, campaign = await _setup(tenant, call_window=WINDOW)
    for number in (LONDON, "+442079460102", NEW_YORK):
        await _target(tenant, outdial, number)
    dnc = await tenant.ok("POST", "/v1.0/dnclists", json={"name": "x"})
    await tenant.ok("POST", f"/v1.0/dnclists/{dnc['id']}/entries", json={"number": LONDON})
    gone = await _target(tenant, outdial, "+442079460103")
    await tenant.ok("DELETE", f"/v1.0/outdials/{outdial['id']}/targets/{gone}")
    preview = await tenant.ok("GET", f"/v1.0/campaigns/{campaign['id']}/preview")
    assert preview["campaign_status"] == "stop"
    assert (preview["total"], preview["dialable_now"]) == (3, 1)
    assert preview["later"] == {"window_closed": 1}
    assert preview["never"] == {"dnc_listed": 1}


async def test_compliance_log(tenant: Tenant, services: Services, clock: FakeClock) -> None:
    _, outdial, campaign = await _setup(tenant, call_window=WINDOW, max_try_count_0=1)
    for number in (LONDON, NEW_YORK, "+15557770001"):
        await _target(tenant, outdial, number)
    dnc = await tenant.ok("POST", "/v1.0/dnclists", json={"name": "x"})
    await tenant.ok("POST", f"/v1.0/dnclists/{dnc['id']}/entries", json={"number": "+15557770001"})
    async with Harness(services, clock) as h:
        await tenant.ok("PUT", f"/v1.0/campaigns/{campaign['id']}/status", json={"status": "run"})
        await h.tick(0.5, rounds=6)
        await clock.advance(2 * 3600)
        await h.tick(0.5, rounds=6)
    log = await tenant.ok("GET", f"/v1.0/campaigns/{campaign['id']}/compliance")
    items = log["result"]
    attempts = [i for i in items if i["type"] == "attempt"]
    skips = [i for i in items if i["type"] == "skip"]
    assert sorted(a["number"] for a in attempts) == sorted([LONDON, NEW_YORK])
    assert all(a["inside_window"] and not a["dnc_listed"] for a in attempts)
    ny = next(a for a in attempts if a["number"] == NEW_YORK)
    assert ny["zones"] == ["America/New_York"]
    assert ny["local_time"]["America/New_York"].startswith("2026-01-05 09:00:0")
    assert sorted(s["reason"] for s in skips) == ["dnc_listed", "window_closed"]
    times = [i["time"] for i in items]
    assert times == sorted(times, reverse=True)
    first = await tenant.ok("GET", f"/v1.0/campaigns/{campaign['id']}/compliance?page_size=2")
    assert len(first["result"]) == 2 and first["next_page_token"]
    rest = await tenant.ok(
        "GET",
        f"/v1.0/campaigns/{campaign['id']}/compliance?page_size=100"
        f"&page_token={first['next_page_token']}",
    )
    assert [i["id"] for i in first["result"] + rest["result"]] == [i["id"] for i in items]


async def test_compliance_log_keeps_the_window_of_each_attempt(
    tenant: Tenant, services: Services, clock: FakeClock
) -> None:
    """Narrowing the window later must not make earlier attempts look outside it."""
    outplan, outdial, campaign = await _setup(tenant, call_window=WINDOW, max_try_count_0=1)
    await _target(tenant, outdial, LONDON)  # 12:00 in London: inside 09:00-17:00
    async with Harness(services, clock) as h:
        await tenant.ok("PUT", f"/v1.0/campaigns/{campaign['id']}/status", json={"status": "run"})
        await h.tick(0.5, rounds=6)
    body = {"source": tel("+15550000000"), "dial_timeout": 5000, "max_try_count_0": 1}
    body["call_window"] = {**WINDOW, "start": "15:00"}  # now closed at 12:00
    await tenant.ok("PUT", f"/v1.0/outplans/{outplan['id']}/dial_info", json=body)
    log = await tenant.ok("GET", f"/v1.0/campaigns/{campaign['id']}/compliance")
    (attempt,) = [i for i in log["result"] if i["type"] == "attempt"]
    assert attempt["number"] == LONDON and attempt["inside_window"] is True
    async with services.ctx.db.read() as conn:
        kept = (
            (
                await conn.execute(
                    sa.select(campaigncalls.c.call_window).where(
                        campaigncalls.c.campaign_id == uuid.UUID(campaign["id"])
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(kept) == 1 and '"start":"09:00"' in str(kept[0])


async def test_no_dialable_destination_through_the_api(
    tenant: Tenant, services: Services, clock: FakeClock
) -> None:
    """Issue 19 end to end over the REST API: eligibility and preview say `never:
    no_dialable_destination` before the run (also after PUT dial_info), the campaign runs and
    stops, the targets read `done` and the compliance log names the reason."""
    _, outdial, campaign = await _setup(tenant, max_try_count_1=0)
    created = await tenant.ok(
        "POST", f"/v1.0/outdials/{outdial['id']}/targets", json={"destination_1": tel(LONDON)}
    )
    disabled = str(created["id"])
    dialable = await _target(tenant, outdial, NEW_YORK)

    answer = await _why(tenant, outdial, disabled)
    assert answer["dialable_now"] is False
    assert [(r["reason"], r["destination_index"]) for r in answer["reasons"]] == [
        ("campaign_not_running", None),
        ("no_dialable_destination", None),
        ("destination_exhausted", 1),
    ]
    assert answer["reasons"][1]["detail"] == (
        "no destination can be dialed: destination 1 is disabled by the outplan (max_try_count_1 0)"
    )
    assert answer["reasons"][1]["clears_at"] is None
    preview = await tenant.ok("GET", f"/v1.0/campaigns/{campaign['id']}/preview")
    assert (preview["total"], preview["dialable_now"]) == (2, 1)
    assert (preview["later"], preview["never"]) == ({}, {"no_dialable_destination": 1})

    # the outplan changes after the targets were loaded: now neither can be dialed
    await tenant.ok(
        "PUT", f"/v1.0/outplans/{campaign['outplan_id']}/dial_info", json={"max_try_count_0": 0}
    )
    preview = await tenant.ok("GET", f"/v1.0/campaigns/{campaign['id']}/preview")
    assert (preview["dialable_now"], preview["never"]) == (0, {"no_dialable_destination": 2})
    assert [r["reason"] for r in (await _why(tenant, outdial, dialable))["reasons"]] == [
        "campaign_not_running",
        "no_dialable_destination",
        "destination_exhausted",
    ]

    async with Harness(services, clock) as h:
        await tenant.ok("PUT", f"/v1.0/campaigns/{campaign['id']}/status", json={"status": "run"})
        await h.tick(0.5, rounds=3)
        await h.tick(1.0, rounds=2)
    got = await tenant.ok("GET", f"/v1.0/campaigns/{campaign['id']}")
    assert got["status"] == "stop"
    for target in (disabled, dialable):
        read = await tenant.ok("GET", f"/v1.0/outdials/{outdial['id']}/targets/{target}")
        assert read["status"] == "done"
        assert [r["reason"] for r in (await _why(tenant, outdial, target))["reasons"]] == ["done"]
    calls = await tenant.ok("GET", f"/v1.0/campaigns/{campaign['id']}/campaigncalls")
    assert calls["result"] == []
    log = (await tenant.ok("GET", f"/v1.0/campaigns/{campaign['id']}/compliance"))["result"]
    assert sorted((i["type"], i["outdial_target_id"], i["reason"]) for i in log) == sorted(
        [
            ("skip", disabled, "no_dialable_destination"),
            ("skip", dialable, "no_dialable_destination"),
        ]
    )
    by_target = {i["outdial_target_id"]: i for i in log}
    assert (by_target[disabled]["destination_index"], by_target[disabled]["number"]) == (1, LONDON)
    assert by_target[dialable]["detail"] == (
        "no destination can be dialed: destination 0 is disabled by the outplan (max_try_count_0 0)"
    )
    preview = await tenant.ok("GET", f"/v1.0/campaigns/{campaign['id']}/preview")
    assert (preview["dialable_now"], preview["never"]) == (0, {"done": 2})
