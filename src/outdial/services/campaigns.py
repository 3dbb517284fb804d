"""Campaigns: runs of an outplan over an outdial."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.actions import ActionRules, media_refs, parse_actions
from outdial.domain.agents import parse_dispositions
from outdial.domain.dialmode import DialMode
from outdial.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from outdial.domain.ids import NIL_UUID, new_id
from outdial.domain.models import Campaign, Page
from outdial.domain.optout import dump_opt_out, load_opt_out, parse_opt_out
from outdial.domain.states import CampaignStatus, CampaignType, EndHandle, parse_enum
from outdial.services import campaign_rules, events
from outdial.services.context import Context
from outdial.services.fields import Body, integer, number, ref, text_fields
from outdial.services.lookup import owned
from outdial.services.media import missing_media
from outdial.storage import repo, rows
from outdial.storage.codec import dump_json
from outdial.storage.pagination import Cursor, page_of
from outdial.storage.tables import campaigns, dnclists, outdials
from outdial.wire import campaign as wire_campaign

NOT_FOUND = "CAMPAIGN_NOT_FOUND"
_TEXT = {"name": "name", "detail": "text"}
REFS = ("outplan_id", "outdial_id", "queue_id", "next_campaign_id")
DEFAULTS: dict[str, Any] = {
    "name": "",
    "detail": "",
    "type": CampaignType.CALL.value,
    "service_level": 0,
    "end_handle": EndHandle.STOP.value,
    "actions": "[]",
    "max_concurrent_calls": 100,
    "calls_per_second": 10.0,
    **{r: NIL_UUID for r in REFS},
    "dial_mode": "",
    "max_abandon_rate": 3.0,
    "abandon_message": "",
    "dispositions": "[]",
}


def basic_fields(body: Body) -> dict[str, Any]:
    """name, detail, type, service_level, end_handle and the pacing fields present in a body."""
    values: dict[str, Any] = dict(text_fields(body, _TEXT))
    if body.get("type") is not None:
        values["type"] = parse_enum(CampaignType, body["type"], "type").value
    if body.get("end_handle") is not None:
        values["end_handle"] = parse_enum(EndHandle, body["end_handle"], "end_handle").value
    level = integer(body, "service_level", low=0, high=100)
    if level is not None:
        values["service_level"] = level
    calls = integer(body, "max_concurrent_calls", low=1, high=100_000)
    if calls is not None:
        values["max_concurrent_calls"] = calls
    rate = number(body, "calls_per_second", low=0.001, high=100_000)
    if rate is not None:
        values["calls_per_second"] = rate
    values.update(agent_fields(body))
    return values


def agent_fields(body: Body) -> dict[str, Any]:
    """Issue 13: dial_mode ("" = the default), max_abandon_rate (percent), abandon_message,
    dispositions (the codes an agent may set)."""
    values: dict[str, Any] = dict(text_fields(body, {"abandon_message": "text"}))
    if "dial_mode" in body:
        mode = body["dial_mode"]
        values["dial_mode"] = (
            "" if mode in (None, "") else parse_enum(DialMode, mode, "dial_mode").value
        )
    ceiling = number(body, "max_abandon_rate", low=0, high=100)
    if ceiling is not None:
        values["max_abandon_rate"] = ceiling
    if "dispositions" in body:
        values["dispositions"] = dump_json(parse_dispositions(body["dispositions"]))
    return values


def opt_out_field(body: Body) -> dict[str, Any]:
    """`opt_out` when the body carries it (null or {} turns it off)."""
    if "opt_out" not in body:
        return {}
    return {"opt_out": dump_opt_out(parse_opt_out(body["opt_out"]))}


def ref_fields(body: Body, names: tuple[str, ...] = REFS) -> dict[str, uuid.UUID]:
    out = {}
    for name in names:
        value = ref(body, name)
        if value is not None:
            out[name] = value
    return out


class CampaignService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rules = ActionRules(ctx.network, ctx.max_call_ms)

    def _actions(self, raw: Any) -> list[dict[str, Any]]:
        return parse_actions(raw, rules=self.rules)

    async def create(self, customer_id: uuid.UUID, body: Body) -> Campaign:
        values = dict(DEFAULTS)
        values.update(basic_fields(body))
        values.update(opt_out_field(body))
        actions = self._actions(body.get("actions"))
        values["actions"] = dump_json(actions)
        values.update(ref_fields(body))
        now = self.ctx.now_us()
        values.update(
            id=new_id(),
            customer_id=customer_id,
            status=CampaignStatus.STOP.value,
            tm_create=now,
            tm_update=now,
        )
        async with self.ctx.db.write() as conn:
            await campaign_rules.validate_refs(conn, customer_id, values["id"], values)
            await _check_media(conn, customer_id, actions)
            await _check_opt_out(conn, customer_id, values)
            await repo.insert(conn, campaigns, values)
            await campaign_rules.attach_outdial(
                conn, values["id"], NIL_UUID, values["outdial_id"], now
            )
            row = await repo.get(conn, campaigns, values["id"])
            assert row is not None
            created = rows.campaign(row)
            await events.emit(
                conn, customer_id, events.CAMPAIGN_CREATED, wire_campaign.render(created)
            )
        return created

    async def get(self, customer_id: uuid.UUID, campaign_id: uuid.UUID) -> Campaign:
        async with self.ctx.db.read() as conn:
            row = await owned(conn, campaigns, customer_id, campaign_id, NOT_FOUND, "campaign")
        return rows.campaign(row)

    async def list(self, customer_id: uuid.UUID, cursor: Cursor | None, limit: int) -> Page:
        where = [campaigns.c.customer_id == customer_id, campaigns.c.tm_delete.is_(None)]
        async with self.ctx.db.read() as conn:
            found = await repo.page(conn, campaigns, where, cursor, limit)
        items = [rows.campaign(r) for r in found]
        return page_of(items)

    async def update(
        self, customer_id: uuid.UUID, campaign_id: uuid.UUID, body: Body, *, part: str
    ) -> Campaign:
        """PUT /campaigns/{id} (part "basic") and its sub-resources."""
        if part == "basic":
            values: dict[str, Any] = basic_fields(body)
            values.update(opt_out_field(body))
        elif part == "service_level":
            values = basic_fields({"service_level": body.get("service_level")})
        elif part == "actions":
            actions = self._actions(body.get("actions"))
            values = {"actions": dump_json(actions)}
        elif part == "resource_info":
            values = dict(ref_fields(body))
        elif part == "next_campaign_id":
            values = dict(ref_fields(body, ("next_campaign_id",)))
        else:
            raise InvalidArgument(f"unknown campaign update {part!r}")
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            current = await owned(conn, campaigns, customer_id, campaign_id, NOT_FOUND, "campaign")
            guards: list[sa.ColumnElement[bool]] = []
            if "type" in values:  # the type changes only while stopped: checked by the write
                guards.append(
                    sa.or_(
                        campaigns.c.type == values["type"],
                        campaigns.c.status == CampaignStatus.STOP.value,
                    )
                )
            if part == "actions":
                await _check_media(conn, customer_id, actions)
            await _check_opt_out(conn, customer_id, values)
            if set(values) & set(REFS):
                merged = {r: values.get(r, getattr(current, r)) for r in REFS}
                await campaign_rules.validate_refs(conn, customer_id, campaign_id, merged)
                if "outdial_id" in values:
                    await campaign_rules.attach_outdial(
                        conn, campaign_id, current.outdial_id, values["outdial_id"], now
                    )
            values["tm_update"] = now
            row = await repo.update(conn, campaigns, campaign_id, values, *guards)
            if row is None:
                if guards and await repo.get(conn, campaigns, campaign_id) is not None:
                    raise FailedPrecondition("the type of a running campaign cannot change")
                raise NotFound(f"campaign {campaign_id} not found", reason=NOT_FOUND)
            updated = rows.campaign(row)
            await events.emit(
                conn, customer_id, events.CAMPAIGN_UPDATED, wire_campaign.render(updated)
            )
        return updated

    async def set_status(
        self, customer_id: uuid.UUID, campaign_id: uuid.UUID, body: Body
    ) -> Campaign:
        wanted = body.get("status")
        if wanted not in ("run", "stop"):
            raise InvalidArgument(f"status must be run or stop (got {wanted!r})")
        async with self.ctx.db.write() as conn:
            current = await owned(conn, campaigns, customer_id, campaign_id, NOT_FOUND, "campaign")
            if wanted == "run":
                change = await campaign_rules.start(conn, current, self.ctx.now_us())
            else:
                change = await campaign_rules.request_stop(conn, current, self.ctx.now_us())
            changed = rows.campaign(change.row)
            await events.emit_status(
                conn, change.before, customer_id, wire_campaign.render(changed)
            )
        return changed

    async def delete(self, customer_id: uuid.UUID, campaign_id: uuid.UUID) -> Campaign:
        async with self.ctx.db.write() as conn:
            row = await owned(conn, campaigns, customer_id, campaign_id, NOT_FOUND, "campaign")
            if row.tm_delete is None:
                if row.status != CampaignStatus.STOP.value:
                    raise FailedPrecondition(
                        f"campaign is {row.status}; stop it before deleting",
                        reason="CAMPAIGN_NOT_STOPPED",
                    )
                now = self.ctx.now_us()
                guarded = await repo.update(
                    conn,
                    campaigns,
                    campaign_id,
                    {"tm_delete": now, "tm_update": now},
                    campaigns.c.tm_delete.is_(None),
                    campaigns.c.status == CampaignStatus.STOP.value,
                )
                if guarded is None:
                    raise FailedPrecondition(
                        "campaign changed state; try again", reason="CAMPAIGN_NOT_STOPPED"
                    )
                await _detach(conn, campaign_id, row.outdial_id, now)
                row = guarded
                await events.emit(
                    conn,
                    customer_id,
                    events.CAMPAIGN_DELETED,
                    wire_campaign.render(rows.campaign(row)),
                )
        return rows.campaign(row)


async def _check_media(
    conn: AsyncConnection, customer_id: uuid.UUID, actions: list[dict[str, Any]]
) -> None:
    """Every `media:<id>` a `play` action names must be the customer's live media."""
    missing = await missing_media(conn, customer_id, media_refs(actions))
    if missing:
        raise InvalidArgument(
            f"actions: media {missing[0]} does not exist", reason="INVALID_REFERENCE"
        )


async def _check_opt_out(
    conn: AsyncConnection, customer_id: uuid.UUID, values: dict[str, Any]
) -> None:
    """The do-not-call list an opt-out adds to must be the customer's own live list."""
    setting = load_opt_out(values.get("opt_out"))
    if setting is None:
        return
    found = await conn.execute(
        sa.select(dnclists.c.id).where(
            dnclists.c.id == setting.dnclist_id,
            dnclists.c.customer_id == customer_id,
            dnclists.c.tm_delete.is_(None),
        )
    )
    if found.first() is None:
        raise InvalidArgument(
            f"opt_out.dnclist_id {setting.dnclist_id} is not one of your do-not-call lists"
        )


async def _detach(
    conn: AsyncConnection, campaign_id: uuid.UUID, outdial_id: uuid.UUID, now: int
) -> None:
    await conn.execute(
        sa.update(outdials)
        .where(outdials.c.id == outdial_id, outdials.c.campaign_id == campaign_id)
        .values(campaign_id=NIL_UUID, tm_update=now)
    )
