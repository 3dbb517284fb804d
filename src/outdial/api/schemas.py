"""Request bodies, one class per direction (documented in OpenAPI, typed strictly).

They only check JSON types; the services apply the domain rules (E.164, enums, ranges)
and see just the fields the client sent (`exclude_unset`), so a PUT changes only those.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from outdial.services.customers import MAX_EXPIRE_S


class _In(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    def fields(self) -> dict[str, Any]:
        """The declared fields the client sent, as plain values.

        Built by hand rather than with `model_dump`, which refuses free-form values (an
        action's `option`) nested past its depth limit; the domain rejects those with a 400.
        """
        return {name: _plain(getattr(self, name)) for name in self.model_fields_set}


def _plain(value: Any) -> Any:
    if isinstance(value, _In):
        return value.fields()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class AddressIn(_In):
    type: str | None = Field(None, description="tel, sip, extension, agent, conference, line")
    target: str | None = Field(None, description="E.164 for tel; user@host[:port] for sip")
    target_name: str | None = None
    name: str | None = None
    detail: str | None = None


class OutdialCreate(_In):
    name: str | None = None
    detail: str | None = None
    data: str | None = None
    campaign_id: str | None = None


class OutdialUpdate(_In):
    name: str | None = None
    detail: str | None = None


class OutdialCampaignId(_In):
    campaign_id: str | None = None


class OutdialData(_In):
    data: str | None = None


_PRIORITY = "0-9, higher first under the outplan's order `priority` (default 0)"


class TargetSchedule(_In):
    not_before: str = Field(description="ISO 8601 / RFC 3339 time; the target waits until then")
    destination: int | None = Field(
        None, ge=0, le=4, description="the destination the next attempt starts with"
    )


class TargetCreate(_In):
    name: str | None = None
    detail: str | None = None
    data: str | None = None
    destination_0: AddressIn | None = None
    destination_1: AddressIn | None = None
    destination_2: AddressIn | None = None
    destination_3: AddressIn | None = None
    destination_4: AddressIn | None = None
    timezone: str | None = Field(None, description="the callee's IANA zone (calling windows)")
    priority: int | None = Field(None, ge=0, le=9, description=_PRIORITY)


class TargetBulkItem(_In):
    """As TargetCreate, and a destination may also be the `tel:+1555...` / `sip:u@h` shorthand."""

    name: str | None = None
    detail: str | None = None
    data: str | None = None
    destination_0: AddressIn | str | None = None
    destination_1: AddressIn | str | None = None
    destination_2: AddressIn | str | None = None
    destination_3: AddressIn | str | None = None
    destination_4: AddressIn | str | None = None
    timezone: str | None = None
    priority: int | None = Field(None, ge=0, le=9, description=_PRIORITY)


class TargetReset(_In):
    reason: str | None = Field(None, description="why (kept in the target's history)")


class CampaignRecycle(_In):
    """Which done targets of the campaign's outdial go back to idle with fresh tries; every
    condition given must hold (docs/recycling.md)."""

    results: list[str] | None = Field(None, description="the last attempt's result")
    hangup_reasons: list[str] | None = Field(None, description="the last attempt's reason")
    tries_below: int | None = Field(None, description="fewer attempts than this in all")
    last_attempt_before: str | None = Field(None, description="last attempt ended before")
    reason: str | None = Field(None, description="why (kept in each target's history)")


class DialInfo(_In):
    source: AddressIn | None = None
    dial_timeout: int | None = Field(None, ge=0, description="ms to ring")
    try_interval: int | None = Field(None, ge=0, description="ms between attempts on a target")
    max_try_count_0: int | None = Field(None, ge=0)
    max_try_count_1: int | None = Field(None, ge=0)
    max_try_count_2: int | None = Field(None, ge=0)
    max_try_count_3: int | None = Field(None, ge=0)
    max_try_count_4: int | None = Field(None, ge=0)
    call_window: dict[str, Any] | None = Field(
        None, description="days, start, end, holidays, timezone; null: any time"
    )
    max_attempts_per_number_24h: int | None = Field(
        None, ge=0, description="calls to one number in 24 h, all campaigns; 0: unlimited"
    )
    min_number_gap: int | None = Field(
        None, ge=0, description="ms between two calls to one number, all campaigns"
    )
    sip_headers: dict[str, Any] | None = Field(
        None, description="SIP headers added to each INVITE (Diversion, Privacy, X-...)"
    )
    retry_rules: list[Any] | None = Field(
        None,
        max_length=20,
        description="retry rules per outcome (SPEC 3.9): [{when: {hangup_reason, amd_result, "
        "disposition, sip_code}, interval_ms, max_tries, then: retry | next_destination | "
        "finish}]; the first that matches an ended attempt decides; null or []: none",
    )
    order: Literal["oldest_attempt_first", "fifo", "priority"] | None = Field(
        None, description="the order due targets are dialed in (SPEC 3.10)"
    )


class OutplanCreate(DialInfo):
    name: str | None = None
    detail: str | None = None


class OutplanUpdate(_In):
    name: str | None = None
    detail: str | None = None


class ActionIn(_In):
    model_config = ConfigDict(strict=True, extra="allow")

    id: str | None = None
    next_id: str | None = None
    type: str
    option: dict[str, Any] | None = None


class CampaignUpdate(_In):
    name: str | None = None
    detail: str | None = None
    type: Literal["call", "flow"] | None = None
    service_level: int | None = Field(None, ge=0, le=100)
    end_handle: Literal["stop", "continue"] | None = None
    max_concurrent_calls: int | None = Field(None, ge=1)
    calls_per_second: float | None = Field(None, gt=0)
    opt_out: dict[str, Any] | None = Field(
        None,
        description="opt-out by keypress: {key (0-9 * #), dnclist_id, confirmation}; null: off",
    )
    dial_mode: Literal["", "preview", "progressive", "power", "predictive"] | None = Field(
        None, description="pacing with agents; default power when a queue is set"
    )
    max_abandon_rate: float | None = Field(None, ge=0, le=100, description="percent")
    abandon_message: str | None = Field(None, description="spoken to an abandoned callee")
    dispositions: list[str] | None = Field(None, description="codes an agent may set")


class ResourceInfo(_In):
    outplan_id: str | None = None
    outdial_id: str | None = None
    queue_id: str | None = None
    next_campaign_id: str | None = None


class CampaignCreate(CampaignUpdate, ResourceInfo):
    actions: list[ActionIn] | None = None


class CampaignStatusIn(_In):
    status: Literal["run", "stop"]


class CampaignServiceLevel(_In):
    service_level: int = Field(ge=0, le=100)


class CampaignActions(_In):
    actions: list[ActionIn]


class CampaignNextCampaignId(_In):
    next_campaign_id: str | None = None


class DncListIn(_In):
    name: str | None = None
    detail: str | None = None


class DncEntryIn(_In):
    number: str | None = Field(None, description="E.164, such as +12125550100")
    expire: str | None = Field(None, description="when the entry stops applying; null: never")
    detail: str | None = None


class TagIn(_In):
    name: str | None = None
    detail: str | None = None


class AgentUpdate(_In):
    name: str | None = None
    detail: str | None = None
    ring_method: Literal["ringall", "linear"] | None = None
    permission: int | None = Field(None, ge=0, le=65535)
    nailed_up: bool | None = Field(
        None, description="outdial's own: keep one leg to the agent open between calls"
    )


class AgentAddresses(_In):
    addresses: list[AddressIn] | None = None


class AgentTagIds(_In):
    tag_ids: list[str] | None = None


class AgentPassword(_In):
    password: str = Field(min_length=1, max_length=1024)


class AgentCreate(AgentUpdate, AgentAddresses, AgentTagIds):
    username: str | None = None
    password: str | None = Field(None, max_length=1024)


class AgentStatusIn(_In):
    status: Literal["available", "away", "busy", "offline"]


class AgentPhoneOffer(_In):
    type: Literal["offer"] = "offer"
    sdp: str = Field(min_length=1, max_length=65_536, description="the browser's SDP offer")


class QueueIn(_In):
    name: str | None = None
    detail: str | None = None
    routing_method: Literal["", "random", "longest-idle"] | None = None
    tag_ids: list[str] | None = None
    wait_actions: list[ActionIn] | None = None
    wait_timeout: int | None = Field(None, ge=0, le=86_400_000, description="ms")
    service_timeout: int | None = Field(None, ge=0, le=86_400_000, description="ms")


class DispositionIn(_In):
    disposition: str | None = Field(None, description="one of the campaign's dispositions")
    note: str | None = None
    callback_at: str | None = Field(
        None, description="call the target again at this time (UTC wire format or RFC 3339)"
    )
    callback_agent_id: str | None = Field(
        None, description="route the callback to this agent of the customer (else the queue)"
    )


class AccessKeyCreate(_In):
    name: str | None = Field(None, description="up to 255 characters")
    detail: str | None = None
    expire: int | None = Field(
        None,
        ge=0,
        le=MAX_EXPIRE_S,
        description="seconds from now until the key stops working; absent or 0: never (a key "
        "made with an expiring key never outlives it)",
    )


class AccessKeyUpdate(_In):
    name: str | None = None
    detail: str | None = None
