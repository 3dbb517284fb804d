"""Agents (issue 13, SPEC 7): people who take answered calls, where they answer, their status.

Passwords are hashed with argon2id (argon2-cffi) and never leave this module: no response,
event or log carries the password or its hash. An agent is created `offline` (it takes no
call until it, or a supervisor, sets `available`)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher

from outdial.domain.address import Address, AddressType, parse_address
from outdial.domain.agent_models import Agent
from outdial.domain.agents import SIM_PREFIX, AgentStatus, RingMethod, parse_sim_agent, parse_status
from outdial.domain.destinations import DestinationRule
from outdial.domain.errors import InvalidArgument, NotFound
from outdial.domain.ids import new_id
from outdial.domain.models import Page
from outdial.domain.states import parse_enum
from outdial.services import events
from outdial.services.context import Context
from outdial.services.fields import Body, integer, text_fields
from outdial.services.lookup import owned
from outdial.services.tags import check_tags, parse_tag_ids
from outdial.storage import repo
from outdial.storage.agent_rows import agent as agent_from_row
from outdial.storage.codec import dump_json
from outdial.storage.pagination import Cursor, page_of
from outdial.storage.tables import agent_sessions, agents
from outdial.wire.agents import render_agent

NOT_FOUND = "AGENT_NOT_FOUND"
_TEXT = {"name": "name", "detail": "text", "username": "name"}
MAX_ADDRESSES = 10
MAX_PASSWORD = 1024
_hasher = PasswordHasher()  # argon2id with the library's current parameters


def hash_password(body: Body) -> str | None:
    """The argon2id hash of `password` when the body carries one ("" or null: no password,
    the agent cannot sign in)."""
    if "password" not in body:
        return None
    value = body["password"]
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise InvalidArgument("password must be a string")
    if len(value) > MAX_PASSWORD:
        raise InvalidArgument(f"password is longer than {MAX_PASSWORD} characters")
    return _hasher.hash(value)


def verify_password(password_hash: str, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except Exception:  # argon2's VerifyMismatchError, InvalidHash: not this password
        return False


class AgentService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def parse_addresses(self, raw: Any) -> list[Address]:
        """Where the agent answers: `tel` (E.164), `sip` (the private-network rule of SPEC 4
        applies), and on the simulated telephony `sim:agent?aht=..&wrap=..` (sip-typed)."""
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise InvalidArgument("addresses must be a list of addresses")
        if len(raw) > MAX_ADDRESSES:
            raise InvalidArgument(f"addresses has more than {MAX_ADDRESSES} entries")
        out: list[Address] = []
        rule = DestinationRule(self.ctx.network)
        for n, item in enumerate(raw):
            field = f"addresses[{n}]"
            target = item.get("target") if isinstance(item, dict) else None
            if isinstance(target, str) and target.startswith(SIM_PREFIX):
                if not self.ctx.sim_agents:
                    raise InvalidArgument(
                        f"{field}.target: sim: agents exist only on the simulated telephony"
                    )
                if item.get("type") not in ("sip", None, ""):
                    raise InvalidArgument(f"{field}.type must be sip for a sim: agent")
                parse_sim_agent(target, field)
                extra = {k: str(item.get(k) or "") for k in ("target_name", "name", "detail")}
                out.append(Address(AddressType.SIP, target, **extra))
                continue
            address = parse_address(item, field)
            if address is None:
                raise InvalidArgument(f"{field} must be set")
            if address.type not in (AddressType.SIP, AddressType.TEL):
                raise InvalidArgument(f"{field}.type must be sip or tel")
            rule.check(address, field)
            out.append(address)
        return out

    def _fields(self, body: Body) -> dict[str, Any]:
        values: dict[str, Any] = dict(text_fields(body, _TEXT))
        if body.get("ring_method") is not None:
            values["ring_method"] = parse_enum(RingMethod, body["ring_method"], "ring_method")
        permission = integer(body, "permission", low=0, high=0xFFFF)
        if permission is not None:
            values["permission"] = permission
        if body.get("nailed_up") is not None:
            if not isinstance(body["nailed_up"], bool):
                raise InvalidArgument("nailed_up must be a boolean")
            values["nailed_up"] = body["nailed_up"]
        return values

    async def create(self, customer_id: uuid.UUID, body: Body) -> Agent:
        values: dict[str, Any] = {
            "username": "",
            "name": "",
            "detail": "",
            "ring_method": RingMethod.RINGALL.value,
            "permission": 0,
            "nailed_up": False,
            "status": AgentStatus.OFFLINE.value,
        }
        values.update(self._fields(body))
        tag_ids = parse_tag_ids(body.get("tag_ids"))
        values["tag_ids"] = dump_json([str(t) for t in tag_ids])
        addresses = self.parse_addresses(body.get("addresses"))
        values["addresses"] = dump_json([a.to_json() for a in addresses])
        values["password_hash"] = hash_password(body) or ""
        now = self.ctx.now_us()
        values.update(
            id=new_id(), customer_id=customer_id, tm_status=now, tm_create=now, tm_update=now
        )
        async with self.ctx.db.write() as conn:
            await check_tags(conn, customer_id, tag_ids, "tag_ids")
            await repo.insert(conn, agents, values)
            row = await repo.get(conn, agents, values["id"])
        assert row is not None
        return agent_from_row(row)

    async def get(self, customer_id: uuid.UUID, agent_id: uuid.UUID) -> Agent:
        async with self.ctx.db.read() as conn:
            row = await owned(conn, agents, customer_id, agent_id, NOT_FOUND, "agent")
        return agent_from_row(row)

    async def list(self, customer_id: uuid.UUID, cursor: Cursor | None, limit: int) -> Page:
        where = [agents.c.customer_id == customer_id, agents.c.tm_delete.is_(None)]
        async with self.ctx.db.read() as conn:
            found = await repo.page(conn, agents, where, cursor, limit)
        return page_of([agent_from_row(r) for r in found])

    async def update(
        self, customer_id: uuid.UUID, agent_id: uuid.UUID, body: Body, *, part: str
    ) -> Agent:
        """PUT /agents/{id} ("basic": name, detail, ring_method, permission) and its
        sub-resources `status`, `addresses`, `tag_ids`, `password`."""
        tag_ids: list[uuid.UUID] = []
        if part == "basic":
            values = self._fields({k: v for k, v in body.items() if k != "username"})
        elif part == "status":
            values = {"status": parse_status(body.get("status")).value}
        elif part == "addresses":
            found = self.parse_addresses(body.get("addresses"))
            values = {"addresses": dump_json([a.to_json() for a in found])}
        elif part == "tag_ids":
            tag_ids = parse_tag_ids(body.get("tag_ids"))
            values = {"tag_ids": dump_json([str(t) for t in tag_ids])}
        elif part == "password":
            if not isinstance(body.get("password"), str) or not body["password"]:
                raise InvalidArgument("password must be a non-empty string")
            values = {"password_hash": hash_password(body)}
        else:
            raise InvalidArgument(f"unknown agent update {part!r}")
        now = self.ctx.now_us()
        values["tm_update"] = now
        if "status" in values:  # a manual status: the engine's call no longer holds the agent
            values.update(tm_status=now, campaigncall_id=None)
        async with self.ctx.db.write() as conn:
            await owned(conn, agents, customer_id, agent_id, NOT_FOUND, "agent")
            await check_tags(conn, customer_id, tag_ids, "tag_ids")
            row = await repo.update(conn, agents, agent_id, values, agents.c.tm_delete.is_(None))
            if row is None:
                raise NotFound(f"agent {agent_id} is deleted", reason=NOT_FOUND)
            if part == "password":  # the old password's sessions end
                await _end_sessions(conn, agent_id)
            agent = agent_from_row(row)
            if "status" in values:
                data = render_agent(agent)
                await events.emit(conn, customer_id, events.AGENT_STATUS_UPDATED, data)
        return agent

    async def delete(self, customer_id: uuid.UUID, agent_id: uuid.UUID) -> Agent:
        async with self.ctx.db.write() as conn:
            row = await owned(conn, agents, customer_id, agent_id, NOT_FOUND, "agent")
            row = await repo.soft_delete(conn, agents, row, self.ctx.now_us())
            await _end_sessions(conn, agent_id)
        return agent_from_row(row)


async def _end_sessions(conn: Any, agent_id: uuid.UUID) -> None:
    """An agent's sign-ins (the agent page) end with its password or itself."""
    await conn.execute(sa.delete(agent_sessions).where(agent_sessions.c.agent_id == agent_id))
