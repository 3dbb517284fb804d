"""Customer users and sessions as JSON (issue 14). Never a password, its hash, or a
session's cookie token."""

from __future__ import annotations

from typing import Any

from outdial.domain.users import Session, User
from outdial.wire.common import ts


def render(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "customer_id": str(user.customer_id),
        "username": user.username,
        "tm_create": ts(user.tm_create),
        "tm_update": ts(user.tm_update),
        "tm_delete": ts(user.tm_delete),
    }


def session(s: Session) -> dict[str, Any]:
    """What login and `GET /v1.0/session` answer: the CSRF token to send back in
    `X-CSRF-Token` on every write made with the session's cookie."""
    return {
        "csrf_token": s.csrf_token,
        "customer_id": str(s.customer_id),
        "username": s.username,
        "user_id": str(s.user_id),
        "agent_id": "",
        "tm_expire": ts(s.tm_expire),
        "kind": "session",
    }
