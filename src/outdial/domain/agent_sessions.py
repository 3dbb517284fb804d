"""Agent sessions (issue 14, the agent page): what a signed-in agent is, and the few requests
it may make. Pure rules: no I/O.

An agent signs in with its own username and password (`POST /v1.0/login`, `kind: agent`) and
gets a session cookie like a customer user's. The session is least-privilege: it reads and sets
itself, reads the campaigncalls connected to it and sets their disposition; everything else
is 403 PERMISSION_DENIED (`AGENT_NOT_PERMITTED`)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

# An agent session's cookie token starts with this, so that a request's session is looked
# up in one table (a user's token is `secrets.token_urlsafe`, which never holds a dot).
AGENT_TOKEN_PREFIX = "a."
ACTIVE_WINDOW_S = 12 * 3600  # a call older than this no longer waits for the agent's code


@dataclass(frozen=True, slots=True)
class AgentSession:
    """A signed-in agent as the API sees it (never its cookie token)."""

    agent_id: uuid.UUID
    customer_id: uuid.UUID
    username: str
    csrf_token: str
    tm_expire: datetime


class Grant(Enum):
    """What an agent session may do with a request."""

    DENY = "deny"
    ALLOW = "allow"  # nothing more to check
    OWN_CALL = "own_call"  # the campaigncall in the path must be connected to this agent


_ID = r"([0-9A-Za-z-]{1,64})"
_RULES: tuple[tuple[str, re.Pattern[str], bool, Grant], ...] = (
    # (method, path, whether the path's id must be the agent's own, grant)
    ("GET", re.compile(r"/v1\.0/session"), False, Grant.ALLOW),
    ("POST", re.compile(r"/v1\.0/logout"), False, Grant.ALLOW),
    ("GET", re.compile(rf"/v1\.0/agents/{_ID}"), True, Grant.ALLOW),
    ("PUT", re.compile(rf"/v1\.0/agents/{_ID}/status"), True, Grant.ALLOW),
    ("GET", re.compile(rf"/v1\.0/agents/{_ID}/campaigncalls"), True, Grant.ALLOW),
    ("POST", re.compile(rf"/v1\.0/agents/{_ID}/phone"), True, Grant.ALLOW),  # the browser phone
    ("GET", re.compile(rf"/v1\.0/agents/{_ID}/phone"), True, Grant.ALLOW),
    ("DELETE", re.compile(rf"/v1\.0/agents/{_ID}/phone"), True, Grant.ALLOW),
    ("GET", re.compile(rf"/v1\.0/campaigncalls/{_ID}/context"), False, Grant.OWN_CALL),
    ("PUT", re.compile(rf"/v1\.0/campaigncalls/{_ID}/disposition"), False, Grant.OWN_CALL),
)


def agent_grant(method: str, path: str, agent_id: uuid.UUID) -> tuple[Grant, str]:
    """(what the agent session may do with `method path`, the id named in the path)."""
    method = "GET" if method == "HEAD" else method
    for allowed, pattern, own, grant in _RULES:
        if method != allowed:
            continue
        found = pattern.fullmatch(path)
        if found is None:
            continue
        named = found.group(1) if found.groups() else ""
        if own and named.lower() != str(agent_id):
            return Grant.DENY, named
        return grant, named
    return Grant.DENY, ""
