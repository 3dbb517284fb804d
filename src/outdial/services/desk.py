"""The engine's side of agents (issue 13): reserve an agent for an answered callee, record the
connection or the abandon, free the agent after wrap-up, read the agents for pacing. Each
method is one transaction; every agent status change is a guarded UPDATE (from the status
it expects), so two engines never hand one agent two callees."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from outdial.domain.address import Address, address_from_json
from outdial.domain.agents import AgentCandidate, AgentStatus, choose_agent, serves
from outdial.domain.ids import NIL_UUID
from outdial.services.context import Context
from outdial.services.queues import count_outcome
from outdial.storage import repo
from outdial.storage.codec import load_json
from outdial.storage.tables import agents, campaigncalls, queues

A = agents.c
CC = campaigncalls.c


@dataclass(frozen=True, slots=True)
class QueueInfo:
    id: uuid.UUID
    routing_method: str
    tag_ids: frozenset[uuid.UUID]
    wait_timeout: int


@dataclass(frozen=True, slots=True)
class Reserved:
    agent_id: uuid.UUID
    addresses: tuple[Address, ...]


@dataclass(frozen=True, slots=True)
class AgentState:
    id: uuid.UUID
    status: str
    since_us: int


def _tags(text: str) -> frozenset[uuid.UUID]:
    return frozenset(uuid.UUID(v) for v in load_json(text or "[]"))


class DeskService:
    def __init__(self, ctx: Context, rng: random.Random | None = None) -> None:
        self.ctx = ctx
        self.rng = rng or random.Random()

    async def queue(self, customer_id: uuid.UUID, queue_id: uuid.UUID) -> QueueInfo | None:
        """The campaign's queue, if it is the customer's and not deleted."""
        async with self.ctx.db.read() as conn:
            row = await repo.get(conn, queues, queue_id)
        if row is None or row.customer_id != customer_id or row.tm_delete is not None:
            return None
        return QueueInfo(row.id, row.routing_method, _tags(row.tag_ids), row.wait_timeout)

    async def agents(self, customer_id: uuid.UUID, queue: QueueInfo) -> list[AgentState]:
        """The live agents that serve the queue, with their status and since when."""
        async with self.ctx.db.read() as conn:
            found = await conn.execute(
                sa.select(A.id, A.status, A.tm_status, A.tag_ids).where(
                    A.customer_id == customer_id, A.tm_delete.is_(None)
                )
            )
            rows = found.all()
        return [
            AgentState(r.id, r.status, r.tm_status)
            for r in rows
            if serves(_tags(r.tag_ids), queue.tag_ids)
        ]

    async def reserve(
        self, customer_id: uuid.UUID, queue: QueueInfo, exclude: frozenset[uuid.UUID]
    ) -> Reserved | None:
        """An available agent that serves the queue, now `ringing` (routing order; a guarded
        UPDATE per candidate until one is still available)."""
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            found = await conn.execute(
                sa.select(A.id, A.tag_ids, A.tm_status).where(
                    A.customer_id == customer_id,
                    A.status == AgentStatus.AVAILABLE.value,
                    A.tm_delete.is_(None),
                )
            )
            candidates = [AgentCandidate(r.id, _tags(r.tag_ids), r.tm_status) for r in found]
            order = choose_agent(candidates, queue.tag_ids, queue.routing_method, self.rng, exclude)
            for choice in order:
                taken = await conn.execute(
                    sa.update(agents)
                    .where(A.id == choice.id, A.status == AgentStatus.AVAILABLE.value)
                    .values(status=AgentStatus.RINGING.value, tm_status=now, tm_update=now)
                    .returning(A.addresses)
                )
                row = taken.first()
                if row is not None:
                    addresses = tuple(address_from_json(a) for a in load_json(row[0]))
                    return Reserved(choice.id, addresses)
        return None

    async def set_status(self, agent_id: uuid.UUID, to: AgentStatus, *from_: AgentStatus) -> bool:
        """Move an agent from one of `from_` to `to` (False: it was elsewhere, e.g. the agent
        went `away` meanwhile, which wins)."""
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            done = await conn.execute(
                sa.update(agents)
                .where(A.id == agent_id, A.status.in_([s.value for s in from_]))
                .values(status=to.value, tm_status=now, tm_update=now)
            )
        return bool(done.rowcount)

    async def connected(
        self, call_id: uuid.UUID, queue_id: uuid.UUID, agent_id: uuid.UUID, at_us: int
    ) -> None:
        async with self.ctx.db.write() as conn:
            await conn.execute(
                sa.update(campaigncalls)
                .where(CC.id == call_id)
                .values(agent_id=agent_id, tm_connect=at_us)
            )
            if queue_id != NIL_UUID:
                await count_outcome(conn, queue_id, serviced=True)

    async def abandoned(self, call_id: uuid.UUID, queue_id: uuid.UUID, at_us: int) -> None:
        """Answered and not connected within 2 s: marked (the number then rests 72 h)."""
        async with self.ctx.db.write() as conn:
            await conn.execute(
                sa.update(campaigncalls)
                .where(CC.id == call_id)
                .values(abandoned=True, tm_abandon=at_us)
            )
            if queue_id != NIL_UUID:
                await count_outcome(conn, queue_id, serviced=False)

    async def open_calls(self, campaign_id: uuid.UUID) -> list[Any]:
        """The campaign's calls not done: (status, tm_create, tm_connect, abandoned)."""
        async with self.ctx.db.read() as conn:
            found = await conn.execute(
                sa.select(CC.status, CC.tm_create, CC.tm_connect, CC.abandoned).where(
                    CC.campaign_id == campaign_id, CC.status != "done"
                )
            )
            return list(found.all())

    async def release_stale(self, older_than_us: int) -> int:
        """Agents left `ringing` or `busy` by an engine that died (no change for longer than
        the longest call plus wrap-up) become `available` again."""
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            done = await conn.execute(
                sa.update(agents)
                .where(
                    A.status.in_([AgentStatus.RINGING.value]),
                    A.tm_status < now - older_than_us,
                    A.tm_delete.is_(None),
                )
                .values(status=AgentStatus.AVAILABLE.value, tm_status=now, tm_update=now)
            )
        return int(done.rowcount or 0)
