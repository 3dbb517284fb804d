"""Rows of the agent tables as domain values (issue 13)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from outdial.domain.address import address_from_json
from outdial.domain.agent_models import Agent, Queue, Tag
from outdial.storage.codec import load_json
from outdial.storage.timeconv import from_us, opt_from_us

Row = sa.Row[Any]


def _ids(text: str) -> tuple[uuid.UUID, ...]:
    return tuple(uuid.UUID(v) for v in load_json(text or "[]"))


def tag(row: Row) -> Tag:
    return Tag(
        id=row.id,
        customer_id=row.customer_id,
        name=row.name,
        detail=row.detail,
        tm_create=from_us(row.tm_create),
        tm_update=from_us(row.tm_update),
        tm_delete=opt_from_us(row.tm_delete),
    )


def agent(row: Row) -> Agent:
    addresses = [address_from_json(raw) for raw in load_json(row.addresses or "[]")]
    return Agent(
        id=row.id,
        customer_id=row.customer_id,
        username=row.username,
        name=row.name,
        detail=row.detail,
        ring_method=row.ring_method,
        status=row.status,
        permission=int(row.permission),
        tag_ids=_ids(row.tag_ids),
        addresses=tuple(addresses),
        tm_status=from_us(row.tm_status),
        tm_create=from_us(row.tm_create),
        tm_update=from_us(row.tm_update),
        tm_delete=opt_from_us(row.tm_delete),
        nailed_up=bool(row.nailed_up),
    )


def queue(row: Row) -> Queue:
    return Queue(
        id=row.id,
        customer_id=row.customer_id,
        name=row.name,
        detail=row.detail,
        routing_method=row.routing_method,
        tag_ids=_ids(row.tag_ids),
        wait_actions=load_json(row.wait_actions or "[]"),
        wait_timeout=row.wait_timeout,
        service_timeout=row.service_timeout,
        total_incoming_count=int(row.total_incoming_count),
        total_serviced_count=int(row.total_serviced_count),
        total_abandoned_count=int(row.total_abandoned_count),
        tm_create=from_us(row.tm_create),
        tm_update=from_us(row.tm_update),
        tm_delete=opt_from_us(row.tm_delete),
    )
