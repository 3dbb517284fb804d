"""The agent page's API (issue 14): an agent signs in with its own password
(`POST /v1.0/login` with `kind: agent`, routes/users.py), finds the calls connected to it
(`GET /v1.0/agents/{id}/campaigncalls?active=1`) and reads one call's context
(`GET /v1.0/campaigncalls/{id}/context`: the target, the campaign's dispositions, the target's
call history). docs/agents.md, "Agent sign-in".

An agent session may use only these, `GET /v1.0/agents/{id}` and `PUT .../status` of its own
id, `PUT /v1.0/campaigncalls/{id}/disposition` of its own calls, `GET /v1.0/session` and
`POST /v1.0/logout` (api/auth.py and domain/agent_sessions.py refuse the rest with 403).
A customer's access key or user session may use the two read routes too (a supervisor)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from outdial.api.deps import CustomerId, PagingDep, ServicesDep
from outdial.api.responses import ok
from outdial.domain.agent_sessions import AgentSession
from outdial.domain.ids import parse_id
from outdial.services.agent_sessions import CallContext, check_agent_id
from outdial.wire import campaigncall as wire_campaigncall
from outdial.wire import target as wire_target
from outdial.wire.common import ts
from outdial.wire.paging import listing

router = APIRouter(prefix="/v1.0", tags=["agents"])


def render_session(s: AgentSession) -> dict[str, Any]:
    """What agent login and `GET /v1.0/session` answer for an agent."""
    return {
        "csrf_token": s.csrf_token,
        "customer_id": str(s.customer_id),
        "username": s.username,
        "user_id": "",
        "agent_id": str(s.agent_id),
        "tm_expire": ts(s.tm_expire),
        "kind": "agent",
    }


def agent_session(request: Request) -> AgentSession | None:
    found = request.scope.get("state", {}).get("agent_session")
    return found if isinstance(found, AgentSession) else None


@router.get("/agents/{id}/campaigncalls", operation_id="list_agent_campaigncalls")
async def list_agent_campaigncalls(
    id: str,
    request: Request,
    s: ServicesDep,
    me: CustomerId,
    paging: PagingDep,
    active: Annotated[str, Query(max_length=8)] = "",
) -> JSONResponse:
    """The campaigncalls connected to the agent, newest first; `active=1`: only those waiting
    for its disposition (none set yet, from the last 12 hours)."""
    agent_id = parse_id(id)
    check_agent_id(agent_session(request), agent_id)
    flag = active.strip().lower() in ("1", "true", "yes")
    page = await s.agent_sessions.calls(me, agent_id, paging.cursor, paging.limit, active=flag)
    return ok(listing(page, wire_campaigncall.render))


@router.get("/campaigncalls/{id}/context", operation_id="get_campaigncall_context")
async def get_campaigncall_context(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    """What the agent sees of a call: the campaigncall, its campaign's `dispositions`, the
    target (name, detail, data, destinations) and the target's other campaigncalls."""
    return ok(render_context(await s.agent_sessions.context(me, parse_id(id))))


def render_context(c: CallContext) -> dict[str, Any]:
    return {
        "campaigncall": wire_campaigncall.render(c.call),
        "campaign": {
            "id": str(c.campaign_id),
            "name": c.campaign_name,
            "dispositions": c.dispositions,
        },
        "target": wire_target.render(c.target) if c.target is not None else None,
        "history": [wire_campaigncall.render(h) for h in c.history],
    }
