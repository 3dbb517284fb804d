"""Authentication of every `/v1.0` request, before a route reads its body (issue 10).

Two kinds of credential (issue 14): an access key (as below), or a session cookie
(`outdial_session`) set by `POST /v1.0/login` (the one route that needs no credential): a
customer user's, or with `kind: agent` an agent's. An agent's session may
use only its own few routes (domain/agent_sessions.py): anything else is 403
`AGENT_NOT_PERMITTED`. A write made with a session cookie must carry the session's CSRF token
in `X-CSRF-Token` (403 `CSRF_TOKEN_INVALID` otherwise); an access key, when sent, wins over
the cookie.

A request without a working access key is answered 401 here, whatever its body: no JSON is
parsed (and no 26 MB body read) for a caller we do not know. Then, per key, the request rate
(429 `RATE_LIMITED` with `Retry-After`), and for keys sent in a cookie, which a browser adds on
its own to a cross-site request, writes must carry a JSON content type (a cross-site form
cannot, and a script needs a CORS preflight we never grant). The route reads the customer
from the scope (`api.deps.CustomerId`).
"""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from outdial.api.middleware import send_error
from outdial.domain.agent_sessions import AGENT_TOKEN_PREFIX, AgentSession, Grant, agent_grant
from outdial.domain.errors import OutdialError, Unavailable
from outdial.domain.users import Session
from outdial.services.customers import hash_token
from outdial.services.limits import RateLimited
from outdial.services.users import hash_session_token

SESSION_COOKIE = "outdial_session"
LOGIN_PATH = "/v1.0/login"

PREFIX = "/v1.0/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Content types a cross-site form cannot send (nor a cross-site script without a CORS
# preflight, which is never granted); media uploads carry audio, imports CSV or JSON Lines.
WRITE_TYPES = frozenset(
    {
        b"application/json",
        b"application/octet-stream",
        b"audio/wav",
        b"audio/x-wav",
        b"audio/wave",
        b"text/csv",
        b"application/x-ndjson",
        b"application/jsonl",
        b"application/jsonlines",
    }
)
HTTP_OF = {"UNAUTHENTICATED": 401, "RESOURCE_EXHAUSTED": 429, "UNAVAILABLE": 503}


def credential(scope: Scope) -> tuple[str | None, str]:
    """(key, where it came from: header, query, cookie or session): `Authorization: Bearer`,
    then the `accesskey` or `token` query parameter or cookie, then the session cookie."""
    cookie_header = b""
    for name, value in scope.get("headers", []):
        lower = name.lower()
        if lower == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and rest.strip():
                return rest.strip(), "header"
        elif lower == b"cookie":
            cookie_header = value
    query = scope.get("query_string", b"")
    params = dict(parse_qsl(query.decode("latin-1"))) if query else {}
    cookies: dict[str, str] = {}
    if cookie_header:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie_header.decode("latin-1"))
        except Exception:  # a malformed cookie header carries no key
            jar = SimpleCookie()
        cookies = {k: m.value for k, m in jar.items()}
    for name in ("accesskey", "token"):
        if params.get(name):
            return params[name], "query"
        if cookies.get(name):
            return cookies[name], "cookie"
    if cookies.get(SESSION_COOKIE):
        return cookies[SESSION_COOKIE], "session"
    return None, ""


class Authenticate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not (path.startswith(PREFIX) or path == PREFIX[:-1])
            or path == LOGIN_PATH
        ):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        rid = str(state.get("request_id", ""))
        token, source = credential(scope)
        if token is None:
            await send_error(
                send,
                rid,
                401,
                "UNAUTHENTICATED",
                "AUTHENTICATION_REQUIRED",
                "an access key is required (accesskey, token or Bearer)",
                [(b"www-authenticate", b"Bearer")],
            )
            return
        services = scope["app"].state.services
        session: Session | AgentSession | None = None
        try:
            if source == "session" and token.startswith(AGENT_TOKEN_PREFIX):
                digest = hash_session_token(token)
                session = await services.agent_sessions.session(digest)
                customer_id = session.customer_id
            elif source == "session":
                digest = hash_session_token(token)
                session = await services.users.session(digest)
                customer_id = session.customer_id
            else:
                digest = hash_token(token)
                customer_id = await services.customers.identify(digest)
            services.limits.take(digest)
        except RateLimited as exc:
            retry = [(b"retry-after", str(exc.retry_after).encode())]
            await send_error(send, rid, 429, exc.status.value, exc.reason, exc.message, retry)
            return
        except OutdialError as exc:
            http = HTTP_OF.get(exc.status.value, 400)
            extra = [(b"www-authenticate", b"Bearer")] if http == 401 else None
            if isinstance(exc, Unavailable):  # the database is away: try again shortly
                extra = [(b"retry-after", str(exc.retry_after).encode())]
            await send_error(send, rid, http, exc.status.value, exc.reason, exc.message, extra)
            return
        if (
            session is not None
            and scope.get("method") not in SAFE_METHODS
            and not secrets.compare_digest(
                _header(scope, b"x-csrf-token"), session.csrf_token.encode()
            )
        ):
            await send_error(
                send,
                rid,
                403,
                "PERMISSION_DENIED",
                "CSRF_TOKEN_INVALID",
                "a write made with the session cookie must carry its X-CSRF-Token "
                "(from POST /v1.0/login or GET /v1.0/session)",
            )
            return
        if (
            source == "cookie"
            and scope.get("method") not in SAFE_METHODS
            and state.get("content_type", b"") not in WRITE_TYPES
        ):
            await send_error(
                send,
                rid,
                415,
                "INVALID_ARGUMENT",
                "JSON_CONTENT_TYPE_REQUIRED",
                "a write authenticated by a cookie must have Content-Type: application/json",
            )
            return
        if isinstance(session, AgentSession) and not await _agent_may(
            services, session, scope, send, rid
        ):
            return
        state["customer_id"] = customer_id
        if isinstance(session, AgentSession):
            state["agent_session"] = session
            state["session_digest"] = digest
        elif session is None:
            state["key_digest"] = digest
        else:
            state["session"] = session
            state["session_digest"] = digest
        await self.app(scope, receive, send)


async def _agent_may(
    services: Any, session: AgentSession, scope: Scope, send: Send, rid: str
) -> bool:
    """An agent session is least-privilege (domain/agent_sessions.py): anything but its own
    few routes is 403 AGENT_NOT_PERMITTED, and so is a campaigncall not connected to it,
    unless its permission bits (manager, admin) open more."""
    grant, named = agent_grant(
        str(scope.get("method", "")), scope.get("path", ""), session.agent_id, session.permission
    )
    if grant is Grant.OWN_CALL and await services.agent_sessions.owns_call(session, named):
        return True
    if grant is Grant.ALLOW:
        return True
    message = (
        "this campaigncall is not connected to the signed-in agent"
        if grant is Grant.OWN_CALL
        else "this agent's permission does not allow the request"
    )
    await send_error(send, rid, 403, "PERMISSION_DENIED", "AGENT_NOT_PERMITTED", message)
    return False


def _header(scope: Scope, name: bytes) -> bytes:
    """The header's raw value (bytes: compare_digest refuses non-ASCII text)."""
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return b""
