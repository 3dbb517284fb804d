"""Issue 10, item 5: a customer limited to calling codes cannot reach other countries.

`PUT /v1.0/customers/{id}` takes `allowed_calling_codes`; a `tel` destination outside them is
400 at create, bulk and import (row and field named); a target written before the codes
changed is skipped at the claim with a compliance record, never dialed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.services.container import Services
from outdial.services.importer import ImportFailed, import_file
from outdial.storage.tables import dial_skips
from tests.api.helpers import error, make_outdial
from tests.conftest import Tenant
from tests.engine.harness import Harness
from tests.integration.test_import import write_csv


async def skips(services: Services, campaign_id: Any) -> list[Any]:
    async with services.ctx.db.read() as conn:
        stmt = sa.select(dial_skips).where(dial_skips.c.campaign_id == campaign_id)
        return list((await conn.execute(stmt)).all())


async def set_codes(t: Tenant, codes: object) -> dict[str, object]:
    me = t.customer_id
    r = await t.call("PUT", f"/v1.0/customers/{me}", json={"allowed_calling_codes": codes})
    assert r.status_code == 200, r.text
    got: dict[str, object] = r.json()
    return got


async def test_codes_are_set_read_and_validated(tenant: Tenant) -> None:
    me = tenant.customer_id
    assert (await tenant.ok("GET", f"/v1.0/customers/{me}"))["allowed_calling_codes"] == []
    out = await set_codes(tenant, ["44", "+1", "44"])
    assert out["allowed_calling_codes"] == ["1", "44"]
    assert (await tenant.ok("GET", f"/v1.0/customers/{me}"))["allowed_calling_codes"] == [
        "1",
        "44",
    ]
    for bad in (["x1"], [""], ["1234567"], "44", [44]):
        r = await tenant.call("PUT", f"/v1.0/customers/{me}", json={"allowed_calling_codes": bad})
        error(r, 400, "INVALID_ARGUMENT")
    assert (await set_codes(tenant, []))["allowed_calling_codes"] == []


async def test_a_number_outside_the_codes_is_400_naming_the_field(tenant: Tenant) -> None:
    await set_codes(tenant, ["1", "44"])
    outdial = await make_outdial(tenant)
    path = f"/v1.0/outdials/{outdial['id']}/targets"
    body = {
        "destination_0": {"type": "tel", "target": "+15550001"},
        "destination_1": {"type": "tel", "target": "+8821234567"},
    }
    err = error(await tenant.call("POST", path, json=body), 400, "INVALID_ARGUMENT")
    assert err["reason"] == "DESTINATION_NOT_ALLOWED"
    assert "destination_1.target +8821234567" in err["message"]
    body["destination_1"] = {"type": "tel", "target": "+442071234567"}
    assert (await tenant.ok("POST", path, json=body))["destination_1"]["target"].startswith("+44")
    sip = {"destination_0": {"type": "sip", "target": "+8821234567@pbx.example.com"}}
    await tenant.ok("POST", path, json=sip)  # not a telephone number: not concerned


async def test_bulk_names_the_row_and_writes_nothing(tenant: Tenant) -> None:
    await set_codes(tenant, ["1"])
    outdial = await make_outdial(tenant)
    items = [{"destination_0": "tel:+15550001"}, {"destination_0": "tel:+4420123456"}]
    r = await tenant.call("POST", f"/v1.0/outdials/{outdial['id']}/targets_bulk", json=items)
    err = error(r, 400, "INVALID_ARGUMENT")
    assert err["message"].startswith("item 1: destination_0.target +4420123456 is outside")
    assert (await tenant.ok("GET", f"/v1.0/outdials/{outdial['id']}/targets"))["result"] == []


async def test_import_names_the_line(services: Services, tmp_path: Path) -> None:
    me = (await services.customers.create("importer")).id
    await services.accounts.update(me, me, {"allowed_calling_codes": ["33"]})
    outdial = await services.outdials.create(me, {"name": "list"})
    path = write_csv(
        tmp_path / "t.csv",
        ["name", "destination_0"],
        [["a", "tel:+33123456789"], ["b", "tel:+15550002"]],
    )
    with pytest.raises(ImportFailed) as caught:
        await import_file(services.ctx, outdial.id, path)
    assert caught.value.errors == [
        "line 3: destination_0.target +15550002 is outside the customer's allowed calling "
        "codes (33)"
    ]


async def test_a_target_outside_new_codes_is_skipped_at_the_claim(
    services: Services, clock: FakeClock
) -> None:
    """Written while every code was allowed; the customer then limits itself to +1. The +44
    destination is never dialed (a `destination_not_allowed` record), the next one is."""
    async with Harness(services, clock) as h:
        me = h.customer_id
        _, outdial, campaign = await h.setup(
            [["+442071234567", "+15550001"], ["+442071234568"]],
            outplan={"max_try_count_0": 1, "max_try_count_1": 1, "try_interval": 0},
            calls_per_second=100,
        )
        await services.accounts.update(me, me, {"allowed_calling_codes": ["1"]})
        two, one = sorted(await h.targets(outdial.id), key=lambda t: t.destinations[1] is None)
        why = await services.eligibility.target(me, outdial.id, two.id, None)
        assert [(b.reason.value, b.blocking) for b in why.reasons] == [
            ("campaign_not_running", True),
            ("destination_not_allowed", False),
        ]
        why = await services.eligibility.target(me, outdial.id, one.id, None)
        assert [(b.reason.value, b.blocking) for b in why.reasons] == [
            ("campaign_not_running", True),
            ("destination_not_allowed", True),
        ]
        target = two
        await h.run(campaign.id)
        why = await services.eligibility.target(me, outdial.id, target.id, None)
        assert [(b.reason.value, b.blocking) for b in why.reasons] == [
            ("destination_not_allowed", False)
        ]
        await h.tick(0.1, rounds=30)
        calls = await h.calls(campaign.id)
        assert [c.destination.target for c in calls] == ["+15550001"]
        records = await skips(services, campaign.id)
        assert sorted((r.number, r.reason) for r in records) == [
            ("+442071234567", "destination_not_allowed"),
            ("+442071234568", "destination_not_allowed"),
        ]
        assert {t.status for t in await h.targets(outdial.id)} == {"done"}
