"""A customer and its access keys as JSON (the API's own settings and the CLI's answers)."""

from __future__ import annotations

from typing import Any

from outdial.domain.models import AccessKey, Customer
from outdial.storage.codec import load_json
from outdial.storage.timeconv import from_us, opt_from_us
from outdial.wire.common import opt_ts, ts


def render_row(row: Any) -> dict[str, Any]:
    """A stored customer row (its webhook settings and toll-fraud guard); never the secret."""
    return {
        "id": str(row.id),
        "name": row.name,
        "webhook_method": row.webhook_method,
        "webhook_uri": row.webhook_uri,
        "allowed_calling_codes": calling_codes(row),
        "tm_create": ts(from_us(row.tm_create)),
        "tm_update": ts(from_us(row.tm_update)),
        "tm_delete": ts(opt_from_us(row.tm_delete)),
    }


def calling_codes(row: Any) -> list[str]:
    codes = load_json(row.allowed_calling_codes or "[]")
    return [str(c) for c in codes] if isinstance(codes, list) else []


def accesskey(key: AccessKey) -> dict[str, Any]:
    """An access key's metadata (never its token)."""
    return {
        "id": str(key.id),
        "customer_id": str(key.customer_id),
        "name": key.name,
        "tm_create": ts(key.tm_create),
        "tm_expire": opt_ts(key.tm_expire),
        "tm_delete": ts(key.tm_delete),
    }


def created(customer: Customer) -> dict[str, Any]:
    """`outdial customers create`'s answer."""
    return {"id": str(customer.id), "name": customer.name}


def created_accesskey(key: AccessKey, token: str) -> dict[str, Any]:
    """`outdial accesskeys create`'s answer: the only time the token is shown."""
    return {
        "id": str(key.id),
        "customer_id": str(key.customer_id),
        "name": key.name,
        "token": token,
    }
