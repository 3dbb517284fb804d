"""Issue 10, item 2 (write side) and item 3: what customers' outbound requests may name.

These tests run the API on services built with the operator's default policy (nothing private
open), not the suite's `services` fixture (which opens loopback for the suite's own receivers):
webhook URIs, `play` URLs and `sip` destinations that point inside are refused when written.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from outdial.api.app import create_app
from outdial.clock import FakeClock
from outdial.domain.netpolicy import NetworkPolicy
from outdial.services.container import Services
from outdial.services.importer import ImportFailed, import_file
from outdial.storage.db import Database
from tests.api.helpers import error, make_outdial
from tests.conftest import Tenant, make_tenant
from tests.integration.test_import import write_csv, write_jsonl

LOOPBACK_FORMS = [
    "127.0.0.1",
    "127.1.2.3",
    "2130706433",  # 127.0.0.1 as one decimal number
    "0x7f000001",
    "0177.0.0.1",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
]
INSIDE = ["10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "0.0.0.0", "[fe80::1]"]


@pytest.fixture
def closed_services(db: Database, clock: FakeClock) -> Services:
    """Services as an operator starts them by default: no private network open."""
    return Services.build(db, clock)


@pytest.fixture
async def closed(closed_services: Services) -> AsyncIterator[Tenant]:
    app = create_app(closed_services)
    app.state.ready = True
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://outdial.test") as c:
        yield await make_tenant(closed_services, c, "closed")


async def put_webhook(t: Tenant, uri: str) -> httpx.Response:
    return await t.call("PUT", f"/v1.0/customers/{t.customer_id}", json={"webhook_uri": uri})


# ---- webhooks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("host", LOOPBACK_FORMS + INSIDE)
async def test_a_webhook_to_an_inside_address_is_400(closed: Tenant, host: str) -> None:
    err = error(await put_webhook(closed, f"http://{host}:8080/hook"), 400, "INVALID_ARGUMENT")
    assert err["reason"] == "INVALID_URI" and "webhook_uri" in err["message"]


async def test_a_webhook_host_name_is_resolved_on_put(closed: Tenant) -> None:
    """`localhost` resolves to loopback (from the hosts file, no DNS server asked)."""
    err = error(await put_webhook(closed, "http://localhost:9/hook"), 400, "INVALID_ARGUMENT")
    assert err["reason"] == "INVALID_URI" and "localhost" in err["message"]


async def test_a_webhook_host_that_does_not_resolve_is_400(
    closed: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_such_name(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "getaddrinfo", no_such_name)
    err = error(await put_webhook(closed, "http://hooks.example.com/x"), 400, "INVALID_ARGUMENT")
    assert err["reason"] == "INVALID_URI" and "does not resolve" in err["message"]


async def test_a_webhook_name_resolving_outside_is_taken(
    closed: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def public(host: str, port: int, **kwargs: Any) -> Any:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("203.0.113.7", port))]

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "getaddrinfo", public)
    r = await put_webhook(closed, "https://hooks.example.com/x")
    assert r.status_code == 200, r.text
    assert r.json()["webhook_uri"] == "https://hooks.example.com/x"


@pytest.mark.parametrize(
    "uri",
    [
        "http://203.0.113.7/a\x00b",
        "http://203.0.113.7/a\nb",
        "http://203.0.113.7/a\rX-Injected: 1",
        "http://203.0.113.7/a b",
        "http://203.0.113.7/\x7f",
        "file:///etc/passwd",
        "gopher://203.0.113.7/",
        "http:///nohost",
    ],
)
async def test_control_characters_and_other_schemes_are_400(closed: Tenant, uri: str) -> None:
    err = error(await put_webhook(closed, uri), 400, "INVALID_ARGUMENT")
    assert err["reason"] == "INVALID_URI"


async def test_opening_loopback_allows_it_but_never_the_service_itself(
    db: Database, clock: FakeClock
) -> None:
    network = NetworkPolicy.from_text("127.0.0.0/8").with_own([("127.0.0.1", 8080)])
    services = Services.build(db, clock, network=network)
    me = (await services.customers.create("own")).id
    ok = await services.accounts.update(me, me, {"webhook_uri": "http://127.0.0.1:9000/hook"})
    assert ok["webhook_uri"] == "http://127.0.0.1:9000/hook"
    with pytest.raises(Exception) as caught:
        await services.accounts.update(me, me, {"webhook_uri": "http://127.0.0.1:8080/v1.0/x"})
    assert getattr(caught.value, "reason", "") == "INVALID_URI"


# ---- play URLs --------------------------------------------------------------------------------
def play(*urls: str) -> dict[str, Any]:
    return {"actions": [{"type": "play", "option": {"stream_urls": list(urls)}}]}


@pytest.mark.parametrize(
    "url",
    [
        "/etc/passwd",
        "file:///etc/passwd",
        "./audio.wav",
        "ftp://203.0.113.7/a.wav",
        "http://127.0.0.1/a.wav",
        "http://2130706433/a.wav",
        "http://[::ffff:127.0.0.1]/a.wav",
        "http://169.254.169.254/latest/meta-data",
        "http://203.0.113.7/a b.wav",
        "media:not-a-uuid",
    ],
)
async def test_play_urls_must_be_http_or_media_and_outside(closed: Tenant, url: str) -> None:
    for path, body in (("/v1.0/campaigns", play(url)),):
        err = error(await closed.call("POST", path, json=body), 400, "INVALID_ARGUMENT")
        assert err["reason"] == "INVALID_URI", err
        assert "actions[0].option.stream_urls[0]" in err["message"]
    campaign = await closed.ok("POST", "/v1.0/campaigns", json={"name": "c"})
    r = await closed.call("PUT", f"/v1.0/campaigns/{campaign['id']}/actions", json=play(url))
    assert error(r, 400, "INVALID_ARGUMENT")["reason"] == "INVALID_URI"


async def test_play_url_names_are_not_resolved_on_write(closed: Tenant) -> None:
    created = await closed.ok(
        "POST", "/v1.0/campaigns", json=play("https://audio.example.com/x.wav")
    )
    assert created["actions"][0]["option"]["stream_urls"] == ["https://audio.example.com/x.wav"]


async def test_play_media_must_be_the_customers_own(tenant: Tenant, other_tenant: Tenant) -> None:
    theirs = await other_tenant.ok(
        "POST", "/v1.0/media", content=tiny_wav(), headers={"Content-Type": "audio/wav"}
    )
    r = await tenant.call("POST", "/v1.0/campaigns", json=play(theirs["reference"]))
    assert error(r, 400, "INVALID_ARGUMENT")["reason"] == "INVALID_REFERENCE"
    r = await tenant.call("POST", "/v1.0/campaigns", json=play(f"media:{uuid.uuid4()}"))
    assert error(r, 400, "INVALID_ARGUMENT")["reason"] == "INVALID_REFERENCE"
    mine = await tenant.ok(
        "POST", "/v1.0/media", content=tiny_wav(), headers={"Content-Type": "audio/wav"}
    )
    created = await tenant.ok("POST", "/v1.0/campaigns", json=play(mine["reference"]))
    assert created["actions"][0]["option"]["stream_urls"] == [f"media:{mine['id']}"]


def tiny_wav() -> bytes:
    import io
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x01" * 800)
    return buf.getvalue()


# ---- sip destinations -------------------------------------------------------------------------
@pytest.mark.parametrize("host", LOOPBACK_FORMS + INSIDE)
async def test_a_sip_destination_with_an_inside_literal_is_400(closed: Tenant, host: str) -> None:
    outdial = await make_outdial(closed)
    body = {
        "destination_0": {"type": "tel", "target": "+15550001"},
        "destination_2": {"type": "sip", "target": f"bob@{host}:5060"},
    }
    r = await closed.call("POST", f"/v1.0/outdials/{outdial['id']}/targets", json=body)
    err = error(r, 400, "INVALID_ARGUMENT", "DESTINATION_BLOCKED")
    assert "destination_2.target" in err["message"]


async def test_sip_destinations_by_name_or_outside_are_taken(closed: Tenant) -> None:
    outdial = await make_outdial(closed)
    for target in ("bob@pbx.example.com", "bob@203.0.113.9:5070", "bob@[2001:db8::5]"):
        body = {"destination_0": {"type": "sip", "target": target}}
        made = await closed.ok("POST", f"/v1.0/outdials/{outdial['id']}/targets", json=body)
        assert made["destination_0"]["target"] == target


async def test_bulk_names_the_row_and_field_of_a_blocked_destination(closed: Tenant) -> None:
    outdial = await make_outdial(closed)
    items = [
        {"destination_0": "tel:+15550001"},
        {"destination_0": "tel:+15550002", "destination_1": "sip:bob@10.1.2.3"},
    ]
    r = await closed.call("POST", f"/v1.0/outdials/{outdial['id']}/targets_bulk", json=items)
    err = error(r, 400, "INVALID_ARGUMENT")
    assert err["message"].startswith("item 1: destination_1.target"), err
    listed = await closed.ok("GET", f"/v1.0/outdials/{outdial['id']}/targets")
    assert listed["result"] == []


async def test_import_names_the_line_and_field_of_a_blocked_destination(
    closed_services: Services, tmp_path: Path
) -> None:
    me = (await closed_services.customers.create("importer")).id
    outdial = await closed_services.outdials.create(me, {"name": "list"})
    csv_file = write_csv(
        tmp_path / "t.csv",
        ["name", "destination_0"],
        [["a", "tel:+15550001"], ["b", "sip:bob@127.0.0.1:5070"], ["c", "sip:x@[::1]"]],
    )
    with pytest.raises(ImportFailed) as caught:
        await import_file(closed_services.ctx, outdial.id, csv_file)
    assert [e.split(":")[0] for e in caught.value.errors] == ["line 3", "line 4"]
    assert all("destination_0.target" in e for e in caught.value.errors)
    jsonl = write_jsonl(
        tmp_path / "t.jsonl",
        [{"destination_0": "tel:+15550001"}, {"destination_3": "sip:bob@192.168.0.10"}],
    )
    with pytest.raises(ImportFailed) as caught:
        await import_file(closed_services.ctx, outdial.id, jsonl)
    assert caught.value.errors == [
        "line 2: destination_3.target host 192.168.0.10 is a private address"
    ]


# ---- the outplan's source (caller id) -----------------------------------------------------------
@pytest.mark.parametrize(
    "source,reason",
    [
        ({"type": "extension", "target": "100"}, "INVALID_SOURCE"),
        ({"type": "agent", "target": "6f1c2d3e-0000-4000-8000-000000000001"}, "INVALID_SOURCE"),
        ({"type": "sip", "target": "me@127.0.0.1"}, "INVALID_SOURCE"),
        ({"type": "tel", "target": "12345"}, "INVALID_ARGUMENT"),
    ],
)
async def test_the_source_is_e164_or_a_sip_uri_on_an_allowed_host(
    closed: Tenant, source: dict[str, str], reason: str
) -> None:
    r = await closed.call("POST", "/v1.0/outplans", json={"source": source})
    assert error(r, 400, "INVALID_ARGUMENT")["reason"] == reason
    plan = await closed.ok("POST", "/v1.0/outplans", json={"name": "p"})
    r = await closed.call("PUT", f"/v1.0/outplans/{plan['id']}/dial_info", json={"source": source})
    assert error(r, 400, "INVALID_ARGUMENT")["reason"] == reason
    for good in (
        {"type": "tel", "target": "+15559876543"},
        {"type": "sip", "target": "sales@pbx.example.com"},
    ):
        made = await closed.ok("POST", "/v1.0/outplans", json={"source": good})
        assert made["source"]["target"] == good["target"]
