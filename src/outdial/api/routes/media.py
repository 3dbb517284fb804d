"""/v1.0/media: uploaded WAV files, played by `play` actions as `media:<id>` (issue 10)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from outdial.api.deps import CustomerId, PagingDep, ServicesDep
from outdial.api.responses import ok
from outdial.domain.ids import parse_id
from outdial.wire import media as wire_media
from outdial.wire.paging import listing

router = APIRouter(prefix="/v1.0/media", tags=["media"])

# Declared as octet-stream (the WAV file's bytes); sent as audio/wav it is taken the same way.
_WAV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post("", operation_id="create_media", openapi_extra=_WAV_BODY)
async def create_media(
    request: Request,
    s: ServicesDep,
    me: CustomerId,
    name: Annotated[str, Query(max_length=255)] = "",
) -> JSONResponse:
    """The body is the WAV file itself (PCM, at most 16 MiB); `?name=` names it. Play it
    with `{"type": "play", "option": {"stream_urls": ["media:<id>"]}}`."""
    data = await request.body()
    return ok(wire_media.render(await s.media.create(me, data, name)))


@router.get("", operation_id="list_media")
async def list_media(s: ServicesDep, me: CustomerId, paging: PagingDep) -> JSONResponse:
    page = await s.media.list(me, paging.cursor, paging.limit)
    return ok(listing(page, wire_media.render))


@router.get("/{id}", operation_id="get_media")
async def get_media(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(wire_media.render(await s.media.get(me, parse_id(id))))


@router.get("/{id}/content", operation_id="get_media_content")
async def get_media_content(id: str, s: ServicesDep, me: CustomerId) -> Response:
    return Response(await s.media.content(me, parse_id(id)), media_type="audio/wav")


@router.delete("/{id}", operation_id="delete_media")
async def delete_media(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(wire_media.render(await s.media.delete(me, parse_id(id))))
