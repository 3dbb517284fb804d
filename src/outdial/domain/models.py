"""The resources as immutable values (SPEC 1). Times are aware UTC datetimes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from outdial.domain.address import Address
from outdial.domain.callwindow import CallWindow
from outdial.domain.ids import NIL_UUID
from outdial.domain.optout import OptOut
from outdial.domain.retry import Order, RetryRule
from outdial.domain.states import CampaigncallStatus, CampaignStatus, TargetStatus

DESTINATION_SLOTS = 5


@dataclass(frozen=True, slots=True)
class Customer:
    id: uuid.UUID
    name: str
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None = None


@dataclass(frozen=True, slots=True)
class AccessKey:
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    tm_create: datetime
    tm_expire: datetime | None = None
    tm_delete: datetime | None = None
    detail: str = ""
    token_prefix: str = ""
    tm_update: datetime | None = None


@dataclass(frozen=True, slots=True)
class Outdial:
    id: uuid.UUID
    customer_id: uuid.UUID
    campaign_id: uuid.UUID
    name: str
    detail: str
    data: str
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None = None


@dataclass(frozen=True, slots=True)
class Target:
    id: uuid.UUID
    outdial_id: uuid.UUID
    name: str
    detail: str
    data: str
    status: TargetStatus
    destinations: tuple[Address | None, ...]
    try_counts: tuple[int, ...]
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None = None
    last_attempt_end: datetime | None = None
    timezone: str | None = None  # the callee's IANA zone (issue 6)
    not_before: datetime | None = None  # the claim leaves the target alone until then
    priority: int = 0  # 0-9, higher first under order `priority` (issue 17)
    retry_at: datetime | None = None  # next try due (a retry rule or a schedule); None: rule 1
    retry_note: str | None = None  # why retry_at is set ("busy by rule 1 (retry)")
    start_destination: int | None = None  # the next attempt starts here (a schedule)


@dataclass(frozen=True, slots=True)
class Outplan:
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    detail: str
    source: Address | None
    dial_timeout: int
    try_interval: int
    max_try_counts: tuple[int, ...]
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None = None
    call_window: CallWindow | None = None  # None: any time (issue 6)
    max_attempts_per_number_24h: int = 0  # 0: unlimited
    min_number_gap: int = 0  # ms between two calls to one number, across campaigns
    sip_headers: tuple[tuple[str, str], ...] = ()  # added to each INVITE (issue 11)
    retry_rules: tuple[RetryRule, ...] = ()  # per outcome (issue 17); (): rules 1-5 only
    order: Order = Order.OLDEST_ATTEMPT_FIRST  # the claim's order (issue 17)


@dataclass(frozen=True, slots=True)
class Campaign:
    id: uuid.UUID
    customer_id: uuid.UUID
    type: str
    name: str
    detail: str
    status: CampaignStatus
    service_level: int
    end_handle: str
    actions: list[dict[str, Any]]
    outplan_id: uuid.UUID
    outdial_id: uuid.UUID
    queue_id: uuid.UUID
    next_campaign_id: uuid.UUID
    max_concurrent_calls: int
    calls_per_second: float
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None = None
    opt_out: OptOut | None = None  # opt-out by keypress (issue 12)
    # Issue 13: agents ("" dial_mode: power with a queue; see domain/agents.py)
    dial_mode: str = ""
    max_abandon_rate: float = 3.0
    abandon_message: str = ""
    dispositions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Campaigncall:
    id: uuid.UUID
    customer_id: uuid.UUID
    campaign_id: uuid.UUID
    outplan_id: uuid.UUID
    outdial_id: uuid.UUID
    outdial_target_id: uuid.UUID
    queue_id: uuid.UUID
    activeflow_id: uuid.UUID
    flow_id: uuid.UUID
    reference_type: str
    reference_id: uuid.UUID
    status: CampaigncallStatus
    result: str
    source: Address | None
    destination: Address | None
    destination_index: int
    try_count: int
    hangup_reason: str
    sip_code: int | None
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None = None
    lease_expires: datetime | None = None
    engine_id: str = ""
    # Issue 12: what the call heard.
    amd_result: str = ""
    amd_ms: int = 0
    digits: str = ""
    opted_out: bool = False
    hangup_detail: str = ""  # `trunk_down`, `destination_blocked` or ""
    # Issue 13: the agent reached, abandon, the agent's disposition.
    agent_id: uuid.UUID = NIL_UUID
    abandoned: bool = False
    tm_connect: datetime | None = None
    disposition: str = ""
    disposition_note: str = ""
    callback_at: datetime | None = None
    callback_agent_id: uuid.UUID = NIL_UUID  # the agent the callback is routed to


@dataclass(frozen=True, slots=True)
class Page:
    """A page of a keyset-paginated list; `cursor` is (tm_create, id) of the last row."""

    items: list[Any] = field(default_factory=list)
    cursor: tuple[datetime, uuid.UUID] | None = None


def is_set(ref: uuid.UUID) -> bool:
    return ref != NIL_UUID
