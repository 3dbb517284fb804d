"""Row <-> domain value mapping for every table."""

from __future__ import annotations

from typing import Any

from outdial.domain.models import (
    Campaign,
    Campaigncall,
    Customer,
    Outdial,
    Outplan,
    Target,
)
from outdial.storage.codec import load_address, load_json
from outdial.storage.timeconv import from_us, opt_from_us

Row = Any


def customer(row: Row) -> Customer:
    return Customer(
        row.id, row.name, from_us(row.tm_create), from_us(row.tm_update), opt_from_us(row.tm_delete)
    )


def outdial(row: Row) -> Outdial:
    return Outdial(
        id=row.id,
        customer_id=row.customer_id,
        campaign_id=row.campaign_id,
        name=row.name,
        detail=row.detail,
        data=row.data,
        tm_create=from_us(row.tm_create),
        tm_update=from_us(row.tm_update),
        tm_delete=opt_from_us(row.tm_delete),
    )


def target(row: Row) -> Target:
    return Target(
        id=row.id,
        outdial_id=row.outdial_id,
        name=row.name,
        detail=row.detail,
        data=row.data,
        status=row.status,
        destinations=(
            load_address(row.destination_0),
            load_address(row.destination_1),
            load_address(row.destination_2),
            load_address(row.destination_3),
            load_address(row.destination_4),
        ),
        try_counts=(
            row.try_count_0,
            row.try_count_1,
            row.try_count_2,
            row.try_count_3,
            row.try_count_4,
        ),
        tm_create=from_us(row.tm_create),
        tm_update=from_us(row.tm_update),
        tm_delete=opt_from_us(row.tm_delete),
        last_attempt_end=opt_from_us(row.last_attempt_end),
    )


def outplan(row: Row) -> Outplan:
    return Outplan(
        id=row.id,
        customer_id=row.customer_id,
        name=row.name,
        detail=row.detail,
        source=load_address(row.source),
        dial_timeout=row.dial_timeout,
        try_interval=row.try_interval,
        max_try_counts=(
            row.max_try_count_0,
            row.max_try_count_1,
            row.max_try_count_2,
            row.max_try_count_3,
            row.max_try_count_4,
        ),
        tm_create=from_us(row.tm_create),
        tm_update=from_us(row.tm_update),
        tm_delete=opt_from_us(row.tm_delete),
    )


def campaign(row: Row) -> Campaign:
    return Campaign(
        id=row.id,
        customer_id=row.customer_id,
        type=row.type,
        name=row.name,
        detail=row.detail,
        status=row.status,
        service_level=row.service_level,
        end_handle=row.end_handle,
        actions=load_json(row.actions),
        outplan_id=row.outplan_id,
        outdial_id=row.outdial_id,
        queue_id=row.queue_id,
        next_campaign_id=row.next_campaign_id,
        max_concurrent_calls=row.max_concurrent_calls,
        calls_per_second=row.calls_per_second,
        tm_create=from_us(row.tm_create),
        tm_update=from_us(row.tm_update),
        tm_delete=opt_from_us(row.tm_delete),
    )


def campaigncall(row: Row) -> Campaigncall:
    return Campaigncall(
        id=row.id,
        customer_id=row.customer_id,
        campaign_id=row.campaign_id,
        outplan_id=row.outplan_id,
        outdial_id=row.outdial_id,
        outdial_target_id=row.outdial_target_id,
        queue_id=row.queue_id,
        activeflow_id=row.activeflow_id,
        flow_id=row.flow_id,
        reference_type=row.reference_type,
        reference_id=row.reference_id,
        status=row.status,
        result=row.result,
        source=load_address(row.source),
        destination=load_address(row.destination),
        destination_index=row.destination_index,
        try_count=row.try_count,
        hangup_reason=row.hangup_reason,
        sip_code=row.sip_code,
        tm_create=from_us(row.tm_create),
        tm_update=from_us(row.tm_update),
        tm_delete=opt_from_us(row.tm_delete),
        lease_expires=opt_from_us(row.lease_expires),
        engine_id=row.engine_id,
    )
