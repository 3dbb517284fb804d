"""`PUT /v1.0/campaigncalls/{id}/disposition` (issue 13): the agent's (or its system's) code
for how a call went, a note, and optionally `callback_at`, which schedules the target again.

The code must be one of the campaign's `dispositions` when the campaign lists any (any code of
at most 64 characters otherwise). `callback_at` (in the future, within a year) is kept on the
campaigncall and puts the target to sleep until then (`not_before`, the claim's own sleep);
an answered target, `done`, goes back to `idle` for it: the only way back from `done`, in
one guarded UPDATE. The callback uses the tries the target has left: a destination whose
tries are used up is not dialed again (docs/agents.md). `callback_agent_id` (with
`callback_at`: a live agent of the customer, else 400 INVALID_REFERENCE) routes the callback
to that agent (engine/desk.py)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.agents import check_disposition
from outdial.domain.errors import FailedPrecondition, InvalidArgument
from outdial.domain.ids import NIL_UUID, parse_ref
from outdial.domain.models import Campaigncall
from outdial.domain.states import CampaigncallStatus, TargetStatus
from outdial.services import events
from outdial.services.campaign_rules import live_ref
from outdial.services.campaigncalls import NOT_FOUND
from outdial.services.context import Context
from outdial.services.dnclists import parse_expire
from outdial.services.fields import Body, text_fields
from outdial.services.lookup import owned
from outdial.storage import repo, rows
from outdial.storage.codec import load_json
from outdial.storage.tables import agents, campaigncalls, campaigns, outdial_targets
from outdial.wire import campaigncall as wire_campaigncall

YEAR_US = 366 * 86_400 * 1_000_000


class DispositionService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def set(self, customer_id: uuid.UUID, call_id: uuid.UUID, body: Body) -> Campaigncall:
        code = body.get("disposition")
        code = "" if code in (None, "") else check_disposition(code)
        note = text_fields(body, {"note": "text"}).get("note", "")
        now = self.ctx.now_us()
        callback = parse_expire(body.get("callback_at"), "callback_at")
        if callback is not None and not now < callback <= now + YEAR_US:
            raise InvalidArgument("callback_at must be in the future, within a year")
        raw_agent = body.get("callback_agent_id")
        agent_id = parse_ref(raw_agent if isinstance(raw_agent, str) else None,
                             field="callback_agent_id")  # fmt: skip
        if agent_id != NIL_UUID and callback is None:
            raise InvalidArgument("callback_agent_id needs callback_at")
        async with self.ctx.db.write() as conn:
            row = await owned(conn, campaigncalls, customer_id, call_id, NOT_FOUND, "campaigncall")
            if row.tm_delete is not None:
                raise FailedPrecondition(
                    "the campaigncall is deleted", reason="CAMPAIGNCALL_DELETED"
                )
            campaign = await repo.get(conn, campaigns, row.campaign_id)
            allowed = load_json(campaign.dispositions) if campaign is not None else []
            if code and allowed and code not in allowed:
                raise InvalidArgument(
                    f"disposition {code!r} is not one of the campaign's: {', '.join(allowed)}",
                    reason="INVALID_DISPOSITION",
                )
            values = {"disposition": code, "disposition_note": note, "tm_update": now}
            if callback is not None:
                if row.status != CampaigncallStatus.DONE.value:
                    raise FailedPrecondition(
                        "a callback is set once the call is done", reason="CAMPAIGNCALL_NOT_DONE"
                    )
                values["callback_at"] = callback
                if agent_id != NIL_UUID:  # the customer's live agent (desk2)
                    await live_ref(conn, agents, customer_id, agent_id, "callback_agent_id")
                values["callback_agent_id"] = agent_id if agent_id != NIL_UUID else None
                await _schedule(conn, row.outdial_target_id, callback, now)
            updated = await repo.update(conn, campaigncalls, call_id, values)
            assert updated is not None
            call = rows.campaigncall(updated)
            await events.emit(
                conn, customer_id, events.CAMPAIGNCALL_UPDATED, wire_campaigncall.render(call)
            )
        return call


async def _schedule(conn: AsyncConnection, target_id: uuid.UUID, at: int, now: int) -> None:
    """The target sleeps until `at`; a done target (answered) is idle again for it. Guarded:
    a target in flight or deleted is left alone (409)."""
    T = outdial_targets.c
    done = await conn.execute(
        sa.update(outdial_targets)
        .where(
            T.id == target_id,
            T.tm_delete.is_(None),
            T.status.in_([TargetStatus.DONE.value, TargetStatus.IDLE.value]),
        )
        .values(status=TargetStatus.IDLE.value, not_before=at, tm_update=now)
        .returning(T.id)
    )
    if done.first() is None:
        raise FailedPrecondition(
            "the target is deleted or has an attempt in flight", reason="TARGET_NOT_SCHEDULABLE"
        )
