"""Access keys on the REST API (VoIPBIN's `CustomerManagerAccesskey`): never the token, except
in the answer to the POST that made it."""

from __future__ import annotations

from typing import Any

from outdial.domain.models import AccessKey
from outdial.wire.common import opt_ts, ts


def render(key: AccessKey) -> dict[str, Any]:
    return {
        "id": str(key.id),
        "customer_id": str(key.customer_id),
        "name": key.name,
        "detail": key.detail,
        "token_prefix": key.token_prefix,
        "tm_expire": opt_ts(key.tm_expire),
        "tm_create": ts(key.tm_create),
        "tm_update": ts(key.tm_update or key.tm_create),
        "tm_delete": ts(key.tm_delete),
    }


def created(key: AccessKey, token: str) -> dict[str, Any]:
    """The POST's answer: the only time the token is shown."""
    return {**render(key), "token": token}
