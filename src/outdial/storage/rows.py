"""Row <-> domain value mapping for every table."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from outdial.domain.ids import NIL_UUID
from outdial.domain.models import (
    AccessKey,
    Campaign,
    Campaigncall,
    Customer,
    Outdial,
    Outplan,
    Target,
)
from outdial.domain.optout import load_opt_out
from outdial.domain.retry import Order
from outdial.domain.states import CampaigncallStatus, CampaignStatus, TargetStatus
from outdial.storage.codec import (
    load_address,
    load_call_window,
    load_json,
    load_retry_rules,
    load_sip_headers,
)
from outdial.storage.timeconv import from_us as _from_us

Row = Any
# Rows read together often share their times (a bulk load's tm_create): convert each once.
from_us = lru_cache(maxsize=4096)(_from_us)


def opt_from_us(value: int | None) -> datetime | None:
    return None if value is None else from_us(value)


class _ByAttr:
    """Key access to an object that has the columns as attributes."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __getitem__(self, key: str) -> Any:
        return getattr(self.obj, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self.obj, key, default)


def _values(row: Row) -> Any:
    """Key access to a row's columns. On a SQLAlchemy Row, reading a field as an attribute
    costs about a microsecond, so a page of 100 targets is read through one dict instead."""
    if isinstance(row, dict):
        return row
    keys = getattr(row, "_fields", None)
    if isinstance(keys, tuple):
        return dict(zip(keys, row, strict=True))
    return _ByAttr(row)


def customer(row: Row) -> Customer:
    v = _values(row)
    return Customer(
        v["id"],
        v["name"],
        from_us(v["tm_create"]),
        from_us(v["tm_update"]),
        opt_from_us(v["tm_delete"]),
    )


def accesskey(row: Row) -> AccessKey:
    v = _values(row)
    return AccessKey(
        v["id"],
        v["customer_id"],
        v["name"],
        from_us(v["tm_create"]),
        opt_from_us(v["tm_expire"]),
        opt_from_us(v["tm_delete"]),
        v.get("detail") or "",
        v.get("token_prefix") or "",
        opt_from_us(v.get("tm_update")),
    )


def outdial(row: Row) -> Outdial:
    v = _values(row)
    return Outdial(
        id=v["id"],
        customer_id=v["customer_id"],
        campaign_id=v["campaign_id"],
        name=v["name"],
        detail=v["detail"],
        data=v["data"],
        tm_create=from_us(v["tm_create"]),
        tm_update=from_us(v["tm_update"]),
        tm_delete=opt_from_us(v["tm_delete"]),
    )


def target(row: Row) -> Target:
    v = _values(row)
    return Target(
        id=v["id"],
        outdial_id=v["outdial_id"],
        name=v["name"],
        detail=v["detail"],
        data=v["data"],
        status=TargetStatus(v["status"]),
        destinations=(
            load_address(v["destination_0"]),
            load_address(v["destination_1"]),
            load_address(v["destination_2"]),
            load_address(v["destination_3"]),
            load_address(v["destination_4"]),
        ),
        try_counts=(
            v["try_count_0"],
            v["try_count_1"],
            v["try_count_2"],
            v["try_count_3"],
            v["try_count_4"],
        ),
        tm_create=from_us(v["tm_create"]),
        tm_update=from_us(v["tm_update"]),
        tm_delete=opt_from_us(v["tm_delete"]),
        last_attempt_end=opt_from_us(v["last_attempt_end"]),
        timezone=v["timezone"],
        not_before=opt_from_us(v["not_before"]),
        priority=v["priority"],
        retry_at=opt_from_us(v["retry_at"]),
        retry_note=v["retry_note"],
        start_destination=v["start_destination"],
    )


def outplan(row: Row) -> Outplan:
    v = _values(row)
    return Outplan(
        id=v["id"],
        customer_id=v["customer_id"],
        name=v["name"],
        detail=v["detail"],
        source=load_address(v["source"]),
        dial_timeout=v["dial_timeout"],
        try_interval=v["try_interval"],
        max_try_counts=(
            v["max_try_count_0"],
            v["max_try_count_1"],
            v["max_try_count_2"],
            v["max_try_count_3"],
            v["max_try_count_4"],
        ),
        tm_create=from_us(v["tm_create"]),
        tm_update=from_us(v["tm_update"]),
        tm_delete=opt_from_us(v["tm_delete"]),
        call_window=load_call_window(v["call_window"]),
        max_attempts_per_number_24h=v["max_attempts_per_number_24h"],
        min_number_gap=v["min_number_gap"],
        sip_headers=load_sip_headers(v["sip_headers"]),
        retry_rules=load_retry_rules(v["retry_rules"]),
        order=Order(v["dial_order"]),
    )


def campaign(row: Row) -> Campaign:
    v = _values(row)
    return Campaign(
        id=v["id"],
        customer_id=v["customer_id"],
        type=v["type"],
        name=v["name"],
        detail=v["detail"],
        status=CampaignStatus(v["status"]),
        service_level=v["service_level"],
        end_handle=v["end_handle"],
        actions=load_json(v["actions"]),
        outplan_id=v["outplan_id"],
        outdial_id=v["outdial_id"],
        queue_id=v["queue_id"],
        next_campaign_id=v["next_campaign_id"],
        max_concurrent_calls=v["max_concurrent_calls"],
        calls_per_second=float(v["calls_per_second"]),  # SQLite RETURNING may give an int
        tm_create=from_us(v["tm_create"]),
        tm_update=from_us(v["tm_update"]),
        tm_delete=opt_from_us(v["tm_delete"]),
        opt_out=load_opt_out(v.get("opt_out")),
        dial_mode=v.get("dial_mode") or "",
        max_abandon_rate=float(v.get("max_abandon_rate", 3.0)),
        abandon_message=v.get("abandon_message") or "",
        dispositions=tuple(load_json(v.get("dispositions") or "[]")),
    )


def campaigncall(row: Row) -> Campaigncall:
    v = _values(row)
    return Campaigncall(
        id=v["id"],
        customer_id=v["customer_id"],
        campaign_id=v["campaign_id"],
        outplan_id=v["outplan_id"],
        outdial_id=v["outdial_id"],
        outdial_target_id=v["outdial_target_id"],
        queue_id=v["queue_id"],
        activeflow_id=v["activeflow_id"],
        flow_id=v["flow_id"],
        reference_type=v["reference_type"],
        reference_id=v["reference_id"],
        status=CampaigncallStatus(v["status"]),
        result=v["result"],
        source=load_address(v["source"]),
        destination=load_address(v["destination"]),
        destination_index=v["destination_index"],
        try_count=v["try_count"],
        hangup_reason=v["hangup_reason"],
        sip_code=v["sip_code"],
        tm_create=from_us(v["tm_create"]),
        tm_update=from_us(v["tm_update"]),
        tm_delete=opt_from_us(v["tm_delete"]),
        lease_expires=opt_from_us(v["lease_expires"]),
        engine_id=v["engine_id"],
        amd_result=v.get("amd_result") or "",
        amd_ms=v.get("amd_ms") or 0,
        digits=v.get("digits") or "",
        opted_out=bool(v.get("opted_out")),
        hangup_detail=v["hangup_detail"] or "",
        agent_id=v.get("agent_id") or NIL_UUID,
        abandoned=bool(v.get("abandoned")),
        tm_connect=opt_from_us(v.get("tm_connect")),
        disposition=v.get("disposition") or "",
        disposition_note=v.get("disposition_note") or "",
        callback_at=opt_from_us(v.get("callback_at")),
        callback_agent_id=v.get("callback_agent_id") or NIL_UUID,
    )
