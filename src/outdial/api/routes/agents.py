"""/v1.0/tags, /v1.0/agents and /v1.0/queues (issue 13)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from outdial.api.deps import CustomerId, PagingDep, ServicesDep
from outdial.api.responses import ok
from outdial.api.schemas import (
    AgentAddresses,
    AgentCreate,
    AgentPassword,
    AgentPhoneOffer,
    AgentStatusIn,
    AgentTagIds,
    AgentUpdate,
    QueueIn,
    TagIn,
)
from outdial.domain.errors import FailedPrecondition
from outdial.domain.ids import parse_id
from outdial.wire.agents import render_agent, render_queue, render_tag
from outdial.wire.paging import listing

router = APIRouter(prefix="/v1.0", tags=["agents"])


@router.post("/tags", operation_id="create_tag")
async def create_tag(s: ServicesDep, me: CustomerId, body: TagIn | None = None) -> JSONResponse:
    return ok(render_tag(await s.tags.create(me, body.fields() if body else {})))


@router.get("/tags", operation_id="list_tags")
async def list_tags(s: ServicesDep, me: CustomerId, paging: PagingDep) -> JSONResponse:
    return ok(listing(await s.tags.list(me, paging.cursor, paging.limit), render_tag))


@router.get("/tags/{id}", operation_id="get_tag")
async def get_tag(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(render_tag(await s.tags.get(me, parse_id(id))))


@router.put("/tags/{id}", operation_id="update_tag")
async def update_tag(
    id: str, s: ServicesDep, me: CustomerId, body: TagIn | None = None
) -> JSONResponse:
    return ok(render_tag(await s.tags.update(me, parse_id(id), body.fields() if body else {})))


@router.delete("/tags/{id}", operation_id="delete_tag")
async def delete_tag(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(render_tag(await s.tags.delete(me, parse_id(id))))


@router.post("/agents", operation_id="create_agent")
async def create_agent(
    s: ServicesDep, me: CustomerId, body: AgentCreate | None = None
) -> JSONResponse:
    return ok(render_agent(await s.agents.create(me, body.fields() if body else {})))


@router.get("/agents", operation_id="list_agents")
async def list_agents(s: ServicesDep, me: CustomerId, paging: PagingDep) -> JSONResponse:
    return ok(listing(await s.agents.list(me, paging.cursor, paging.limit), render_agent))


@router.get("/agents/{id}", operation_id="get_agent")
async def get_agent(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(render_agent(await s.agents.get(me, parse_id(id))))


@router.put("/agents/{id}", operation_id="update_agent")
async def update_agent(
    id: str, s: ServicesDep, me: CustomerId, body: AgentUpdate | None = None
) -> JSONResponse:
    fields = body.fields() if body else {}
    return ok(render_agent(await s.agents.update(me, parse_id(id), fields, part="basic")))


@router.put("/agents/{id}/status", operation_id="update_agent_status")
async def update_agent_status(
    id: str, s: ServicesDep, me: CustomerId, body: AgentStatusIn
) -> JSONResponse:
    fields = body.fields()
    return ok(render_agent(await s.agents.update(me, parse_id(id), fields, part="status")))


def _phones(request: Request) -> Any:
    """The process's `PhoneBook` (telephony/webrtc.py); 409 when browser phones are off."""
    phones = getattr(request.app.state, "phones", None)
    if phones is None:
        raise FailedPrecondition(
            "browser phones need `outdial serve --telephony sip` with the engine on",
            reason="WEBRTC_UNAVAILABLE",
        )
    return phones


def _phone(agent_id: str, sdp: str, state: str) -> dict[str, str]:
    return {"agent_id": agent_id, "type": "answer" if sdp else "", "sdp": sdp, "state": state}


@router.post("/agents/{id}/phone", operation_id="open_agent_phone")
async def open_agent_phone(
    id: str, request: Request, s: ServicesDep, me: CustomerId, body: AgentPhoneOffer
) -> JSONResponse:
    agent = await s.agents.get(me, parse_id(id))
    phones = _phones(request)
    answer = await phones.open(me, agent.id, body.sdp)
    return ok(_phone(str(agent.id), answer, phones.get(me, agent.id).state))


@router.get("/agents/{id}/phone", operation_id="get_agent_phone")
async def get_agent_phone(
    id: str, request: Request, s: ServicesDep, me: CustomerId
) -> JSONResponse:
    agent = await s.agents.get(me, parse_id(id))
    phones = getattr(request.app.state, "phones", None)
    phone = phones.get(me, agent.id) if phones is not None else None
    return ok(_phone(str(agent.id), "", phone.state if phone is not None else "closed"))


@router.delete("/agents/{id}/phone", operation_id="close_agent_phone")
async def close_agent_phone(
    id: str, request: Request, s: ServicesDep, me: CustomerId
) -> JSONResponse:
    agent = await s.agents.get(me, parse_id(id))
    phones = getattr(request.app.state, "phones", None)
    if phones is not None:
        await phones.close(me, agent.id)
    return ok(_phone(str(agent.id), "", "closed"))


@router.put("/agents/{id}/addresses", operation_id="update_agent_addresses")
async def update_agent_addresses(
    id: str, s: ServicesDep, me: CustomerId, body: AgentAddresses | None = None
) -> JSONResponse:
    fields = body.fields() if body else {}
    return ok(render_agent(await s.agents.update(me, parse_id(id), fields, part="addresses")))


@router.put("/agents/{id}/tag_ids", operation_id="update_agent_tag_ids")
async def update_agent_tag_ids(
    id: str, s: ServicesDep, me: CustomerId, body: AgentTagIds | None = None
) -> JSONResponse:
    fields = body.fields() if body else {}
    return ok(render_agent(await s.agents.update(me, parse_id(id), fields, part="tag_ids")))


@router.put("/agents/{id}/password", operation_id="update_agent_password")
async def update_agent_password(
    id: str, s: ServicesDep, me: CustomerId, body: AgentPassword
) -> JSONResponse:
    fields = body.fields()
    return ok(render_agent(await s.agents.update(me, parse_id(id), fields, part="password")))


@router.delete("/agents/{id}", operation_id="delete_agent")
async def delete_agent(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(render_agent(await s.agents.delete(me, parse_id(id))))


@router.post("/queues", operation_id="create_queue")
async def create_queue(s: ServicesDep, me: CustomerId, body: QueueIn | None = None) -> JSONResponse:
    return ok(render_queue(await s.queues.create(me, body.fields() if body else {})))


@router.get("/queues", operation_id="list_queues")
async def list_queues(s: ServicesDep, me: CustomerId, paging: PagingDep) -> JSONResponse:
    return ok(listing(await s.queues.list(me, paging.cursor, paging.limit), render_queue))


@router.get("/queues/{id}", operation_id="get_queue")
async def get_queue(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(render_queue(await s.queues.get(me, parse_id(id))))


@router.put("/queues/{id}", operation_id="update_queue")
async def update_queue(
    id: str, s: ServicesDep, me: CustomerId, body: QueueIn | None = None
) -> JSONResponse:
    fields = body.fields() if body else {}
    return ok(render_queue(await s.queues.update(me, parse_id(id), fields)))


@router.delete("/queues/{id}", operation_id="delete_queue")
async def delete_queue(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(render_queue(await s.queues.delete(me, parse_id(id))))
