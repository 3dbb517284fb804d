"""The engine's side of agents (issue 13): reserve an agent for an answered callee, record the
connection or the abandon, free the agent after wrap-up, read the agents for pacing. Each
method is one transaction; every agent status change is a guarded UPDATE (from the status
it expects), so two engines never hand one agent two callees. Every status change writes an
`agent_status_updated` event, and the connection and the abandon a `campaigncall_updated`,
in the change's own transaction (services/events.py)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.address import Address, address_from_json
from outdial.domain.agents import AgentCandidate, AgentStatus, choose_agent, serves
from outdial.domain.ids import NIL_UUID
from outdial.domain.outcome import SERVICE_TIMEOUT
from outdial.services import events
from outdial.services.context import Context
from outdial.services.queues import count_outcome
from outdial.storage import agent_rows, repo, rows
from outdial.storage.codec import load_json
from outdial.storage.tables import agents, campaigncalls, queues
from outdial.wire.agents import render_agent
from outdial.wire.campaigncall import render as render_call

A = agents.c
CC = campaigncalls.c


@dataclass(frozen=True, slots=True)
class QueueInfo:
    id: uuid.UUID
    routing_method: str
    tag_ids: frozenset[uuid.UUID]
    wait_timeout: int
    wait_actions: tuple[dict[str, Any], ...] = ()
    service_timeout: int = 0


@dataclass(frozen=True, slots=True)
class Reserved:
    agent_id: uuid.UUID
    addresses: tuple[Address, ...]
    ring_method: str = "linear"


@dataclass(frozen=True, slots=True)
class AgentState:
    id: uuid.UUID
    status: str
    since_us: int
    on_call: bool = False  # `busy` because it talks on a call (not a wrap-up or manual busy)
    nailed_up: bool = False  # the desk keeps a leg open to it (docs/agents.md)
    address: Address | None = None  # its first address (where a nailed-up leg is dialed)


def _tags(text: str) -> frozenset[uuid.UUID]:
    return frozenset(uuid.UUID(v) for v in load_json(text or "[]"))


def _first_address(text: str) -> Address | None:
    found = load_json(text or "[]")
    return address_from_json(found[0]) if found else None


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
        actions = load_json(row.wait_actions or "[]")
        return QueueInfo(
            row.id,
            row.routing_method,
            _tags(row.tag_ids),
            row.wait_timeout,
            tuple(a for a in actions if isinstance(a, dict)),
            row.service_timeout,
        )

    async def agents(self, customer_id: uuid.UUID, queue: QueueInfo) -> list[AgentState]:
        """The live agents that serve the queue, with their status and since when."""
        async with self.ctx.db.read() as conn:
            found = await conn.execute(
                sa.select(
                    A.id,
                    A.status,
                    A.tm_status,
                    A.tag_ids,
                    A.campaigncall_id,
                    A.nailed_up,
                    A.addresses,
                ).where(A.customer_id == customer_id, A.tm_delete.is_(None))
            )
            rows = found.all()
        return [
            AgentState(
                r.id,
                r.status,
                r.tm_status,
                r.campaigncall_id is not None,
                bool(r.nailed_up),
                _first_address(r.addresses) if r.nailed_up else None,
            )
            for r in rows
            if serves(_tags(r.tag_ids), queue.tag_ids)
        ]

    async def reserve(
        self,
        customer_id: uuid.UUID,
        queue: QueueInfo,
        exclude: frozenset[uuid.UUID],
        only: uuid.UUID = NIL_UUID,
    ) -> Reserved | None:
        """An available agent that serves the queue, now `ringing` (routing order; a guarded
        UPDATE per candidate until one is still available). `only`: that agent of the
        customer or none, whatever its tags (a callback's agent)."""
        now = self.ctx.now_us()
        where = [
            A.customer_id == customer_id,
            A.status == AgentStatus.AVAILABLE.value,
            A.tm_delete.is_(None),
        ]
        if only != NIL_UUID:
            where.append(A.id == only)
        async with self.ctx.db.write() as conn:
            found = await conn.execute(sa.select(A.id, A.tag_ids, A.tm_status).where(*where))
            candidates = [AgentCandidate(r.id, _tags(r.tag_ids), r.tm_status) for r in found]
            tags = frozenset[uuid.UUID]() if only != NIL_UUID else queue.tag_ids
            order = choose_agent(candidates, tags, queue.routing_method, self.rng, exclude)
            for choice in order:
                taken = await conn.execute(
                    sa.update(agents)
                    .where(A.id == choice.id, A.status == AgentStatus.AVAILABLE.value)
                    .values(status=AgentStatus.RINGING.value, tm_status=now, tm_update=now)
                    .returning(*A)
                )
                row = taken.first()
                if row is not None:
                    await _agent_event(conn, row)
                    addresses = tuple(address_from_json(a) for a in load_json(row.addresses))
                    return Reserved(choice.id, addresses, row.ring_method)
        return None

    async def set_status(self, agent_id: uuid.UUID, to: AgentStatus, *from_: AgentStatus) -> bool:
        """Move an agent from one of `from_` to `to` (False: it was elsewhere, e.g. the agent
        went `away` meanwhile, which wins)."""
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            done = await conn.execute(
                sa.update(agents)
                .where(A.id == agent_id, A.status.in_([s.value for s in from_]))
                .values(status=to.value, tm_status=now, tm_update=now, campaigncall_id=None)
                .returning(*A)
            )
            row = done.first()
            if row is not None and to not in from_:
                await _agent_event(conn, row)
        return row is not None

    async def connected(
        self, call_id: uuid.UUID, queue_id: uuid.UUID, agent_id: uuid.UUID, at_us: int
    ) -> bool:
        """The agent answered: the campaigncall gets the agent and `tm_connect`, the queue a
        serviced call, the agent goes `ringing` -> `busy` on this call (False: the agent went
        elsewhere meanwhile, e.g. `away`; the call is connected all the same)."""
        async with self.ctx.db.write() as conn:
            found = await conn.execute(
                sa.update(campaigncalls)
                .where(CC.id == call_id)
                .values(agent_id=agent_id, tm_connect=at_us, tm_update=at_us)
                .returning(*CC)
            )
            await _call_event(conn, found.first())
            if queue_id != NIL_UUID:
                await count_outcome(conn, queue_id, serviced=True)
            moved = await conn.execute(
                sa.update(agents)
                .where(A.id == agent_id, A.status == AgentStatus.RINGING.value)
                .values(
                    status=AgentStatus.BUSY.value,
                    tm_status=at_us,
                    tm_update=at_us,
                    campaigncall_id=call_id,
                )
                .returning(*A)
            )
            row = moved.first()
            if row is not None:
                await _agent_event(conn, row)
        return row is not None

    async def abandoned(
        self, call_id: uuid.UUID, queue_id: uuid.UUID, at_us: int, *, mark: bool = True
    ) -> None:
        """Not connected within 2 s of the answer (`mark`: the campaigncall is `abandoned` and
        the number rests 72 h) and/or given up in the queue (`queue_id` set: the queue counts
        an abandoned call)."""
        async with self.ctx.db.write() as conn:
            if mark:
                found = await conn.execute(
                    sa.update(campaigncalls)
                    .where(CC.id == call_id)
                    .values(abandoned=True, tm_abandon=at_us, tm_update=at_us)
                    .returning(*CC)
                )
                await _call_event(conn, found.first())
            if queue_id != NIL_UUID:
                await count_outcome(conn, queue_id, serviced=False)

    async def service_timeout(self, call_id: uuid.UUID) -> None:
        """The conversation outlasted the queue's `service_timeout`: the campaigncall's
        `hangup_detail` says so (the attempt's end keeps it)."""
        async with self.ctx.db.write() as conn:
            await conn.execute(
                sa.update(campaigncalls)
                .where(CC.id == call_id)
                .values(hangup_detail=SERVICE_TIMEOUT)
            )

    async def callback_agent(self, call_id: uuid.UUID) -> uuid.UUID:
        """The agent this call is a callback for: the target's previous attempt set a
        callback with `callback_agent_id` (nil UUID: none)."""
        async with self.ctx.db.read() as conn:
            this = await conn.execute(
                sa.select(CC.outdial_target_id, CC.tm_create).where(CC.id == call_id)
            )
            row = this.first()
            if row is None:
                return NIL_UUID
            found = await conn.execute(
                sa.select(CC.callback_at, CC.callback_agent_id)
                .where(
                    CC.outdial_target_id == row.outdial_target_id,
                    CC.id != call_id,
                    CC.tm_create <= row.tm_create,
                )
                .order_by(CC.tm_create.desc())
                .limit(1)
            )
            before = found.first()
        if before is None or before.callback_at is None or before.callback_agent_id is None:
            return NIL_UUID
        return uuid.UUID(str(before.callback_agent_id))

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
        """Agents left `ringing`, or `busy` on a call (`campaigncall_id` set), by an engine
        that died (no change for longer than the longest call plus the grace) become
        `available` again; a wrap-up or a manual `busy` is left alone."""
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            done = await conn.execute(
                sa.update(agents)
                .where(
                    sa.or_(
                        A.status == AgentStatus.RINGING.value,
                        sa.and_(A.status == AgentStatus.BUSY.value, A.campaigncall_id.is_not(None)),
                    ),
                    A.tm_status < now - older_than_us,
                    A.tm_delete.is_(None),
                )
                .values(
                    status=AgentStatus.AVAILABLE.value,
                    tm_status=now,
                    tm_update=now,
                    campaigncall_id=None,
                )
                .returning(*A)
            )
            released = done.all()
            await events.emit_rows(
                conn,
                [
                    {"customer_id": r.customer_id, "type": events.AGENT_STATUS_UPDATED,
                     "data": render_agent(agent_rows.agent(r))}
                    for r in released
                ],
            )  # fmt: skip
        return len(released)


async def _agent_event(conn: AsyncConnection, row: Any) -> None:
    data = render_agent(agent_rows.agent(row))
    await events.emit(conn, row.customer_id, events.AGENT_STATUS_UPDATED, data)


async def _call_event(conn: AsyncConnection, row: Any) -> None:
    if row is not None:
        data = render_call(rows.campaigncall(row))
        await events.emit(conn, row.customer_id, events.CAMPAIGNCALL_UPDATED, data)
