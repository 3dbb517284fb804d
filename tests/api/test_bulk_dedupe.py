"""targets_bulk with `dedupe` (issue 17, SPEC 3.10): duplicates by number or SIP URI are
named per item (400 DUPLICATE_TARGET, nothing written) or, with `dedupe_action=skip`,
left out and counted; `within_outdial` also matches the outdial's live targets."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.helpers import error, make_outdial
from tests.conftest import Tenant


def bulk(outdial: dict[str, Any], query: str = "") -> str:
    return f"/v1.0/outdials/{outdial['id']}/targets_bulk{query}"


async def names(t: Tenant, outdial: dict[str, Any]) -> list[str]:
    page = await t.ok("GET", f"/v1.0/outdials/{outdial['id']}/targets")
    return sorted(x["name"] for x in page["result"])


ITEMS = [
    {"name": "a", "destination_0": "tel:+15550001"},
    {"name": "b", "destination_0": "+15550002", "destination_1": "sip:bob@PBX.example"},
    # the same number as a's, as a JSON Address in another slot
    {"name": "c", "destination_2": {"type": "tel", "target": "+15550001", "name": "again"}},
    # b's SIP URI, host in another case
    {"name": "d", "destination_0": "sip:bob@pbx.EXAMPLE"},
    {"name": "e", "destination_0": "sip:Bob@pbx.example"},  # the user part is case-sensitive
    # one row may name its callee twice: not a duplicate of itself
    {"name": "f", "destination_0": "+15550009", "destination_4": "+15550009"},
]


async def test_default_is_none_and_writes_every_item(tenant: Tenant) -> None:
    outdial = await make_outdial(tenant)
    made = await tenant.ok("POST", bulk(outdial), json=ITEMS)
    assert made["count"] == 6 and "skipped_duplicates" not in made
    made = await tenant.ok("POST", bulk(outdial, "?dedupe=none"), json=ITEMS[:1])
    assert made["count"] == 1


async def test_within_file_reports_every_duplicate_and_writes_nothing(tenant: Tenant) -> None:
    outdial = await make_outdial(tenant)
    response = await tenant.call("POST", bulk(outdial, "?dedupe=within_file"), json=ITEMS)
    err = error(response, 400, "INVALID_ARGUMENT")
    assert err["reason"] == "DUPLICATE_TARGET"
    message = err["message"]
    assert message.startswith("item 2: destination_2 +15550001 repeats item 0; "), message
    assert "item 3: destination_0 sip:bob@pbx.example repeats item 1" in message
    assert "item 4" not in message and "item 5" not in message
    assert "(2 duplicate item(s); nothing written)" in message
    assert await names(tenant, outdial) == []
    # report is the default action, and may be named
    again = await tenant.call(
        "POST", bulk(outdial, "?dedupe=within_file&dedupe_action=report"), json=ITEMS
    )
    assert error(again, 400, "INVALID_ARGUMENT")["message"] == message


async def test_within_file_skip_counts_and_writes_the_rest(tenant: Tenant) -> None:
    outdial = await make_outdial(tenant)
    made = await tenant.ok(
        "POST", bulk(outdial, "?dedupe=within_file&dedupe_action=skip"), json=ITEMS
    )
    assert made["skipped_duplicates"] == 2
    assert made["count"] == 4 and [t["name"] for t in made["result"]] == ["a", "b", "e", "f"]
    assert await names(tenant, outdial) == ["a", "b", "e", "f"]


async def test_within_outdial_matches_live_targets_only(tenant: Tenant) -> None:
    outdial = await make_outdial(tenant)
    first = await tenant.ok("POST", bulk(outdial), json=ITEMS[:2])
    gone = await tenant.ok("POST", bulk(outdial), json=[{"destination_0": "+15550077"}])
    await tenant.ok("DELETE", f"/v1.0/outdials/{outdial['id']}/targets/{gone['result'][0]['id']}")
    later = [
        {"name": "x", "destination_1": "+15550002"},  # b's number
        {"name": "y", "destination_0": "+15550077"},  # only a deleted target had it
        {"name": "z", "destination_0": "+15550078"},
        {"name": "z2", "destination_0": "+15550078"},  # within the request too
    ]
    err = error(
        await tenant.call("POST", bulk(outdial, "?dedupe=within_outdial"), json=later),
        400,
        "INVALID_ARGUMENT",
    )
    assert err["message"].startswith(
        "item 0: destination_1 +15550002 is already a target of the outdial; "
        "item 3: destination_0 +15550078 repeats item 2"
    ), err
    made = await tenant.ok(
        "POST", bulk(outdial, "?dedupe=within_outdial&dedupe_action=skip"), json=later
    )
    assert made["skipped_duplicates"] == 2
    assert [t["name"] for t in made["result"]] == ["y", "z"]
    assert len(first["result"]) == 2
    # everything skipped: an empty success, nothing written
    made = await tenant.ok(
        "POST", bulk(outdial, "?dedupe=within_outdial&dedupe_action=skip"), json=later
    )
    assert made == {"result": [], "count": 0, "skipped_duplicates": 4}
    assert await names(tenant, outdial) == ["a", "b", "y", "z"]


async def test_another_outdial_is_not_a_duplicate(tenant: Tenant) -> None:
    one = await make_outdial(tenant)
    two = await make_outdial(tenant)
    await tenant.ok("POST", bulk(one), json=ITEMS[:1])
    made = await tenant.ok("POST", bulk(two, "?dedupe=within_outdial"), json=ITEMS[:1])
    assert made["count"] == 1 and made["skipped_duplicates"] == 0


async def test_unknown_modes_are_a_400(tenant: Tenant) -> None:
    outdial = await make_outdial(tenant)
    for query in ("?dedupe=everything", "?dedupe=within_file&dedupe_action=drop"):
        response = await tenant.call("POST", bulk(outdial, query), json=ITEMS[:1])
        error(response, 400, "INVALID_ARGUMENT")
    assert await names(tenant, outdial) == []


async def test_concurrent_loads_never_both_write_one_number(tenant: Tenant) -> None:
    """Two within_outdial loads of the same numbers at once: the outdial's lock (PostgreSQL)
    or the single writer (SQLite) makes the second see the first's targets."""
    outdial = await make_outdial(tenant)
    body = [{"destination_0": f"+1555010{n}"} for n in range(5)]
    query = "?dedupe=within_outdial&dedupe_action=skip"
    answers = await asyncio.gather(
        *(tenant.ok("POST", bulk(outdial, query), json=body) for _ in range(3))
    )
    assert sorted(a["count"] for a in answers) == [0, 0, 5]
    assert sorted(a["skipped_duplicates"] for a in answers) == [0, 5, 5]
    assert len(await names(tenant, outdial)) == 5
