"""The target list renders straight from rows (wire/target_read_model.py); every shape of row
must come out exactly as the domain path renders it (GET of one target, wire/target.py)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import orjson
import sqlalchemy as sa

from outdial.api.responses import WireJSON
from outdial.services.container import Services
from outdial.wire import target as wire_target
from outdial.wire import target_read_model as projections
from tests.api.helpers import TEL, make_outdial
from tests.conftest import Tenant

SIP = {
    "type": "sip",
    "target": "alice@pbx.example.com",
    "target_name": 'Zoë "the boss" Ünal',
    "name": "back\\slash",
    "detail": "tab\there, line\nbreak, 日本",
}
SHAPES: list[dict[str, Any]] = [
    {"destination_0": TEL},
    {
        "name": "every slot",
        "detail": "d",
        "data": '{"crm": 1}',
        **{f"destination_{n}": {**TEL, "target": f"+1555000{n}0"} for n in range(5)},
    },
    {"name": "Ünïcödé ✓", "destination_2": SIP, "timezone": "Europe/Berlin"},
    {"destination_4": {"type": "sip", "target": "bob@203.0.113.1"}, "data": "x" * 1000},
]


async def _fill(t: Tenant) -> tuple[str, list[dict[str, Any]]]:
    outdial = await make_outdial(t)
    path = f"/v1.0/outdials/{outdial['id']}/targets"
    made = [await t.ok("POST", path, json=shape) for shape in SHAPES]
    return path, made


async def test_list_equals_get_for_every_shape(tenant: Tenant, services: Services) -> None:
    path, made = await _fill(tenant)
    # Try counts and a status as the engine leaves them, and one deleted target.
    async with services.ctx.db.write() as conn:
        await conn.execute(
            sa.text(
                "UPDATE outdial_targets SET try_count_0 = 3, try_count_4 = 2, status = 'done' "
                "WHERE name = 'every slot'"
            )
        )
    await tenant.ok("DELETE", f"{path}/{made[0]['id']}")

    listed = (await tenant.ok("GET", path, params={"page_size": 100}))["result"]
    assert sorted(t["id"] for t in listed) == sorted(t["id"] for t in made[1:])
    for item in listed:
        single = await tenant.ok("GET", f"{path}/{item['id']}")
        assert list(item) == list(single)  # the seed's field order too
        assert item == single
    every = next(t for t in listed if t["name"] == "every slot")
    assert [every[f"try_count_{n}"] for n in range(5)] == [3, 0, 0, 0, 2]
    assert next(t for t in listed if t["name"] == "Ünïcödé ✓")["destination_2"] == SIP


async def test_projection_equals_domain_rendering(tenant: Tenant, services: Services) -> None:
    _, made = await _fill(tenant)
    outdial_id = uuid.UUID(made[0]["outdial_id"])
    domain = await services.targets.list(tenant.customer_id, outdial_id, None, 100)
    wire = await services.targets.list_wire(tenant.customer_id, outdial_id, None, 100)
    assert wire.cursor == domain.cursor
    rendered = [json.loads(orjson.dumps(item)) for item in wire.items]
    assert rendered == [wire_target.render(t) for t in domain.items]


async def test_pages_chain_through_the_read_model(tenant: Tenant) -> None:
    outdial = await make_outdial(tenant)
    path = f"/v1.0/outdials/{outdial['id']}/targets"
    body = [{"destination_0": {**TEL, "target": f"+1555{n:07d}"}} for n in range(25)]
    await tenant.ok("POST", f"{path}_bulk", json=body)
    seen: list[str] = []
    token = ""
    while True:
        page = await tenant.ok("GET", path, params={"page_size": 10, "page_token": token})
        seen += [t["id"] for t in page["result"]]
        token = page["next_page_token"]
        if not page["result"]:
            break
    assert len(seen) == len(set(seen)) == 25


def test_hand_written_destination_text_is_parsed() -> None:
    """Text not in dump_address's plain shape (spaces, another key order) is parsed and
    rendered like the domain path, never spliced in as is."""
    text = '{ "target": "+15550001", "type": "tel" }'
    assert projections.destination(text) == {**TEL}
    assert projections.destination(None) is None
    plain = '{"type":"tel","target":"+15550001","target_name":"","name":"","detail":""}'
    assert isinstance(projections.destination(plain), orjson.Fragment)


def test_id_text_takes_every_driver_form() -> None:
    value = uuid.uuid4()
    for raw in (value, value.hex, value.hex.upper(), str(value)):
        assert projections.id_text(raw) == str(value)
    assert projections.id_value(value.hex) == value


def test_response_falls_back_where_orjson_refuses() -> None:
    body = {"big": 2**70, "d": projections.destination(json.dumps(TEL, separators=(",", ":")))}
    assert json.loads(WireJSON(body).body) == {"big": 2**70, "d": TEL}
