"""Customer users (`/v1.0/customers/{id}/users`) and their sessions: `POST /v1.0/login`,
`POST /v1.0/logout`, `GET /v1.0/session` (issue 14; docs/security.md, "Users and sign-in").

Login is the one `/v1.0` route without a credential (api/auth.py lets it through). It sets
the session cookie (HttpOnly, SameSite=Strict, Path=/) and answers the CSRF token that every
write made with that cookie must carry in `X-CSRF-Token` (api/auth.py checks it)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from outdial.api.auth import SESSION_COOKIE
from outdial.api.deps import CustomerId, ServicesDep
from outdial.api.errors import envelope
from outdial.api.responses import ok
from outdial.api.routes import agent_desk
from outdial.domain.errors import InvalidArgument, PermissionDenied
from outdial.domain.ids import parse_id
from outdial.domain.users import MAX_PASSWORD, MAX_USERNAME
from outdial.wire import user as wire_user

router = APIRouter(prefix="/v1.0", tags=["users"])
MAX_LOGIN_BODY = 16 * 1024
_FORM = b"application/x-www-form-urlencoded"
_JSON = (b"application/json", b"")


class UserCreate(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    username: str = Field(
        ..., max_length=MAX_USERNAME, description="email-like: name@example.com (any case)"
    )
    password: str = Field(..., max_length=MAX_PASSWORD, description="8 to 1024 characters")


@router.post("/customers/{id}/users", operation_id="create_user")
async def create_user(id: str, s: ServicesDep, me: CustomerId, body: UserCreate) -> JSONResponse:
    user = await s.users.create(me, parse_id(id), body.username, body.password)
    return ok(wire_user.render(user))


@router.get("/customers/{id}/users", operation_id="list_users")
async def list_users(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok({"result": [wire_user.render(u) for u in await s.users.list(me, parse_id(id))]})


@router.delete("/customers/{id}/users/{user_id}", operation_id="delete_user")
async def delete_user(id: str, user_id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    user = await s.users.delete(me, parse_id(id), parse_id(user_id, field="user_id"))
    return ok(wire_user.render(user))


_LOGIN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/LoginIn"}},
            _FORM.decode(): {"schema": {"$ref": "#/components/schemas/LoginIn"}},
        },
    }
}


@router.post("/login", operation_id="login", openapi_extra=_LOGIN_BODY)
async def login(request: Request, s: ServicesDep) -> JSONResponse:
    """`{username, password}` as JSON or a form; `kind: agent` signs an agent in (the agent
    page, a least-privilege session: docs/agents.md), `user` (the default) a customer user.
    200: the session cookie is set and the body carries the CSRF token; 401
    INVALID_CREDENTIALS (an unknown username alike); 429 LOGIN_THROTTLED after too many
    failures for the username or from the address."""
    _same_origin(request)
    sent = request.scope.get("state", {}).get("content_type", b"")
    if sent != _FORM and sent not in _JSON:
        return envelope(
            request,
            415,
            "INVALID_ARGUMENT",
            "UNSUPPORTED_MEDIA_TYPE",
            "login takes application/json or application/x-www-form-urlencoded",
        )
    fields = _login_fields(await _small_body(request), form=sent == _FORM)
    address = request.client.host if request.client else ""
    kind = fields.get("kind", "user")
    if kind == "agent":
        agent = await s.agent_sessions.login(
            fields.get("username"), fields.get("password"), address
        )
        token, body = agent.token, agent_desk.render_session(agent.session)
    elif kind in ("user", "", None):
        result = await s.users.login(fields.get("username"), fields.get("password"), address)
        token, body = result.token, wire_user.session(result.session)
    else:
        raise InvalidArgument("kind must be user or agent")
    response = ok(body)
    policy = s.ctx.sessions
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(policy.ttl_s),
        path="/",
        httponly=True,
        samesite="strict",
        secure=policy.cookie_secure or request.url.scheme == "https",
    )
    return response


@router.post("/logout", operation_id="logout")
async def logout(request: Request, s: ServicesDep, me: CustomerId) -> JSONResponse:
    """End the caller's session (its cookie stops working in every process at once) and
    clear the cookie. With an access key there is no session: nothing ends."""
    state = request.scope.get("state", {})
    digest = state.get("session_digest")
    if digest and state.get("agent_session") is not None:  # an agent's (agent page)
        await s.agent_sessions.logout(digest)
    elif digest:
        await s.users.logout(digest)
    response = ok({"logged_out": bool(digest)})
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/session", operation_id="get_session")
async def get_session(request: Request, me: CustomerId) -> JSONResponse:
    """Who the caller is: the session (with its CSRF token, for a page that was reloaded),
    or, for an access key, `kind: accesskey` with empty user fields; for an agent's session
    (the agent page), `kind: agent` with its `agent_id`."""
    agent = request.scope.get("state", {}).get("agent_session")
    if agent is not None:
        return ok(agent_desk.render_session(agent))
    session = request.scope.get("state", {}).get("session")
    if session is not None:
        return ok(wire_user.session(session))
    return ok(
        {
            "csrf_token": "",
            "customer_id": str(me),
            "username": "",
            "user_id": "",
            "agent_id": "",
            "tm_expire": "",
            "kind": "accesskey",
        }
    )


def _same_origin(request: Request) -> None:
    """A browser names the page that sent a POST in `Origin`: a login sent from another
    site (login CSRF: signing the victim in as the attacker) is refused. Clients that send
    no Origin (curl, scripts) are not browsers and pass."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    host = request.headers.get("host", "").lower()
    if origin == "null" or urlsplit(origin).netloc.lower() != host:
        raise PermissionDenied(
            "a login must come from a page of this server", reason="CROSS_ORIGIN_LOGIN"
        )


async def _small_body(request: Request) -> bytes:
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_LOGIN_BODY:
            raise InvalidArgument("the login body is too large", reason="REQUEST_TOO_LARGE")
    return bytes(data)


def _login_fields(data: bytes, *, form: bool) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
        if form:
            return dict(parse_qsl(text, keep_blank_values=True))
        found = json.loads(text) if text.strip() else {}
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidArgument(
            "the request body is not valid JSON", reason="INVALID_JSON_BODY"
        ) from None
    if not isinstance(found, dict):
        raise InvalidArgument("the login body must be an object {username, password}")
    return found
