"""Keyset pagination: newest first, rows sharing a tm_create neither skipped nor repeated."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from outdial.clock import FakeClock
from outdial.services.container import Services
from tests.api.helpers import (
    TEL,
    insert_campaigncall,
    make_campaign,
    make_outdial,
    make_outplan,
)
from tests.conftest import Tenant

Maker = Callable[[Tenant, Services], Awaitable[tuple[str, Callable[[], Awaitable[Any]]]]]


async def outdials(t: Tenant, s: Services) -> tuple[str, Callable[[], Awaitable[Any]]]:
    return "/v1.0/outdials", lambda: make_outdial(t)


async def outplans(t: Tenant, s: Services) -> tuple[str, Callable[[], Awaitable[Any]]]:
    return "/v1.0/outplans", lambda: make_outplan(t)


async def campaigns(t: Tenant, s: Services) -> tuple[str, Callable[[], Awaitable[Any]]]:
    return "/v1.0/campaigns", lambda: make_campaign(t)


async def targets(t: Tenant, s: Services) -> tuple[str, Callable[[], Awaitable[Any]]]:
    outdial = await make_outdial(t)
    path = f"/v1.0/outdials/{outdial['id']}/targets"
    return path, lambda: t.ok("POST", path, json={"destination_0": TEL})


async def campaigncalls(t: Tenant, s: Services) -> tuple[str, Callable[[], Awaitable[Any]]]:
    campaign = await make_campaign(t)

    async def make() -> dict[str, str]:
        return {"id": await insert_campaigncall(s, t.customer_id, campaign)}

    return "/v1.0/campaigncalls", make


async def campaign_calls(t: Tenant, s: Services) -> tuple[str, Callable[[], Awaitable[Any]]]:
    campaign = await make_campaign(t)

    async def make() -> dict[str, str]:
        return {"id": await insert_campaigncall(s, t.customer_id, campaign)}

    return f"/v1.0/campaigns/{campaign['id']}/campaigncalls", make


MAKERS = [outdials, outplans, campaigns, targets, campaigncalls, campaign_calls]


async def walk(t: Tenant, path: str, size: int, token: str = "") -> tuple[list[str], list[str]]:
    """Every page from `token` on: (ids in order, tokens seen)."""
    ids: list[str] = []
    tokens: list[str] = []
    for _ in range(1000):
        params = {"page_size": str(size), **({"page_token": token} if token else {})}
        page = await t.ok("GET", path, params=params)
        assert len(page["result"]) <= size
        token = page["next_page_token"]
        tokens.append(token)
        if not page["result"]:
            assert token == ""
            return ids, tokens
        assert token
        ids.extend(item["id"] for item in page["result"])
    raise AssertionError("pagination did not end")


def newest_first(created: list[tuple[int, str]]) -> list[str]:
    """The expected order: tm_create descending, then id descending."""
    return [i for _, i in sorted(created, key=lambda c: (c[0], uuid.UUID(c[1])), reverse=True)]


@pytest.mark.parametrize("maker", MAKERS, ids=lambda m: m.__name__)
async def test_pages_visit_every_row_once_newest_first(
    tenant: Tenant, services: Services, clock: FakeClock, maker: Maker
) -> None:
    path, make = await maker(tenant, services)
    created: list[tuple[int, str]] = []
    for second, count in enumerate((4, 5, 1, 3)):  # groups of rows that share a tm_create
        for _ in range(count):
            created.append((second, (await make())["id"]))
        await clock.advance(1)
    ids, tokens = await walk(tenant, path, 3)
    assert ids == newest_first(created)
    assert len(set(ids)) == len(created) == 13
    assert tokens[-1] == ""
    # the default page size takes them all at once
    page = await tenant.ok("GET", path)
    assert [item["id"] for item in page["result"]] == ids


async def test_rows_that_all_share_one_tm_create(tenant: Tenant) -> None:
    outdial = await make_outdial(tenant)
    path = f"/v1.0/outdials/{outdial['id']}/targets"
    body = [{"destination_0": "tel:+15550001"} for _ in range(25)]
    made = await tenant.ok("POST", f"/v1.0/outdials/{outdial['id']}/targets_bulk", json=body)
    assert len({t["tm_create"] for t in made["result"]}) == 1
    for size in (1, 3, 7, 25, 100):
        ids, _ = await walk(tenant, path, size)
        assert ids == sorted((t["id"] for t in made["result"]), key=uuid.UUID, reverse=True)


async def test_token_format_and_a_page_after_the_last(tenant: Tenant) -> None:
    first = await make_outdial(tenant)
    page = await tenant.ok("GET", "/v1.0/outdials", params={"page_size": "1"})
    assert page["next_page_token"] == f"2026-01-05T12:00:00.000000Z_{first['id']}"
    rest = await tenant.ok("GET", "/v1.0/outdials", params={"page_token": page["next_page_token"]})
    assert rest == {"result": [], "next_page_token": ""}


async def test_deleted_rows_are_skipped(tenant: Tenant) -> None:
    made = [await make_outdial(tenant) for _ in range(7)]
    for o in made[::2]:
        await tenant.ok("DELETE", f"/v1.0/outdials/{o['id']}")
    ids, _ = await walk(tenant, "/v1.0/outdials", 2)
    assert sorted(ids) == sorted(o["id"] for o in made[1::2])


async def test_rows_added_while_paging_do_not_shift_pages(tenant: Tenant, clock: FakeClock) -> None:
    before = [await make_outdial(tenant) for _ in range(6)]
    page = await tenant.ok("GET", "/v1.0/outdials", params={"page_size": "3"})
    await clock.advance(1)
    for _ in range(4):
        await make_outdial(tenant)  # newer than every row on the pages still to come
    rest, _ = await walk(tenant, "/v1.0/outdials", 3, page["next_page_token"])
    seen = [o["id"] for o in page["result"]] + rest
    assert sorted(seen) == sorted(o["id"] for o in before)


@pytest.mark.parametrize(
    "form",
    [
        "{:%Y-%m-%dT%H:%M:%S.%f}Z",  # what VoIPBIN writes in next_page_token
        "{:%Y-%m-%d %H:%M:%S.%f}",  # the wire format of tm_create
        "{:%Y-%m-%dT%H:%M:%S.%f}+00:00",
        "{:%Y-%m-%dT%H:%M:%S}",
    ],
)
async def test_a_bare_timestamp_token_pages_strictly_before_it(
    tenant: Tenant, clock: FakeClock, form: str
) -> None:
    old = [await make_outdial(tenant) for _ in range(3)]
    await clock.advance(1.5)
    new = [await make_outdial(tenant) for _ in range(2)]
    boundary = datetime.strptime(new[0]["tm_create"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    token = form.format(boundary)
    page = await tenant.ok("GET", "/v1.0/outdials", params={"page_token": token})
    assert sorted(o["id"] for o in page["result"]) == sorted(o["id"] for o in old)
    # a token from the future lists everything
    page = await tenant.ok("GET", "/v1.0/outdials", params={"page_token": "2100-01-01T00:00:00Z"})
    assert len(page["result"]) == len(old) + len(new)
