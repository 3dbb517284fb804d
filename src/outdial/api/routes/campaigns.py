"""/v1.0/campaigns and /v1.0/campaigncalls."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from outdial.api.deps import CustomerId, KeyDigest, PagingDep, ServicesDep
from outdial.api.list_filters import CallFilterDep
from outdial.api.responses import ok
from outdial.api.schemas import (
    CampaignActions,
    CampaignCreate,
    CampaignNextCampaignId,
    CampaignRecycle,
    CampaignServiceLevel,
    CampaignStatusIn,
    CampaignUpdate,
    DispositionIn,
    ResourceInfo,
)
from outdial.domain.ids import parse_id
from outdial.wire import campaign as wire_campaign
from outdial.wire import campaigncall as wire_campaigncall
from outdial.wire.paging import listing, parse_time

router = APIRouter(prefix="/v1.0", tags=["campaigns"])


@router.post("/campaigns", operation_id="create_campaign")
async def create_campaign(
    s: ServicesDep, me: CustomerId, body: CampaignCreate | None = None
) -> JSONResponse:
    return ok(wire_campaign.render(await s.campaigns.create(me, body.fields() if body else {})))


@router.get("/campaigns", operation_id="list_campaigns")
async def list_campaigns(s: ServicesDep, me: CustomerId, paging: PagingDep) -> JSONResponse:
    return ok(
        listing(await s.campaigns.list(me, paging.cursor, paging.limit), wire_campaign.render)
    )


@router.get("/campaigns/{id}", operation_id="get_campaign")
async def get_campaign(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(wire_campaign.render(await s.campaigns.get(me, parse_id(id))))


@router.put("/campaigns/{id}", operation_id="update_campaign")
async def update_campaign(
    id: str, s: ServicesDep, me: CustomerId, body: CampaignUpdate | None = None
) -> JSONResponse:
    fields = body.fields() if body else {}
    return ok(
        wire_campaign.render(await s.campaigns.update(me, parse_id(id), fields, part="basic"))
    )


@router.delete("/campaigns/{id}", operation_id="delete_campaign")
async def delete_campaign(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(wire_campaign.render(await s.campaigns.delete(me, parse_id(id))))


@router.put("/campaigns/{id}/status", operation_id="update_campaign_status")
async def update_status(
    id: str, body: CampaignStatusIn, s: ServicesDep, me: CustomerId
) -> JSONResponse:
    return ok(wire_campaign.render(await s.campaigns.set_status(me, parse_id(id), body.fields())))


@router.put("/campaigns/{id}/service_level", operation_id="update_campaign_service_level")
async def update_service_level(
    id: str, body: CampaignServiceLevel, s: ServicesDep, me: CustomerId
) -> JSONResponse:
    return ok(
        wire_campaign.render(
            await s.campaigns.update(me, parse_id(id), body.fields(), part="service_level")
        )
    )


@router.put("/campaigns/{id}/actions", operation_id="update_campaign_actions")
async def update_actions(
    id: str, body: CampaignActions, s: ServicesDep, me: CustomerId
) -> JSONResponse:
    return ok(
        wire_campaign.render(
            await s.campaigns.update(me, parse_id(id), body.fields(), part="actions")
        )
    )


@router.put("/campaigns/{id}/resource_info", operation_id="update_campaign_resource_info")
async def update_resource_info(
    id: str, s: ServicesDep, me: CustomerId, body: ResourceInfo | None = None
) -> JSONResponse:
    fields = body.fields() if body else {}
    return ok(
        wire_campaign.render(
            await s.campaigns.update(me, parse_id(id), fields, part="resource_info")
        )
    )


@router.put("/campaigns/{id}/next_campaign_id", operation_id="update_campaign_next_campaign_id")
async def update_next_campaign(
    id: str, s: ServicesDep, me: CustomerId, body: CampaignNextCampaignId | None = None
) -> JSONResponse:
    fields = body.fields() if body else {}
    fields.setdefault("next_campaign_id", None)
    return ok(
        wire_campaign.render(
            await s.campaigns.update(me, parse_id(id), fields, part="next_campaign_id")
        )
    )


@router.post("/campaigns/{id}/recycle", operation_id="recycle_campaign")
async def recycle_campaign(
    id: str, s: ServicesDep, me: CustomerId, key: KeyDigest, body: CampaignRecycle | None = None
) -> JSONResponse:
    """The done targets of the campaign's outdial that match the filter back to idle with
    fresh tries, in one statement: `{"recycled": N}`."""
    fields = body.fields() if body else {}
    before = fields.get("last_attempt_before")
    at = parse_time(before, "last_attempt_before") if before else None
    return ok({"recycled": await s.resets.recycle(me, parse_id(id), fields, at, key)})


@router.get("/campaigns/{id}/campaigncalls", operation_id="list_campaign_campaigncalls")
async def list_campaign_calls(
    id: str, s: ServicesDep, me: CustomerId, paging: PagingDep, where: CallFilterDep
) -> JSONResponse:
    page = await s.campaigncalls.list(
        me, paging.cursor, paging.limit, campaign_id=parse_id(id), filter_=where
    )
    return ok(listing(page, wire_campaigncall.render))


@router.get("/campaigncalls", operation_id="list_campaigncalls")
async def list_calls(
    s: ServicesDep, me: CustomerId, paging: PagingDep, where: CallFilterDep
) -> JSONResponse:
    page = await s.campaigncalls.list(me, paging.cursor, paging.limit, filter_=where)
    return ok(listing(page, wire_campaigncall.render))


@router.get("/campaigncalls/{id}", operation_id="get_campaigncall")
async def get_call(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(wire_campaigncall.render(await s.campaigncalls.get(me, parse_id(id))))


@router.put("/campaigncalls/{id}/disposition", operation_id="update_campaigncall_disposition")
async def set_disposition(
    id: str, s: ServicesDep, me: CustomerId, body: DispositionIn | None = None
) -> JSONResponse:
    fields = body.fields() if body else {}
    return ok(wire_campaigncall.render(await s.dispositions.set(me, parse_id(id), fields)))


@router.delete("/campaigncalls/{id}", operation_id="delete_campaigncall")
async def delete_call(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(wire_campaigncall.render(await s.campaigncalls.delete(me, parse_id(id))))
