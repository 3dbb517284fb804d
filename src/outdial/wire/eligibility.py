"""JSON of the eligibility answer (`GET .../targets/{id}/eligibility`): the dial decision
(`outdial.domain.decision.Decision`) as the endpoint says it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from outdial.domain.eligibility import Blocker
from outdial.wire.common import ts


def blocker(b: Blocker) -> dict[str, Any]:
    return {
        "reason": b.reason.value,
        "destination_index": b.destination_index,
        "detail": b.detail,
        "clears_at": None if b.clears_at is None else ts(b.clears_at),
    }


def eligibility(
    dialable_now: bool,
    campaign_id: uuid.UUID | None,
    reasons: Sequence[Blocker],
    *,
    priority: int = 0,
    order: str = "",
    order_detail: str = "",
) -> dict[str, Any]:
    return {
        "dialable_now": dialable_now,
        "campaign_id": "" if campaign_id is None else str(campaign_id),
        "reasons": [blocker(b) for b in reasons],
        "priority": priority,
        "order": order,
        "order_detail": order_detail,
    }
