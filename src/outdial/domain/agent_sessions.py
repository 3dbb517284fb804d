"""Agent sessions (issue 14, the agent page): what a signed-in agent is, and the few requests
it may make. Pure rules: no I/O.

An agent signs in with its own username and password (`POST /v1.0/login`, `kind: agent`) and
gets a session cookie like a customer user's. The session is least-privilege: it reads and sets
itself, reads the campaigncalls connected to it and sets their disposition; everything else
is 403 PERMISSION_DENIED (`AGENT_NOT_PERMITTED`).

The agent's `permission` (VoIPBIN's bits, bin-agent-manager's agent.Permission) widens that:
the customer manager bit (0x0040) adds a supervisor's reading (GET) of the customer's
campaigns, campaigncalls, agents, queues and outdials with their targets, and setting any
agent's status; the customer admin bit (0x0020, also in 0xFFFF "all") lets the session do
what a customer user's may. The project bits (0x000F) and the plain agent bit (0x0010) add
nothing here (one customer's service has no project level)."""

from __future__ import annotations

import json
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
    permission: int = 0  # the agent's bits, read with the session at every request


# VoIPBIN's permission bits (bin-agent-manager models/agent/agent.go)
PERMISSION_NONE = 0x0000
PERMISSION_ALL = 0xFFFF
PERMISSION_CUSTOMER_AGENT = 0x0010
PERMISSION_CUSTOMER_ADMIN = 0x0020
PERMISSION_CUSTOMER_MANAGER = 0x0040


class Level(Enum):
    """How far an agent session's rights go (from its permission bits)."""

    AGENT = "agent"  # itself, its status, its own calls
    MANAGER = "manager"  # + a supervisor's reading, other agents' status
    ADMIN = "admin"  # what a customer user may do


def level_of(permission: int) -> Level:
    """The admin bit wins over the manager bit; neither: a plain agent."""
    if permission & PERMISSION_CUSTOMER_ADMIN:
        return Level.ADMIN
    if permission & PERMISSION_CUSTOMER_MANAGER:
        return Level.MANAGER
    return Level.AGENT


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
    ("GET", re.compile(rf"/v1\.0/agents/{_ID}/events"), True, Grant.ALLOW),  # its own stream
    ("POST", re.compile(rf"/v1\.0/agents/{_ID}/phone"), True, Grant.ALLOW),  # the browser phone
    ("GET", re.compile(rf"/v1\.0/agents/{_ID}/phone"), True, Grant.ALLOW),
    ("DELETE", re.compile(rf"/v1\.0/agents/{_ID}/phone"), True, Grant.ALLOW),
    ("GET", re.compile(rf"/v1\.0/campaigncalls/{_ID}/context"), False, Grant.OWN_CALL),
    ("PUT", re.compile(rf"/v1\.0/campaigncalls/{_ID}/disposition"), False, Grant.OWN_CALL),
)

# What the manager bit adds (any id of the customer: the routes scope every read to it).
_MANAGER_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("GET", re.compile(r"/v1\.0/campaigns")),
    ("GET", re.compile(rf"/v1\.0/campaigns/{_ID}(?:/campaigncalls|/stats)?")),
    ("GET", re.compile(r"/v1\.0/campaigncalls")),
    ("GET", re.compile(rf"/v1\.0/campaigncalls/{_ID}(?:/context)?")),
    ("GET", re.compile(r"/v1\.0/agents")),
    ("GET", re.compile(rf"/v1\.0/agents/{_ID}(?:/campaigncalls|/events)?")),
    ("PUT", re.compile(rf"/v1\.0/agents/{_ID}/status")),
    ("GET", re.compile(r"/v1\.0/queues")),
    ("GET", re.compile(rf"/v1\.0/queues/{_ID}")),
    ("GET", re.compile(r"/v1\.0/outdials")),
    ("GET", re.compile(rf"/v1\.0/outdials/{_ID}(?:/targets)?")),
    ("GET", re.compile(rf"/v1\.0/outdials/{_ID}/targets/{_ID}(?:/history)?")),
)


def agent_grant(
    method: str, path: str, agent_id: uuid.UUID, permission: int = PERMISSION_NONE
) -> tuple[Grant, str]:
    """(what the agent session may do with `method path`, the id named in the path)."""
    method = "GET" if method == "HEAD" else method
    level = level_of(permission)
    if level is Level.ADMIN:
        return Grant.ALLOW, ""
    if level is Level.MANAGER:
        for allowed, pattern in _MANAGER_RULES:
            if method == allowed and pattern.fullmatch(path) is not None:
                return Grant.ALLOW, ""
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


def agents_event(event_type: str, resource_id: uuid.UUID, data: str, agent_id: uuid.UUID) -> bool:
    """Whether an event belongs on the agent's own stream (`GET /agents/{id}/events`): its
    `agent_status_updated`, and the updates of the campaigncalls whose `agent_id` is its."""
    if event_type == "agent_status_updated":
        return resource_id == agent_id
    if not event_type.startswith("campaigncall_"):
        return False
    try:
        found = json.loads(data)
    except ValueError:
        return False
    return isinstance(found, dict) and str(found.get("agent_id", "")).lower() == str(agent_id)
