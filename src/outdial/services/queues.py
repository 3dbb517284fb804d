"""Queues (issue 13, SPEC 7): which agents serve answered calls (by tag), in what order
(`routing_method`), what a waiting callee hears (`wait_actions`, up to `wait_timeout` ms)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.actions import ActionRules, parse_actions
from outdial.domain.agent_models import Queue
from outdial.domain.agents import RoutingMethod
from outdial.domain.errors import NotFound
from outdial.domain.ids import new_id
from outdial.domain.models import Page
from outdial.domain.states import parse_enum
from outdial.services.context import Context
from outdial.services.fields import Body, integer, text_fields
from outdial.services.lookup import owned
from outdial.services.tags import check_tags, parse_tag_ids
from outdial.storage import repo
from outdial.storage.agent_rows import queue as queue_from_row
from outdial.storage.codec import dump_json
from outdial.storage.pagination import Cursor, page_of
from outdial.storage.tables import queues

NOT_FOUND = "QUEUE_NOT_FOUND"
_TEXT = {"name": "name", "detail": "text"}
MAX_TIMEOUT = 86_400_000  # a day, in ms


async def count_outcome(conn: AsyncConnection, queue_id: uuid.UUID, *, serviced: bool) -> None:
    """One more callee through the queue: serviced (connected) or abandoned."""
    q = queues.c
    column = q.total_serviced_count if serviced else q.total_abandoned_count
    await conn.execute(
        sa.update(queues)
        .where(q.id == queue_id)
        .values({q.total_incoming_count: q.total_incoming_count + 1, column: column + 1})
    )


class QueueService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rules = ActionRules(ctx.network, ctx.max_call_ms)

    def _fields(self, body: Body) -> dict[str, Any]:
        values: dict[str, Any] = dict(text_fields(body, _TEXT))
        if body.get("routing_method") not in (None, ""):
            method = parse_enum(RoutingMethod, body["routing_method"], "routing_method")
            values["routing_method"] = method.value
        for name in ("wait_timeout", "service_timeout"):
            value = integer(body, name, low=0, high=MAX_TIMEOUT)
            if value is not None:
                values[name] = value
        if "wait_actions" in body:
            actions = parse_actions(body["wait_actions"], "wait_actions", rules=self.rules)
            values["wait_actions"] = dump_json(actions)
        return values

    async def create(self, customer_id: uuid.UUID, body: Body) -> Queue:
        values: dict[str, Any] = {
            "name": "",
            "detail": "",
            "routing_method": RoutingMethod.RANDOM.value,
            "wait_actions": "[]",
            "wait_timeout": 0,
            "service_timeout": 0,
        }
        values.update(self._fields(body))
        tag_ids = parse_tag_ids(body.get("tag_ids"))
        values["tag_ids"] = dump_json([str(t) for t in tag_ids])
        now = self.ctx.now_us()
        values.update(id=new_id(), customer_id=customer_id, tm_create=now, tm_update=now)
        async with self.ctx.db.write() as conn:
            await check_tags(conn, customer_id, tag_ids, "tag_ids")
            await repo.insert(conn, queues, values)
            row = await repo.get(conn, queues, values["id"])
        assert row is not None
        return queue_from_row(row)

    async def get(self, customer_id: uuid.UUID, queue_id: uuid.UUID) -> Queue:
        async with self.ctx.db.read() as conn:
            row = await owned(conn, queues, customer_id, queue_id, NOT_FOUND, "queue")
        return queue_from_row(row)

    async def list(self, customer_id: uuid.UUID, cursor: Cursor | None, limit: int) -> Page:
        where = [queues.c.customer_id == customer_id, queues.c.tm_delete.is_(None)]
        async with self.ctx.db.read() as conn:
            found = await repo.page(conn, queues, where, cursor, limit)
        return page_of([queue_from_row(r) for r in found])

    async def update(self, customer_id: uuid.UUID, queue_id: uuid.UUID, body: Body) -> Queue:
        values = self._fields(body)
        tag_ids: list[uuid.UUID] = []
        if "tag_ids" in body:
            tag_ids = parse_tag_ids(body.get("tag_ids"))
            values["tag_ids"] = dump_json([str(t) for t in tag_ids])
        values["tm_update"] = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            await owned(conn, queues, customer_id, queue_id, NOT_FOUND, "queue")
            await check_tags(conn, customer_id, tag_ids, "tag_ids")
            row = await repo.update(conn, queues, queue_id, values, queues.c.tm_delete.is_(None))
        if row is None:
            raise NotFound(f"queue {queue_id} is deleted", reason=NOT_FOUND)
        return queue_from_row(row)

    async def delete(self, customer_id: uuid.UUID, queue_id: uuid.UUID) -> Queue:
        async with self.ctx.db.write() as conn:
            row = await owned(conn, queues, customer_id, queue_id, NOT_FOUND, "queue")
            row = await repo.soft_delete(conn, queues, row, self.ctx.now_us())
        return queue_from_row(row)


__all__ = ["QueueService", "count_outcome"]
