"""/v1.0/dnclists and their entries (issue 6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from outdial.api.deps import CustomerId, PagingDep, ServicesDep
from outdial.api.responses import ok
from outdial.api.schemas import DncEntryIn, DncListIn
from outdial.domain.ids import parse_id
from outdial.wire import dnc as wire_dnc
from outdial.wire.paging import listing

router = APIRouter(prefix="/v1.0/dnclists", tags=["dnclists"])


@router.post("", operation_id="create_dnclist")
async def create_dnclist(
    s: ServicesDep, me: CustomerId, body: DncListIn | None = None
) -> JSONResponse:
    return ok(wire_dnc.dnclist(await s.dnclists.create(me, body.fields() if body else {})))


@router.get("", operation_id="list_dnclists")
async def list_dnclists(s: ServicesDep, me: CustomerId, paging: PagingDep) -> JSONResponse:
    page = await s.dnclists.list(me, paging.cursor, paging.limit)
    return ok(listing(page, wire_dnc.dnclist))


@router.get("/{id}", operation_id="get_dnclist")
async def get_dnclist(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(wire_dnc.dnclist(await s.dnclists.get(me, parse_id(id))))


@router.put("/{id}", operation_id="update_dnclist")
async def update_dnclist(
    id: str, s: ServicesDep, me: CustomerId, body: DncListIn | None = None
) -> JSONResponse:
    fields = body.fields() if body else {}
    return ok(wire_dnc.dnclist(await s.dnclists.update(me, parse_id(id), fields)))


@router.delete("/{id}", operation_id="delete_dnclist")
async def delete_dnclist(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(wire_dnc.dnclist(await s.dnclists.delete(me, parse_id(id))))


@router.post("/{id}/entries", operation_id="create_dnclist_entry")
async def create_entry(
    id: str, s: ServicesDep, me: CustomerId, body: DncEntryIn | None = None
) -> JSONResponse:
    fields = body.fields() if body else {}
    return ok(wire_dnc.dnc_entry(await s.dnclists.add(me, parse_id(id), fields)))


@router.post("/{id}/entries_bulk", operation_id="create_dnclist_entries_bulk")
async def create_entries_bulk(
    id: str,
    s: ServicesDep,
    me: CustomerId,
    body: list[dict[str, Any]] = Body(..., max_length=10_000),
) -> JSONResponse:
    """Up to 10,000 entries in one request, all or nothing."""
    created = await s.dnclists.add_many(me, parse_id(id), body)
    return ok({"result": [wire_dnc.dnc_entry(e) for e in created], "count": len(created)})


@router.get("/{id}/entries", operation_id="list_dnclist_entries")
async def list_entries(id: str, s: ServicesDep, me: CustomerId, paging: PagingDep) -> JSONResponse:
    page = await s.dnclists.entries(me, parse_id(id), paging.cursor, paging.limit)
    return ok(listing(page, wire_dnc.dnc_entry))


@router.get("/{id}/entries/{entry_id}", operation_id="get_dnclist_entry")
async def get_entry(id: str, entry_id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    found = await s.dnclists.get_entry(me, parse_id(id), parse_id(entry_id, field="entry_id"))
    return ok(wire_dnc.dnc_entry(found))


@router.delete("/{id}/entries/{entry_id}", operation_id="delete_dnclist_entry")
async def delete_entry(id: str, entry_id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    found = await s.dnclists.remove(me, parse_id(id), parse_id(entry_id, field="entry_id"))
    return ok(wire_dnc.dnc_entry(found))
