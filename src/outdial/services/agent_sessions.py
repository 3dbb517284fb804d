"""Agent sign-in and the agent's desk (issue 14, the agent page).

An agent signs in with the username and password the customer gave it (`POST /v1.0/agents`,
`PUT /v1.0/agents/{id}/password`): the password is checked against its argon2id hash in a
worker thread, under the same concurrency bound and the same failed-login throttle as customer
users (services/users.py; the username counted apart as `agent:<name>`, the client address
shared). A session is a random cookie token (prefixed `a.`) of which only the SHA-256 is
stored in `agent_sessions`, with a CSRF token and an absolute expiry; logging out, deleting
the agent or changing its password ends it at once.

The desk: the agent's campaigncalls (those `agent_id` names), the ones still waiting for its
disposition, and one call's context (target, campaign dispositions, the target's history).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from outdial.domain.agent_sessions import (
    ACTIVE_WINDOW_S,
    AGENT_TOKEN_PREFIX,
    AgentSession,
    Level,
    level_of,
)
from outdial.domain.errors import NotFound, PermissionDenied, Unauthenticated
from outdial.domain.models import Campaigncall, Page, Target
from outdial.domain.users import encodable
from outdial.services.context import Context
from outdial.services.users import UserService, hash_session_token
from outdial.storage import repo, rows
from outdial.storage.codec import load_json
from outdial.storage.pagination import Cursor, page_of
from outdial.storage.sessions import open_session
from outdial.storage.tables import (
    agent_sessions,
    agents,
    campaigncalls,
    campaigns,
    customers,
    outdial_targets,
)
from outdial.storage.timeconv import from_us

MAX_SAME_USERNAME = 5  # agents of several customers may share a username: check a few
MAX_USERNAME = 255
HISTORY = 20  # the target's previous campaigncalls shown with a call
CC = campaigncalls.c


@dataclass(frozen=True, slots=True)
class AgentLogin:
    token: str  # the cookie's value: shown once, only its hash is stored
    session: AgentSession


@dataclass(frozen=True, slots=True)
class CallContext:
    """What an agent sees of a call connected to it."""

    call: Campaigncall
    campaign_id: uuid.UUID
    campaign_name: str
    dispositions: list[str]
    target: Target | None
    history: list[Campaigncall]


class AgentSessionService:
    def __init__(self, ctx: Context, users: UserService) -> None:
        self.ctx = ctx
        self.users = users  # its throttle and password check are shared

    # ---- sign-in -------------------------------------------------------------------------

    async def login(self, username: Any, password: Any, address: str) -> AgentLogin:
        """A session for the agent whose username and password match; 401
        INVALID_CREDENTIALS otherwise (an unknown username alike, an agent without a
        password too); 429 LOGIN_THROTTLED after too many failures."""
        name = username.strip() if isinstance(username, str) else ""
        key = "agent:" + name.lower()
        users = self.users
        users.check_throttle(key, address)
        if (
            not name
            or len(name) > MAX_USERNAME
            or not encodable(name)
            or not isinstance(password, str)
            or not password
            or len(password) > 1024
            or not encodable(password)
        ):
            users.record_failure(key, address)
            raise _bad_login()
        async with self.ctx.db.read() as conn:
            found = (
                await conn.execute(
                    sa.select(agents.c.id, agents.c.customer_id, agents.c.username)
                    .add_columns(agents.c.password_hash, agents.c.permission)
                    .select_from(agents.join(customers, customers.c.id == agents.c.customer_id))
                    .where(
                        agents.c.username == name,
                        agents.c.password_hash != "",
                        agents.c.tm_delete.is_(None),
                        customers.c.tm_delete.is_(None),
                    )
                    .order_by(agents.c.tm_create, agents.c.id)
                    .limit(MAX_SAME_USERNAME)
                )
            ).all()
        match = None
        candidates: list[Any] = list(found) or [None]
        for row in candidates:
            ok = await users.verify_password(row.password_hash if row else None, password)
            if ok and row is not None:
                match = row
                break
        if match is None:
            users.record_failure(key, address)
            raise _bad_login()
        users.forget_failures(key)
        return await self._open(match)

    async def _open(self, row: Any) -> AgentLogin:
        token = AGENT_TOKEN_PREFIX + secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self.ctx.now_us()
        expire = now + int(self.users.policy.ttl_s * 1_000_000)
        async with self.ctx.db.write() as conn:
            await open_session(
                conn,
                agent_sessions,
                ("agent_id", row.id),
                row.customer_id,
                token_hash=hash_session_token(token),
                csrf_token=csrf,
                now=now,
                expire=expire,
            )
        session = AgentSession(
            row.id, row.customer_id, row.username, csrf, from_us(expire), int(row.permission)
        )
        return AgentLogin(token, session)

    async def session(self, digest: str) -> AgentSession:
        """The live agent session whose cookie token has this hash; 401 SESSION_EXPIRED when
        it has ended (logged out, expired, its agent or customer deleted)."""
        S, A = agent_sessions, agents
        now = self.ctx.now_us()
        query = (
            sa.select(S.c.agent_id, S.c.customer_id, S.c.csrf_token, S.c.tm_expire, A.c.username)
            .add_columns(A.c.permission)
            .select_from(
                S.join(A, A.c.id == S.c.agent_id).join(customers, customers.c.id == S.c.customer_id)
            )
            .where(
                S.c.token_hash == digest,
                S.c.tm_expire > now,
                A.c.tm_delete.is_(None),
                customers.c.tm_delete.is_(None),
            )
        )
        async with self.ctx.db.query() as conn:
            found = (await conn.execute(query)).first()
        if found is None:
            raise Unauthenticated("the session has ended; sign in again", reason="SESSION_EXPIRED")
        return AgentSession(
            found.agent_id,
            found.customer_id,
            found.username,
            found.csrf_token,
            from_us(found.tm_expire),
            int(found.permission),
        )

    async def session_valid(self, digest: str) -> bool:
        try:
            await self.session(digest)
        except Unauthenticated:
            return False
        return True

    async def logout(self, digest: str) -> None:
        async with self.ctx.db.write() as conn:
            await conn.execute(
                sa.delete(agent_sessions).where(agent_sessions.c.token_hash == digest)
            )

    async def end_all(self, agent_id: uuid.UUID) -> None:
        """End every session of the agent (its password changed, or it was deleted)."""
        async with self.ctx.db.write() as conn:
            await conn.execute(
                sa.delete(agent_sessions).where(agent_sessions.c.agent_id == agent_id)
            )

    # ---- the desk ------------------------------------------------------------------------

    async def owns_call(self, session: AgentSession, call_id: str) -> bool:
        """Whether the campaigncall is connected to this agent (of its customer)."""
        try:
            parsed = uuid.UUID(call_id)
        except ValueError:
            return False
        async with self.ctx.db.query() as conn:
            found = (
                await conn.execute(
                    sa.select(CC.id).where(
                        CC.id == parsed,
                        CC.customer_id == session.customer_id,
                        CC.agent_id == session.agent_id,
                    )
                )
            ).first()
        return found is not None

    async def calls(
        self,
        customer_id: uuid.UUID,
        agent_id: uuid.UUID,
        cursor: Cursor | None,
        limit: int,
        *,
        active: bool,
    ) -> Page:
        """The agent's campaigncalls, newest first. `active`: only those still waiting for
        its disposition (none set yet, created within the last 12 hours)."""
        where = [
            CC.customer_id == customer_id,
            CC.agent_id == agent_id,
            CC.tm_delete.is_(None),
        ]
        if active:
            since = self.ctx.now_us() - ACTIVE_WINDOW_S * 1_000_000
            where += [CC.disposition == "", CC.tm_create >= since]
        async with self.ctx.db.read() as conn:
            agent = await repo.get(conn, agents, agent_id)
            if agent is None or agent.customer_id != customer_id:
                raise NotFound(f"agent {agent_id} not found", reason="AGENT_NOT_FOUND")
            found = await repo.page(conn, campaigncalls, where, cursor, limit)
        return page_of([rows.campaigncall(r) for r in found])

    async def context(self, customer_id: uuid.UUID, call_id: uuid.UUID) -> CallContext:
        """A campaigncall with its target (name, detail, data, destinations), its campaign's
        dispositions and the target's other campaigncalls, newest first."""
        async with self.ctx.db.read() as conn:
            row = await repo.get(conn, campaigncalls, call_id)
            if row is None or row.customer_id != customer_id:
                raise NotFound(f"campaigncall {call_id} not found", reason="CAMPAIGNCALL_NOT_FOUND")
            campaign = await repo.get(conn, campaigns, row.campaign_id)
            target_row = await repo.get(conn, outdial_targets, row.outdial_target_id)
            history = (
                await conn.execute(
                    sa.select(campaigncalls)
                    .where(
                        CC.outdial_target_id == row.outdial_target_id,
                        CC.customer_id == customer_id,
                        CC.id != call_id,
                        CC.tm_delete.is_(None),
                    )
                    .order_by(CC.tm_create.desc(), CC.id.desc())
                    .limit(HISTORY)
                )
            ).all()
        target = rows.target(target_row) if target_row is not None else None
        return CallContext(
            rows.campaigncall(row),
            row.campaign_id,
            campaign.name if campaign is not None else "",
            list(load_json(campaign.dispositions)) if campaign is not None else [],
            target,
            [rows.campaigncall(r) for r in history],
        )


def check_agent_id(session: AgentSession | None, agent_id: uuid.UUID) -> None:
    """A route reached by an agent session about another agent (the middleware already
    refuses it; kept here as a second lock): only a manager's or an admin's may."""
    if (
        session is not None
        and session.agent_id != agent_id
        and level_of(session.permission) is Level.AGENT
    ):
        raise PermissionDenied("an agent reads only itself", reason="AGENT_NOT_PERMITTED")


def _bad_login() -> Unauthenticated:
    return Unauthenticated("the username or password is wrong", reason="INVALID_CREDENTIALS")
