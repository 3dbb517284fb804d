"""Outplans: how to dial."""

from __future__ import annotations

import uuid
from typing import Any

from outdial.domain.address import Address, AddressType
from outdial.domain.callwindow import parse_call_window
from outdial.domain.destinations import DestinationRule
from outdial.domain.errors import InvalidArgument, NotFound
from outdial.domain.ids import new_id
from outdial.domain.models import Outplan, Page
from outdial.domain.netpolicy import NetworkPolicy
from outdial.domain.retry import Order, parse_order, parse_retry_rules
from outdial.domain.sipheaders import parse_sip_headers
from outdial.services import events
from outdial.services.context import Context
from outdial.services.fields import Body, address, integer, text_fields
from outdial.services.lookup import owned
from outdial.storage import repo, rows
from outdial.storage.codec import dump_address, dump_json, dump_retry_rules
from outdial.storage.pagination import Cursor, page_of
from outdial.storage.tables import outplans
from outdial.wire import outplan as wire_outplan

NOT_FOUND = "OUTPLAN_NOT_FOUND"
_TEXT = {"name": "name", "detail": "text"}
MAX_DIAL_TIMEOUT = 3_600_000  # one hour of ringing
MAX_TRY_INTERVAL = 366 * 86_400_000  # a year
MAX_TRIES = 1000
MAX_NUMBER_GAP = 7 * 86_400_000  # a week between two calls to one number, at most


def check_source(source: Address | None, network: NetworkPolicy) -> None:
    """The caller id must be a telephone number (E.164) or a SIP URI on an allowed host (not
    an address literal the network policy blocks); other types cannot be presented as a
    caller id on a call (toll-fraud guard, issue 10)."""
    if source is None:
        return
    if source.type not in (AddressType.TEL, AddressType.SIP):
        raise InvalidArgument(
            "source.type must be tel (E.164) or sip for a caller id", reason="INVALID_SOURCE"
        )
    if source.type is AddressType.SIP:
        try:
            DestinationRule(network).check(source, "source")
        except InvalidArgument as exc:
            raise InvalidArgument(exc.message, reason="INVALID_SOURCE") from None


def dial_info(body: Body, network: NetworkPolicy | None = None) -> dict[str, Any]:
    """The dial block (source, timeouts, tries) fields present in a body, validated."""
    values: dict[str, Any] = {}
    present, source = address(body, "source")
    if present:
        check_source(source, network or NetworkPolicy())
        values["source"] = dump_address(source)
    limits = {"dial_timeout": MAX_DIAL_TIMEOUT, "try_interval": MAX_TRY_INTERVAL}
    limits.update({f"max_try_count_{n}": MAX_TRIES for n in range(5)})
    limits["max_attempts_per_number_24h"] = MAX_TRIES
    limits["min_number_gap"] = MAX_NUMBER_GAP
    for field, high in limits.items():
        value = integer(body, field, low=0, high=high)
        if value is not None:
            values[field] = value
    if "sip_headers" in body:
        values["sip_headers"] = dump_json(parse_sip_headers(body["sip_headers"]))
    if "retry_rules" in body:  # issue 17
        values["retry_rules"] = dump_retry_rules(parse_retry_rules(body["retry_rules"]))
    if body.get("order") is not None:  # null: unchanged (the default on create)
        values["dial_order"] = parse_order(body["order"]).value
    if "call_window" in body:
        window = parse_call_window(body["call_window"])
        values["call_window"] = None if window is None else dump_json(window.to_json())
    return values


class OutplanService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def create(self, customer_id: uuid.UUID, body: Body) -> Outplan:
        values: dict[str, Any] = {
            "name": "",
            "detail": "",
            "source": None,
            "dial_timeout": 0,
            "try_interval": 0,
            "call_window": None,
            "max_attempts_per_number_24h": 0,
            "min_number_gap": 0,
            "sip_headers": "{}",
            "retry_rules": "[]",
            "dial_order": Order.OLDEST_ATTEMPT_FIRST.value,
        }
        values.update({f"max_try_count_{n}": 0 for n in range(5)})
        values.update(text_fields(body, _TEXT))
        values.update(dial_info(body, self.ctx.network))
        now = self.ctx.now_us()
        values.update(id=new_id(), customer_id=customer_id, tm_create=now, tm_update=now)
        async with self.ctx.db.write() as conn:
            await repo.insert(conn, outplans, values)
            row = await repo.get(conn, outplans, values["id"])
            assert row is not None
            created = rows.outplan(row)
            await events.emit(
                conn, customer_id, events.OUTPLAN_CREATED, wire_outplan.render(created)
            )
        return created

    async def get(self, customer_id: uuid.UUID, outplan_id: uuid.UUID) -> Outplan:
        async with self.ctx.db.read() as conn:
            row = await owned(conn, outplans, customer_id, outplan_id, NOT_FOUND, "outplan")
        return rows.outplan(row)

    async def list(self, customer_id: uuid.UUID, cursor: Cursor | None, limit: int) -> Page:
        where = [outplans.c.customer_id == customer_id, outplans.c.tm_delete.is_(None)]
        async with self.ctx.db.read() as conn:
            found = await repo.page(conn, outplans, where, cursor, limit)
        items = [rows.outplan(r) for r in found]
        return page_of(items)

    async def update(
        self, customer_id: uuid.UUID, outplan_id: uuid.UUID, body: Body, *, dial: bool
    ) -> Outplan:
        """PUT /outplans/{id} (name, detail) or /dial_info (the dial block)."""
        values: dict[str, Any] = (
            dial_info(body, self.ctx.network) if dial else dict(text_fields(body, _TEXT))
        )
        async with self.ctx.db.write() as conn:
            await owned(conn, outplans, customer_id, outplan_id, NOT_FOUND, "outplan")
            values["tm_update"] = self.ctx.now_us()
            row = await repo.update(conn, outplans, outplan_id, values)
            if row is None:
                raise NotFound(f"outplan {outplan_id} not found", reason=NOT_FOUND)
            updated = rows.outplan(row)
            await events.emit(
                conn, customer_id, events.OUTPLAN_UPDATED, wire_outplan.render(updated)
            )
        return updated

    async def delete(self, customer_id: uuid.UUID, outplan_id: uuid.UUID) -> Outplan:
        async with self.ctx.db.write() as conn:
            row = await owned(conn, outplans, customer_id, outplan_id, NOT_FOUND, "outplan")
            was_live = row.tm_delete is None
            row = await repo.soft_delete(conn, outplans, row, self.ctx.now_us())
            deleted = rows.outplan(row)
            if was_live:
                await events.emit(
                    conn, customer_id, events.OUTPLAN_DELETED, wire_outplan.render(deleted)
                )
        return deleted
