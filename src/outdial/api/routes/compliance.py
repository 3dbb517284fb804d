"""Why is a target (not) dialed, and proof of what was dialed (issue 6; docs/compliance.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from outdial.api.deps import CustomerId, PagingDep, ServicesDep
from outdial.api.responses import ok
from outdial.domain.ids import parse_id
from outdial.domain.models import Page
from outdial.wire import eligibility as wire_eligibility
from outdial.wire.common import ts
from outdial.wire.paging import page_token

router = APIRouter(prefix="/v1.0", tags=["compliance"])


@router.get("/outdials/{id}/targets/{target_id}/eligibility", operation_id="get_target_eligibility")
async def get_eligibility(
    id: str,
    target_id: str,
    s: ServicesDep,
    me: CustomerId,
    campaign_id: Annotated[str | None, Query(max_length=64)] = None,
) -> JSONResponse:
    """Whether the target would be dialed now and, if not, every reason and when it clears.
    `campaign_id` defaults to the campaign the outdial is attached to."""
    campaign = parse_id(campaign_id, field="campaign_id") if campaign_id else None
    found = await s.eligibility.target(
        me, parse_id(id), parse_id(target_id, field="target_id"), campaign
    )
    return ok(
        wire_eligibility.eligibility(
            found.dialable_now,
            found.campaign_id,
            found.reasons,
            priority=found.priority,
            order=found.order,
            order_detail=found.order_detail,
        )
    )


@router.get("/campaigns/{id}/preview", operation_id="get_campaign_preview")
async def get_preview(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    """How many targets are dialable now, later (by reason) and never, without dialing."""
    p = await s.eligibility.preview(me, parse_id(id))
    return ok(
        {
            "campaign_id": str(p.campaign_id),
            "campaign_status": p.campaign_status,
            "pacing_full": p.pacing_full,
            "total": p.total,
            "dialable_now": p.dialable_now,
            "later": p.later,
            "never": p.never,
            "tm_compute": ts(p.at),
        }
    )


@router.get("/campaigns/{id}/compliance", operation_id="get_campaign_compliance")
async def get_compliance(
    id: str, s: ServicesDep, me: CustomerId, paging: PagingDep
) -> JSONResponse:
    """The campaign's attempts and skips, newest first, paged like every list."""
    items, cursor = await s.eligibility.compliance(me, parse_id(id), paging.cursor, paging.limit)
    return ok({"result": items, "next_page_token": page_token(Page(items, cursor))})
