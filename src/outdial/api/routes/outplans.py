"""/v1.0/outplans."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from outdial.api.deps import CustomerId, PagingDep, ServicesDep
from outdial.api.responses import ok
from outdial.api.schemas import DialInfo, OutplanCreate, OutplanUpdate
from outdial.domain.ids import parse_id
from outdial.wire import outplan as wire_outplan
from outdial.wire.paging import listing

router = APIRouter(prefix="/v1.0/outplans", tags=["outplans"])


@router.post("", operation_id="create_outplan")
async def create_outplan(
    s: ServicesDep, me: CustomerId, body: OutplanCreate | None = None
) -> JSONResponse:
    return ok(wire_outplan.render(await s.outplans.create(me, body.fields() if body else {})))


@router.get("", operation_id="list_outplans")
async def list_outplans(s: ServicesDep, me: CustomerId, paging: PagingDep) -> JSONResponse:
    return ok(listing(await s.outplans.list(me, paging.cursor, paging.limit), wire_outplan.render))


@router.get("/{id}", operation_id="get_outplan")
async def get_outplan(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(wire_outplan.render(await s.outplans.get(me, parse_id(id))))


@router.put("/{id}", operation_id="update_outplan")
async def update_outplan(
    id: str, s: ServicesDep, me: CustomerId, body: OutplanUpdate | None = None
) -> JSONResponse:
    fields = body.fields() if body else {}
    return ok(wire_outplan.render(await s.outplans.update(me, parse_id(id), fields, dial=False)))


@router.put("/{id}/dial_info", operation_id="update_outplan_dial_info")
async def update_dial_info(
    id: str, s: ServicesDep, me: CustomerId, body: DialInfo | None = None
) -> JSONResponse:
    fields = body.fields() if body else {}
    return ok(wire_outplan.render(await s.outplans.update(me, parse_id(id), fields, dial=True)))


@router.delete("/{id}", operation_id="delete_outplan")
async def delete_outplan(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(wire_outplan.render(await s.outplans.delete(me, parse_id(id))))
