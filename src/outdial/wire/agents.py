"""Tags, agents and queues as JSON (VoIPBIN's shapes; an agent's password never appears)."""

from __future__ import annotations

from typing import Any

from outdial.domain.agent_models import Agent, Queue, Tag
from outdial.wire.common import ts


def render_tag(t: Tag) -> dict[str, Any]:
    return {
        "id": str(t.id),
        "customer_id": str(t.customer_id),
        "name": t.name,
        "detail": t.detail,
        "tm_create": ts(t.tm_create),
        "tm_update": ts(t.tm_update),
        "tm_delete": ts(t.tm_delete),
    }


def render_agent(a: Agent) -> dict[str, Any]:
    return {
        "id": str(a.id),
        "customer_id": str(a.customer_id),
        "username": a.username,
        "name": a.name,
        "detail": a.detail,
        "ring_method": a.ring_method,
        "status": a.status,
        "permission": a.permission,
        "tag_ids": [str(t) for t in a.tag_ids],
        "addresses": [x.to_json() for x in a.addresses],
        "tm_status": ts(a.tm_status),
        "tm_create": ts(a.tm_create),
        "tm_update": ts(a.tm_update),
        "tm_delete": ts(a.tm_delete),
        # outdial's own (docs/agents.md "Nailed-up agents"): shown only when set, so an agent
        # without it has exactly VoIPBIN's fields
        **({"nailed_up": True} if a.nailed_up else {}),
    }


def render_queue(q: Queue) -> dict[str, Any]:
    return {
        "id": str(q.id),
        "customer_id": str(q.customer_id),
        "name": q.name,
        "detail": q.detail,
        "routing_method": q.routing_method,
        "tag_ids": [str(t) for t in q.tag_ids],
        "wait_actions": q.wait_actions,
        "wait_timeout": q.wait_timeout,
        "service_timeout": q.service_timeout,
        "total_incoming_count": q.total_incoming_count,
        "total_serviced_count": q.total_serviced_count,
        "total_abandoned_count": q.total_abandoned_count,
        "tm_create": ts(q.tm_create),
        "tm_update": ts(q.tm_update),
        "tm_delete": ts(q.tm_delete),
    }
