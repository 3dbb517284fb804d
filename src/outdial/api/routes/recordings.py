"""/v1.0/recordings: call recordings (issue 12), VoIPBIN's recording resource."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, JSONResponse

from outdial.api.deps import CustomerId, PagingDep, ServicesDep
from outdial.api.responses import ok
from outdial.domain.ids import parse_id
from outdial.wire import recording as wire_recording
from outdial.wire.paging import listing

router = APIRouter(prefix="/v1.0/recordings", tags=["recordings"])


@router.get("", operation_id="list_recordings")
async def list_recordings(
    s: ServicesDep,
    me: CustomerId,
    paging: PagingDep,
    campaigncall_id: Annotated[str, Query(max_length=64)] = "",
) -> JSONResponse:
    """The customer's recordings, newest first; `?campaigncall_id=` keeps one attempt's."""
    call = parse_id(campaigncall_id, field="campaigncall_id") if campaigncall_id else None
    page = await s.recordings.list(me, paging.cursor, paging.limit, call)
    return ok(listing(page, wire_recording.render))


@router.get("/{id}", operation_id="get_recording")
async def get_recording(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(wire_recording.render(await s.recordings.get(me, parse_id(id))))


@router.get(
    "/{id}/file",
    operation_id="get_recording_file",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}}}},
)
async def get_recording_file(id: str, s: ServicesDep, me: CustomerId) -> FileResponse:
    """The WAV file, streamed from disk."""
    recording_id = parse_id(id)
    path = await s.recordings.file(me, recording_id)
    return FileResponse(path, media_type="audio/wav", filename=f"{recording_id}.wav")


@router.delete("/{id}", operation_id="delete_recording")
async def delete_recording(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    """Delete the recording: the row is kept (readable by id), the file is removed."""
    return ok(wire_recording.render(await s.recordings.delete(me, parse_id(id))))
