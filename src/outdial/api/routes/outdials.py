"""/v1.0/outdials and their targets."""

from __future__ import annotations

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from outdial.api.deps import CustomerId, PagingDep, ServicesDep
from outdial.api.responses import ok
from outdial.api.schemas import (
    OutdialCampaignId,
    OutdialCreate,
    OutdialData,
    OutdialUpdate,
    TargetBulkItem,
    TargetCreate,
    TargetSchedule,
)
from outdial.domain.ids import parse_id
from outdial.wire import outdial as wire_outdial
from outdial.wire import target as wire_target
from outdial.wire.paging import listing, page_token

router = APIRouter(prefix="/v1.0/outdials", tags=["outdials"])


@router.post("", operation_id="create_outdial")
async def create_outdial(
    s: ServicesDep, me: CustomerId, body: OutdialCreate | None = None
) -> JSONResponse:
    return ok(wire_outdial.render(await s.outdials.create(me, body.fields() if body else {})))


@router.get("", operation_id="list_outdials")
async def list_outdials(s: ServicesDep, me: CustomerId, paging: PagingDep) -> JSONResponse:
    return ok(listing(await s.outdials.list(me, paging.cursor, paging.limit), wire_outdial.render))


@router.get("/{id}", operation_id="get_outdial")
async def get_outdial(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(wire_outdial.render(await s.outdials.get(me, parse_id(id))))


@router.put("/{id}", operation_id="update_outdial")
async def update_outdial(
    id: str, s: ServicesDep, me: CustomerId, body: OutdialUpdate | None = None
) -> JSONResponse:
    return ok(
        wire_outdial.render(
            await s.outdials.update(me, parse_id(id), body.fields() if body else {})
        )
    )


@router.put("/{id}/campaign_id", operation_id="update_outdial_campaign_id")
async def update_outdial_campaign_id(
    id: str, s: ServicesDep, me: CustomerId, body: OutdialCampaignId | None = None
) -> JSONResponse:
    fields = body.fields() if body else {}
    fields.setdefault("campaign_id", None)
    return ok(wire_outdial.render(await s.outdials.update(me, parse_id(id), fields)))


@router.put("/{id}/data", operation_id="update_outdial_data")
async def update_outdial_data(
    id: str, s: ServicesDep, me: CustomerId, body: OutdialData | None = None
) -> JSONResponse:
    return ok(
        wire_outdial.render(
            await s.outdials.update(me, parse_id(id), body.fields() if body else {})
        )
    )


@router.delete("/{id}", operation_id="delete_outdial")
async def delete_outdial(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(wire_outdial.render(await s.outdials.delete(me, parse_id(id))))


@router.post("/{id}/targets", operation_id="create_outdial_target")
async def create_target(
    id: str, s: ServicesDep, me: CustomerId, body: TargetCreate | None = None
) -> JSONResponse:
    return ok(
        wire_target.render(await s.targets.create(me, parse_id(id), body.fields() if body else {}))
    )


@router.post("/{id}/targets_bulk", operation_id="create_outdial_targets_bulk")
async def create_targets_bulk(
    id: str,
    s: ServicesDep,
    me: CustomerId,
    body: list[TargetBulkItem] = Body(..., max_length=10_000),
) -> JSONResponse:
    """Up to 10,000 targets in one request, all or nothing."""
    created = await s.targets.create_many(me, parse_id(id), [item.fields() for item in body])
    return ok({"result": [wire_target.render(t) for t in created], "count": len(created)})


@router.get("/{id}/targets", operation_id="list_outdial_targets")
async def list_targets(id: str, s: ServicesDep, me: CustomerId, paging: PagingDep) -> JSONResponse:
    page = await s.targets.list_wire(me, parse_id(id), paging.cursor, paging.limit)
    return ok({"result": page.items, "next_page_token": page_token(page)})


@router.get("/{id}/targets/{target_id}", operation_id="get_outdial_target")
async def get_target(id: str, target_id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(
        wire_target.render(
            await s.targets.get(me, parse_id(id), parse_id(target_id, field="target_id"))
        )
    )


@router.delete("/{id}/targets/{target_id}", operation_id="delete_outdial_target")
async def delete_target(id: str, target_id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(
        wire_target.render(
            await s.targets.delete(me, parse_id(id), parse_id(target_id, field="target_id"))
        )
    )


@router.put("/{id}/targets/{target_id}/schedule", operation_id="schedule_outdial_target")
async def schedule_target(
    id: str, target_id: str, body: TargetSchedule, s: ServicesDep, me: CustomerId
) -> JSONResponse:
    """Not before `not_before` (and starting with `destination`, when given): issue 17."""
    tid = parse_id(target_id, field="target_id")
    return ok(wire_target.render(await s.targets.schedule(me, parse_id(id), tid, body.fields())))
