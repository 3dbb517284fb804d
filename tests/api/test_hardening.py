"""Issue 10, items 4 and 8: bounded actions and the smaller hardening items, each reproduced.

Authentication before the body, JSON content type on cookie-authenticated writes, no slash
redirects, bounded metric labels and /metrics off, no next_campaign_id cycles, status events
that match the final state under a race (PostgreSQL), webhook secrets shown once and rotated,
and JSON Lines rows nested too deep.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from outdial.api.app import create_app
from outdial.services.container import Services
from outdial.services.importer import ImportFailed, import_file
from outdial.storage.tables import events
from tests.api.helpers import error, make_campaign
from tests.conftest import Tenant

# ---- authentication before the body --------------------------------------------------------


async def test_an_unauthenticated_request_is_401_whatever_its_body(
    client: httpx.AsyncClient,
) -> None:
    for body in (b"{not json", b'{"name": "x"}', b"[" * 5000):
        r = await client.post("/v1.0/outdials", content=body)
        error(r, 401, "UNAUTHENTICATED")
    r = await client.post("/v1.0/outdials?token=wrong", content=b"{not json")
    error(r, 401, "UNAUTHENTICATED", "INVALID_CREDENTIALS")


async def test_the_body_of_an_unauthenticated_request_is_never_read(services: Services) -> None:
    app = create_app(services)
    reads = 0

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * (26 * 1024 * 1024), "more_body": False}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1.0/outdials",
        "raw_path": b"/v1.0/outdials",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"27262976")],
        "client": ("127.0.0.1", 5000),
        "server": ("outdial.test", 80),
        "app": app,
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 401
    assert reads == 0


async def test_a_known_key_with_bad_json_is_still_400(tenant: Tenant) -> None:
    r = await tenant.call("POST", "/v1.0/outdials", content=b"{not json")
    error(r, 400, "INVALID_ARGUMENT", "INVALID_JSON_BODY")


# ---- cookies: writes need a JSON content type ------------------------------------------------


async def test_cookie_writes_need_a_json_content_type(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    cookie = {"Cookie": f"token={tenant.token}"}
    for kind in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data", None):
        headers = {**cookie, **({"Content-Type": kind} if kind else {})}
        r = await client.post("/v1.0/outdials", content=b'{"name": "csrf"}', headers=headers)
        error(r, 415, "INVALID_ARGUMENT", "JSON_CONTENT_TYPE_REQUIRED")
    json_type = {**cookie, "Content-Type": "application/json"}
    r = await client.post("/v1.0/outdials", content=b'{"name": "mine"}', headers=json_type)
    assert r.status_code == 200 and r.json()["name"] == "mine"
    listed = (await client.get("/v1.0/outdials", headers=cookie)).json()["result"]
    assert [o["name"] for o in listed] == ["mine"]  # the other posts wrote nothing
    # a key in a header or the query cannot be forged cross-site: curl's form type is read
    # as JSON, as before
    r = await tenant.call(
        "POST",
        "/v1.0/outdials",
        content=b'{"name": "curl"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200


# ---- no slash redirects ------------------------------------------------------------------------


async def test_a_trailing_slash_is_404_not_a_redirect(tenant: Tenant) -> None:
    r = await tenant.call("GET", "/v1.0/outdials/", headers={"Host": "evil.example"})
    assert r.status_code == 404 and "location" not in r.headers
    error(r, 404, "NOT_FOUND", "ROUTE_NOT_FOUND")


# ---- metrics -----------------------------------------------------------------------------------


async def test_unknown_methods_are_one_metric_label(tenant: Tenant) -> None:
    for method in ("FOOBAR", "XYZZY1", "PROPFIND"):
        await tenant.call(method, "/v1.0/outdials")
    text = (await tenant.client.get("/metrics")).text
    assert 'method="other"' in text
    assert "FOOBAR" not in text and "XYZZY1" not in text and "PROPFIND" not in text


async def test_metrics_can_be_turned_off_on_the_api(services: Services) -> None:
    app = create_app(services, metrics=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://outdial.test") as c:
        assert (await c.get("/metrics")).status_code == 404


# ---- bounded actions -----------------------------------------------------------------------------


async def test_at_most_100_actions(tenant: Tenant) -> None:
    hundred = [{"type": "hangup"}] * 100
    assert len((await make_campaign(tenant, actions=hundred))["actions"]) == 100
    r = await tenant.call(
        "POST", "/v1.0/campaigns", json={"actions": [*hundred, {"type": "hangup"}]}
    )
    assert "more than 100 actions" in error(r, 400, "INVALID_ARGUMENT")["message"]


async def test_action_times_are_capped_by_the_longest_call(tenant: Tenant) -> None:
    longest = 3_600_000  # OUTDIAL_ENGINE_MAX_CALL's default, in ms
    ok = [
        {"type": "sleep", "option": {"duration": longest}},
        {"type": "digits_receive", "option": {"duration": 5000, "wait_timeout": longest}},
    ]
    await make_campaign(tenant, actions=ok)
    for bad in (
        {"type": "sleep", "option": {"duration": longest + 1}},
        {"type": "sleep", "option": {"duration": 10**15}},
        {"type": "talk", "option": {"text": "hi", "timeout": longest + 1}},
        {"type": "digits_receive", "option": {"key_timeout": 10**12}},
        {"type": "amd", "option": {"duration": -1}},
    ):
        r = await tenant.call("POST", "/v1.0/campaigns", json={"actions": [bad]})
        err = error(r, 400, "INVALID_ARGUMENT")
        assert "actions[0].option." in err["message"], err


# ---- next_campaign_id cycles ---------------------------------------------------------------------


async def test_next_campaign_id_cannot_make_a_cycle(tenant: Tenant) -> None:
    a = await make_campaign(tenant, name="a")
    b = await make_campaign(tenant, name="b", next_campaign_id=a["id"])
    c = await make_campaign(tenant, name="c", next_campaign_id=b["id"])
    for path, body in (
        (f"/v1.0/campaigns/{a['id']}/next_campaign_id", {"next_campaign_id": a["id"]}),
        (f"/v1.0/campaigns/{a['id']}/next_campaign_id", {"next_campaign_id": b["id"]}),
        (f"/v1.0/campaigns/{a['id']}/next_campaign_id", {"next_campaign_id": c["id"]}),
        (f"/v1.0/campaigns/{a['id']}/resource_info", {"next_campaign_id": c["id"]}),
    ):
        r = await tenant.call("PUT", path, json=body)
        error(r, 400, "INVALID_ARGUMENT", "INVALID_REFERENCE")
    got = await tenant.ok("GET", f"/v1.0/campaigns/{a['id']}")
    assert got["next_campaign_id"] == "00000000-0000-0000-0000-000000000000"
    d = await make_campaign(tenant, name="d")
    chained = await tenant.ok(
        "PUT", f"/v1.0/campaigns/{a['id']}/next_campaign_id", json={"next_campaign_id": d["id"]}
    )
    assert chained["next_campaign_id"] == d["id"]


# ---- status events under a race (PostgreSQL) ----------------------------------------------------


@pytest.mark.postgres
async def test_a_status_change_racing_another_emits_the_event_of_the_final_state(
    pg_database_url: str, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PUT stop reads the campaign in `stop`; before its UPDATE runs, a PUT run commits
    (stop -> run). The stop's UPDATE then takes the campaign run -> stop: the last event must
    be campaign_status_stop, the final state. Comparing with the status read before the
    UPDATE (`stop`) would emit nothing and leave `run` as the last word."""
    from outdial.services import campaign_rules
    from outdial.storage.db import Database

    db = Database(pg_database_url)
    try:
        services = Services.build(db, clock)
        me = (await services.customers.create("racer")).id
        outdial = await services.outdials.create(me, {"name": "l"})
        plan = await services.outplans.create(me, {"name": "p"})
        campaign = await services.campaigns.create(
            me, {"name": "c", "outdial_id": str(outdial.id), "outplan_id": str(plan.id)}
        )
        real = campaign_rules.request_stop
        read, go = asyncio.Event(), asyncio.Event()

        async def stop_after_the_race(conn: Any, current: Any, now: int) -> Any:
            read.set()  # the stop has read the campaign (status stop)
            await go.wait()
            return await real(conn, current, now)

        monkeypatch.setattr(campaign_rules, "request_stop", stop_after_the_race)
        stopping = asyncio.create_task(
            services.campaigns.set_status(me, campaign.id, {"status": "stop"})
        )
        await read.wait()
        started = await services.campaigns.set_status(me, campaign.id, {"status": "run"})
        assert started.status == "run"
        go.set()
        final = await stopping
        assert final.status == "stop"
        async with db.read() as conn:
            types = (
                (
                    await conn.execute(
                        sa.select(events.c.type)
                        .where(events.c.resource_id == campaign.id)
                        .order_by(events.c.id)
                    )
                )
                .scalars()
                .all()
            )
        assert types[-2:] == ["campaign_status_run", "campaign_status_stop"], types
    finally:
        await db.dispose()


# ---- webhook secrets -----------------------------------------------------------------------------


async def test_the_webhook_secret_is_shown_only_when_made(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    me = f"/v1.0/customers/{tenant.customer_id}"
    first = await tenant.ok("PUT", me, json={"webhook_uri": "http://127.0.0.1:9/a"})
    assert len(first["webhook_secret"]) == 64
    again = await tenant.ok("PUT", me, json={"webhook_uri": "http://127.0.0.1:9/b"})
    assert "webhook_secret" not in again
    assert "webhook_secret" not in await tenant.ok("GET", me)
    rotated = await tenant.ok("POST", f"{me}/webhook_secret")
    assert (
        len(rotated["webhook_secret"]) == 64
        and rotated["webhook_secret"] != first["webhook_secret"]
    )
    assert rotated["webhook_secret_previous_until"]
    assert "webhook_secret" not in await tenant.ok("GET", me)
    r = await other_tenant.call("POST", f"{me}/webhook_secret")
    error(r, 404, "NOT_FOUND", "CUSTOMER_NOT_FOUND")


# ---- JSON Lines nested too deep ----------------------------------------------------------


async def test_a_json_lines_row_nested_too_deep_is_a_bad_row(
    services: Services, tmp_path: Path
) -> None:
    me = (await services.customers.create("importer")).id
    outdial = await services.outdials.create(me, {"name": "list"})
    deep = '{"destination_0": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path = tmp_path / "deep.jsonl"
    path.write_text('{"destination_0": "tel:+15550001"}\n' + deep + "\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as caught:
        await import_file(services.ctx, outdial.id, path)
    assert caught.value.errors == ["line 2: is nested too deeply"]
    csv = tmp_path / "deep.csv"
    csv.write_text('destination_0\n"{' + '""a"":{' * 5_000 + "}" * 5_001 + '"\n')
    with pytest.raises(ImportFailed) as caught:
        await import_file(services.ctx, outdial.id, csv)
    assert caught.value.errors == ["line 2: destination_0 is not a valid JSON Address object"]
