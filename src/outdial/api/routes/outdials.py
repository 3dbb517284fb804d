"""/v1.0/outdials and their targets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse

from outdial.api.deps import CustomerId, KeyDigest, PagingDep, ServicesDep
from outdial.api.errors import envelope
from outdial.api.list_filters import TargetFilterDep
from outdial.api.responses import ok
from outdial.api.schemas import (
    OutdialCampaignId,
    OutdialCreate,
    OutdialData,
    OutdialUpdate,
    TargetBulkItem,
    TargetCreate,
    TargetReset,
    TargetSchedule,
)
from outdial.domain.dedupe import Dedupe, DedupeAction
from outdial.domain.ids import parse_id
from outdial.services.importer import import_stream
from outdial.wire import outdial as wire_outdial
from outdial.wire import target as wire_target
from outdial.wire import target_history as wire_history
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
    dedupe: Annotated[Dedupe, Query()] = Dedupe.NONE,
    dedupe_action: Annotated[DedupeAction, Query()] = DedupeAction.REPORT,
) -> JSONResponse:
    """Up to 10,000 targets in one request, all or nothing; `dedupe` finds duplicates
    (reported, or with `dedupe_action=skip` left out and counted in `skipped_duplicates`)."""
    loaded = await s.targets.load(
        me, parse_id(id), [item.fields() for item in body], dedupe, dedupe_action
    )
    answer = {"result": [wire_target.render(t) for t in loaded.made], "count": len(loaded.made)}
    if dedupe is not Dedupe.NONE:
        answer["skipped_duplicates"] = loaded.skipped_duplicates
    return ok(answer)


# The body is the file itself: CSV (a header row, then one target a row) or JSON Lines.
IMPORT_TYPES = {
    b"text/csv": "csv",
    b"application/x-ndjson": "jsonl",
    b"application/jsonl": "jsonl",
    b"application/jsonlines": "jsonl",
}
_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


@router.post(
    "/{id}/targets_import", operation_id="import_outdial_targets", openapi_extra=_IMPORT_BODY
)
async def import_targets(
    id: str,
    request: Request,
    s: ServicesDep,
    me: CustomerId,
    dedupe: Annotated[Dedupe, Query()] = Dedupe.NONE,
    dedupe_action: Annotated[DedupeAction, Query()] = DedupeAction.REPORT,
) -> JSONResponse:
    """A whole CSV or JSON Lines file of targets (`Content-Type: text/csv` or
    `application/x-ndjson`), read as it arrives, imported all or nothing in one transaction
    with the CLI's checks and row errors (400 `IMPORT_REJECTED`, the rows in `errors`), and
    the CLI's `dedupe` (`skipped_duplicates` in the answer when it is not `none`)."""
    outdial_id = parse_id(id)
    sent = request.scope.get("state", {}).get("content_type", b"")
    kind = IMPORT_TYPES.get(sent)
    if kind is None:
        return envelope(
            request,
            415,
            "INVALID_ARGUMENT",
            "UNSUPPORTED_MEDIA_TYPE",
            "the body must be Content-Type: text/csv or application/x-ndjson",
        )
    report = await import_stream(
        s.ctx, me, outdial_id, request.stream(), kind, dedupe, dedupe_action
    )
    answer: dict[str, int] = {"imported": report.imported}
    if dedupe is not Dedupe.NONE:
        answer["skipped_duplicates"] = report.skipped_duplicates
    return ok(answer)


@router.get("/{id}/targets", operation_id="list_outdial_targets")
async def list_targets(
    id: str, s: ServicesDep, me: CustomerId, paging: PagingDep, where: TargetFilterDep
) -> JSONResponse:
    page = await s.targets.list_wire(me, parse_id(id), paging.cursor, paging.limit, where)
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


@router.post("/{id}/targets/{target_id}/reset", operation_id="reset_outdial_target")
async def reset_target(
    id: str,
    target_id: str,
    s: ServicesDep,
    me: CustomerId,
    key: KeyDigest,
    body: TargetReset | None = None,
) -> JSONResponse:
    """A done (or idle) target's tries back to 0 and status idle; 409 while in progress."""
    tid = parse_id(target_id, field="target_id")
    fields = body.fields() if body else {}
    return ok(wire_target.render(await s.resets.reset(me, parse_id(id), tid, fields, key)))


@router.get("/{id}/targets/{target_id}/history", operation_id="list_outdial_target_history")
async def list_target_history(
    id: str, target_id: str, s: ServicesDep, me: CustomerId, paging: PagingDep
) -> JSONResponse:
    tid = parse_id(target_id, field="target_id")
    page = await s.resets.history(me, parse_id(id), tid, paging.cursor, paging.limit)
    return ok(listing(page, wire_history.render))


@router.put("/{id}/targets/{target_id}/schedule", operation_id="schedule_outdial_target")
async def schedule_target(
    id: str, target_id: str, body: TargetSchedule, s: ServicesDep, me: CustomerId
) -> JSONResponse:
    """Not before `not_before` (and starting with `destination`, when given): issue 17."""
    tid = parse_id(target_id, field="target_id")
    return ok(wire_target.render(await s.targets.schedule(me, parse_id(id), tid, body.fields())))
