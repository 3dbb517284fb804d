"""JSON of the compliance resources (issue 6): do-not-call lists and their entries."""

from __future__ import annotations

from typing import Any

from outdial.domain.dnc import DncEntry, DncList
from outdial.domain.eligibility import Blocker
from outdial.wire.common import opt_ts, ts


def dnclist(d: DncList) -> dict[str, Any]:
    return {
        "id": str(d.id),
        "customer_id": str(d.customer_id),
        "name": d.name,
        "detail": d.detail,
        "tm_create": ts(d.tm_create),
        "tm_update": ts(d.tm_update),
        "tm_delete": ts(d.tm_delete),
    }


def dnc_entry(e: DncEntry) -> dict[str, Any]:
    return {
        "id": str(e.id),
        "customer_id": str(e.customer_id),
        "dnclist_id": str(e.dnclist_id),
        "number": e.number,
        "expire": opt_ts(e.expire),
        "detail": e.detail,
        "tm_create": ts(e.tm_create),
        "tm_update": ts(e.tm_update),
        "tm_delete": ts(e.tm_delete),
    }


def blocker(b: Blocker) -> dict[str, Any]:
    """One reason of the eligibility answer (moves to wire/eligibility.py with issue 15's
    single dial decision)."""
    return {
        "reason": b.reason.value,
        "destination_index": b.destination_index,
        "detail": b.detail,
        "clears_at": opt_ts(b.clears_at),
    }
