"""Response schemas of the OpenAPI document (issue 20), one pydantic model per resource.

They describe what the renderers (the `outdial.wire` package, one module per resource)
send; they are not used to validate responses at run time. They cannot drift from the
renderers unnoticed: tests/api/test_openapi.py renders every resource through the real API
and validates each body against these models with `extra="forbid"` and every field required,
both ways (a field the renderer adds or drops fails the test).

Examples are the seed's (SPEC: `seed/outdialtarget.txt`) and values in the same style.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from outdial.domain.text import MAX_NAME

UUID_EXAMPLE = "1b3d7a92-7146-466d-90f5-4bc701ada4c0"
NIL = "00000000-0000-0000-0000-000000000000"
SENTINEL = "9999-01-01 00:00:00.000000"
TS_PATTERN = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$"


def _id(description: str, example: str = UUID_EXAMPLE) -> Any:
    return Field(
        description=description, json_schema_extra={"format": "uuid", "examples": [example]}
    )


def _ref(description: str, example: str = NIL) -> Any:
    return _id(f"{description}; the nil UUID {NIL} when unset", example)


def _ts(description: str, example: str) -> Any:
    return Field(
        description=f"{description} (UTC, `YYYY-MM-DD HH:MM:SS.ffffff`)",
        pattern=TS_PATTERN,
        examples=[example],
    )


def _tm_create() -> Any:
    return _ts("creation time", "2022-04-30 17:52:16.484341")


def _tm_update() -> Any:
    return _ts("time of the last change", "2022-04-30 17:53:51.183345")


def _tm_delete() -> Any:
    return _ts(f"deletion time; {SENTINEL} while not deleted", SENTINEL)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Address(_Out):
    """A destination or a caller id; all five keys are always present ("" when unset)."""

    type: Literal["", "tel", "sip", "extension", "agent", "conference", "line"] = Field(
        examples=["tel"]
    )
    target: str = Field(
        description="E.164 for tel (`+` then 7 to 15 digits); user@host[:port] for sip",
        examples=["+821100000001"],
    )
    target_name: str = Field(examples=[""])
    name: str = Field(examples=[""])
    detail: str = Field(examples=[""])


class Outdial(_Out):
    """A list of targets to call."""

    id: str = _id("the outdial's id", "40bea034-1d17-474d-a5de-da00d0861c69")
    customer_id: str = _id("the owner", "5e4a0680-804e-11ec-8477-2fea5968d85b")
    campaign_id: str = _ref("the campaign the list is attached to")
    name: str = Field(max_length=MAX_NAME, examples=["test outdial"])
    detail: str = Field(examples=["test outdial detail"])
    data: str = Field(description="free text", examples=["test data"])
    tm_create: str = _tm_create()
    tm_update: str = _tm_update()
    tm_delete: str = _tm_delete()


class Outdialtarget(_Out):
    """A person to reach (the seed's resource), with up to five destinations."""

    id: str = _id("the target's id")
    outdial_id: str = _id("the outdial it belongs to", "40bea034-1d17-474d-a5de-da00d0861c69")
    name: str = Field(examples=["test destination 0"])
    detail: str = Field(examples=["test detatination 0 detail"])
    data: str = Field(examples=["test data"])
    status: Literal["idle", "progressing", "done"] = Field(
        description="read-only: idle (dialable now or later), progressing (an attempt is in "
        "flight), done (answered, or every destination used all its tries)",
        examples=["done"],
    )
    destination_0: Address | None = Field(description="primary destination, or null")
    destination_1: Address | None
    destination_2: Address | None
    destination_3: Address | None
    destination_4: Address | None
    try_count_0: int = Field(ge=0, description="read-only: attempts on destination_0", examples=[1])
    try_count_1: int = Field(ge=0, examples=[0])
    try_count_2: int = Field(ge=0, examples=[0])
    try_count_3: int = Field(ge=0, examples=[0])
    try_count_4: int = Field(ge=0, examples=[0])
    tm_create: str = _tm_create()
    tm_update: str = _tm_update()
    tm_delete: str = _tm_delete()
    timezone: str = Field(
        description="outdial's own: the callee's IANA zone for calling windows, or ''",
        examples=[""],
    )
    priority: int = Field(
        ge=0, le=9, description="outdial's own: 0-9, higher first under order `priority`"
    )


class RetryWhen(_Out):
    """What a retry rule matches: each value it names (absent: not matched on)."""

    hangup_reason: str | None = None
    amd_result: str | None = None
    disposition: str | None = None
    sip_code: int | None = None


class RetryRule(_Out):
    """A retry rule (SPEC 3.9): when, after how long, how many tries, then what."""

    when: RetryWhen
    interval_ms: int = Field(ge=0, examples=[300000])
    max_tries: int = Field(ge=0, examples=[3])
    then: Literal["retry", "next_destination", "finish"]


class Outplan(_Out):
    """How to dial: caller id, ring time, retry spacing, tries per destination."""

    id: str = _id("the outplan's id")
    customer_id: str = _id("the owner", "5e4a0680-804e-11ec-8477-2fea5968d85b")
    name: str = Field(examples=["test outplan"])
    detail: str = Field(examples=["test outplan detail"])
    source: Address = Field(description="the caller id (all five keys '' when unset)")
    dial_timeout: int = Field(ge=0, description="ms to ring", examples=[30000])
    try_interval: int = Field(ge=0, description="ms between attempts on a target", examples=[60000])
    max_try_count_0: int = Field(ge=0, examples=[3])
    max_try_count_1: int = Field(ge=0, examples=[3])
    max_try_count_2: int = Field(ge=0, examples=[3])
    max_try_count_3: int = Field(ge=0, examples=[3])
    max_try_count_4: int = Field(ge=0, examples=[3])
    tm_create: str = _tm_create()
    tm_update: str = _tm_update()
    tm_delete: str = _tm_delete()
    call_window: dict[str, Any] | None = Field(
        description="outdial's own: days, start, end, holidays, timezone; null: any time"
    )
    max_attempts_per_number_24h: int = Field(ge=0, description="0: unlimited", examples=[0])
    min_number_gap: int = Field(ge=0, description="ms between two calls to one number")
    sip_headers: dict[str, str] = Field(description="SIP headers added to each INVITE")
    retry_rules: list[RetryRule] = Field(
        description="outdial's own: retry rules per outcome, the first match decides (SPEC 3.9)"
    )
    order: Literal["oldest_attempt_first", "fifo", "priority"] = Field(
        description="outdial's own: the order due targets are dialed in (SPEC 3.10)"
    )


class OptOut(_Out):
    """Opt-out by keypress (issue 12): the key, the do-not-call list it adds the callee's
    number to, and the text spoken before hanging up."""

    key: str = Field(pattern=r"^[0-9*#]$", examples=["9"])
    dnclist_id: str = _id("the do-not-call list")
    confirmation: str = Field(examples=["You will not be called again. Goodbye."])


class Campaign(_Out):
    """A run over an outdial with an outplan."""

    id: str = _id("the campaign's id")
    customer_id: str = _id("the owner", "5e4a0680-804e-11ec-8477-2fea5968d85b")
    type: Literal["call", "flow"] = Field(examples=["call"])
    name: str = Field(examples=["test campaign"])
    detail: str = Field(examples=["test campaign detail"])
    status: Literal["stop", "stopping", "run"] = Field(examples=["stop"])
    service_level: int = Field(ge=0, le=100, examples=[100])
    end_handle: Literal["stop", "continue"] = Field(examples=["stop"])
    actions: list[dict[str, Any]] = Field(description="list of {id, next_id, type, option}")
    outplan_id: str = _ref("the outplan")
    outdial_id: str = _ref("the outdial")
    queue_id: str = _ref("the queue")
    next_campaign_id: str = _ref("the campaign started when this one ends")
    max_concurrent_calls: int = Field(ge=1, description="outdial's own pacing", examples=[100])
    calls_per_second: float = Field(gt=0, description="outdial's own pacing", examples=[10])
    tm_create: str = _tm_create()
    tm_update: str = _tm_update()
    tm_delete: str = _tm_delete()
    opt_out: OptOut | None = Field(description="outdial's own: opt-out by keypress; null: none")
    dial_mode: Literal["", "preview", "progressive", "power", "predictive"] = Field(
        description="outdial's own pacing with agents; power when a queue is set and no mode "
        "is; '' without a queue",
        examples=["predictive"],
    )
    max_abandon_rate: float = Field(ge=0, le=100, description="percent", examples=[3])
    abandon_message: str = Field(description="spoken to an abandoned callee", examples=[""])
    dispositions: list[str] = Field(description="the codes an agent may set")


class Campaigncall(_Out):
    """One attempt on one destination of a target."""

    id: str = _id("the campaigncall's id")
    customer_id: str = _id("the owner", "5e4a0680-804e-11ec-8477-2fea5968d85b")
    campaign_id: str = _id("the campaign")
    outplan_id: str = _ref("the outplan")
    outdial_id: str = _ref("the outdial")
    outdial_target_id: str = _ref("the target")
    queue_id: str = _ref("the queue")
    activeflow_id: str = _ref("the active flow")
    flow_id: str = _ref("the flow")
    reference_type: Literal["call", "flow", "none"] = Field(examples=["call"])
    reference_id: str = _ref("the call")
    status: Literal["dialing", "progressing", "done"] = Field(examples=["done"])
    result: Literal["", "success", "fail"] = Field(examples=["success"])
    source: Address
    destination: Address
    destination_index: int = Field(ge=0, le=4, examples=[0])
    try_count: int = Field(ge=0, description="this attempt's number on its destination (1-based)")
    hangup_reason: str = Field(
        description="outdial's own: normal, busy, noanswer, failed, cancel, timeout, dialout, "
        "amd, lost; '' while in flight",
        examples=["normal"],
    )
    sip_code: int = Field(description="outdial's own: the deciding SIP response, 0 if none")
    hangup_detail: str = Field(
        description="outdial's own: a short public detail of the end (`trunk_down`, "
        "`destination_blocked`) or ''",
        examples=[""],
    )
    tm_create: str = _tm_create()
    tm_update: str = _tm_update()
    tm_delete: str = _tm_delete()
    amd_result: Literal["", "human", "machine", "notsure"] = Field(
        description="outdial's own: answering-machine detection's verdict; '' when no amd ran",
        examples=["human"],
    )
    amd_ms: int = Field(ge=0, description="ms from the answer to the amd decision")
    digits: str = Field(description="the keys the callee pressed, in order", examples=["9"])
    opted_out: bool = Field(description="the callee pressed the campaign's opt-out key")
    agent_id: str = _ref("the agent the callee was connected to")
    abandoned: bool = Field(description="answered and not connected to an agent within 2 s")
    disposition: str = Field(description="the agent's code for the call", examples=[""])
    disposition_note: str = Field(description="the agent's note", examples=[""])
    callback_at: str = Field(
        description="when the target is called again; '' when no callback", examples=[""]
    )
    tm_connect: str = Field(
        description="when the callee was connected to an agent; '' when never", examples=[""]
    )
    callback_agent_id: str = _ref("the agent the callback is routed to (nil UUID: the queue)")


class DncList(_Out):
    """A do-not-call list (docs/compliance.md)."""

    id: str = _id("the list's id")
    customer_id: str = _id("the owner", "5e4a0680-804e-11ec-8477-2fea5968d85b")
    name: str = Field(examples=["internal dnc"])
    detail: str = Field(examples=[""])
    tm_create: str = _tm_create()
    tm_update: str = _tm_update()
    tm_delete: str = _tm_delete()


class DncEntry(_Out):
    """A number on a do-not-call list."""

    id: str = _id("the entry's id")
    customer_id: str = _id("the owner", "5e4a0680-804e-11ec-8477-2fea5968d85b")
    dnclist_id: str = _id("the list")
    number: str = Field(pattern=r"^\+[0-9]{7,15}$", examples=["+12125550100"])
    expire: str | None = Field(
        description="when the entry stops applying; null: never", pattern=TS_PATTERN
    )
    detail: str = Field(examples=[""])
    tm_create: str = _tm_create()
    tm_update: str = _tm_update()
    tm_delete: str = _tm_delete()


class Media(_Out):
    """An uploaded WAV file's metadata; play it with `media:<id>`."""

    id: str = _id("the media's id")
    customer_id: str = _id("the owner", "5e4a0680-804e-11ec-8477-2fea5968d85b")
    name: str = Field(examples=["greeting"])
    reference: str = Field(examples=[f"media:{UUID_EXAMPLE}"])
    size: int = Field(ge=0, examples=[16044])
    duration_ms: int = Field(ge=0, examples=[1000])
    sample_rate: int = Field(ge=0, examples=[8000])
    channels: int = Field(ge=0, examples=[1])
    tm_create: str = _tm_create()
    tm_update: str = _tm_update()
    tm_delete: str = _tm_delete()


class Recording(_Out):
    """A call recording (VoIPBIN's recording shape); the WAV is at `.../{id}/file`."""

    id: str = _id("the recording's id")
    customer_id: str = _id("the owner", "5e4a0680-804e-11ec-8477-2fea5968d85b")
    activeflow_id: str = _ref("the active flow")
    reference_type: str = Field(examples=["call"])
    reference_id: str = _ref("the call")
    status: Literal["recording", "ended", "failed"] = Field(examples=["ended"])
    format: str = Field(examples=["wav"])
    on_end_flow_id: str = _ref("the flow run when it ends")
    tm_start: str = Field(description="'' when it never started", examples=[""])
    tm_end: str = Field(description="'' when it never started", examples=[""])
    tm_create: str = _tm_create()
    tm_update: str = _tm_update()
    tm_delete: str = _tm_delete()
    campaign_id: str = _ref("the campaign")
    campaigncall_id: str = _ref("the attempt")
    channels: int = Field(ge=0, examples=[2])
    duration_ms: int = Field(ge=0, examples=[5000])
    detail: str = Field(examples=[""])


class Blocker(_Out):
    reason: str = Field(examples=["WINDOW_CLOSED"])
    destination_index: int | None
    detail: str
    clears_at: str | None = Field(pattern=TS_PATTERN)


class Eligibility(_Out):
    """Whether a target would be dialed now and, if not, every reason."""

    dialable_now: bool
    campaign_id: str = Field(description="the campaign judged against, or ''")
    reasons: list[Blocker]
    priority: int = Field(ge=0, le=9, description="the target's priority")
    order: Literal["", "oldest_attempt_first", "fifo", "priority"] = Field(
        description="the outplan's order ('' when there is no outplan to judge against)"
    )
    order_detail: str = Field(description="what the order means for this target")


class Preview(_Out):
    """How many targets are dialable now, later and never."""

    campaign_id: str = _id("the campaign")
    campaign_status: str = Field(examples=["stop"])
    pacing_full: bool
    total: int = Field(ge=0)
    dialable_now: int = Field(ge=0)
    later: dict[str, int]
    never: dict[str, int]
    tm_compute: str = _ts("when it was computed", "2022-04-30 17:52:16.484341")


class MinuteCount(_Out):
    minute: str = _ts("the minute's start", "2022-04-30 17:52:00.000000")
    count: int = Field(ge=0)


class Stats(_Out):
    """A campaign's counts (docs/events.md)."""

    campaign_id: str = _id("the campaign")
    status: str = Field(examples=["run"])
    targets_total: int = Field(ge=0)
    targets_by_status: dict[str, int]
    attempts_total: int = Field(ge=0)
    attempts_finished: int = Field(ge=0)
    attempts_by_result: dict[str, int]
    attempts_by_hangup_reason: dict[str, int]
    calls_in_flight: int
    calls_per_minute: list[MinuteCount]
    answer_rate: float
    tm_update: str = _ts("when it was computed", "2022-04-30 17:52:16.484341")
    connected: int = Field(ge=0, description="callees connected to an agent")
    abandoned: int = Field(ge=0, description="callees answered and not connected within 2 s")
    abandon_rate: float = Field(
        ge=0, le=1, description="abandoned / (connected + abandoned); 0 when none"
    )


class Tag(_Out):
    """A tag: agents serve the queues they share a tag with."""

    id: str = _id("the tag's id")
    customer_id: str = _id("the owner", "5e4a0680-804e-11ec-8477-2fea5968d85b")
    name: str = Field(examples=["sales"])
    detail: str = Field(examples=[""])
    tm_create: str = _tm_create()
    tm_update: str = _tm_update()
    tm_delete: str = _tm_delete()


class Agent(_Out):
    """A person who takes answered calls (VoIPBIN's agent; the password is never shown)."""

    id: str = _id("the agent's id")
    customer_id: str = _id("the owner", "5e4a0680-804e-11ec-8477-2fea5968d85b")
    username: str = Field(examples=["alice"])
    name: str = Field(examples=["Alice"])
    detail: str = Field(examples=[""])
    ring_method: Literal["ringall", "linear"] = Field(examples=["ringall"])
    status: Literal["", "available", "away", "busy", "offline", "ringing"] = Field(
        examples=["available"]
    )
    permission: int = Field(ge=0, le=65535, examples=[16])
    tag_ids: list[str] = Field(description="tag ids")
    addresses: list[Address] = Field(description="where the agent answers (sip, tel)")
    tm_status: str = _ts("when the status last changed", "2022-04-30 17:52:16.484341")
    tm_create: str = _tm_create()
    tm_update: str = _tm_update()
    tm_delete: str = _tm_delete()
    nailed_up: bool | None = Field(
        None,
        description="outdial's own (not VoIPBIN's), present only when true: the desk keeps "
        "one leg to the agent open between calls and connects callees to it without ringing "
        "(docs/agents.md)",
        examples=[True],
    )


class AgentPhone(_Out):
    """The agent's browser phone (WebRTC; docs/agents.md "The browser as the agent's phone")."""

    agent_id: str = _id("the agent's id")
    type: Literal["answer", ""] = Field(
        examples=["answer"], description="'answer' with outdial's SDP answer; '' otherwise"
    )
    sdp: str = Field(examples=[""], description="outdial's SDP answer (non-trickle ICE)")
    state: Literal["new", "connecting", "connected", "disconnected", "failed", "closed"] = Field(
        examples=["connected"], description="the peer connection's state; 'closed': none open"
    )


class Queue(_Out):
    """Which agents serve answered calls and in what order (VoIPBIN's queue)."""

    id: str = _id("the queue's id")
    customer_id: str = _id("the owner", "5e4a0680-804e-11ec-8477-2fea5968d85b")
    name: str = Field(examples=["sales"])
    detail: str = Field(examples=[""])
    routing_method: Literal["random", "longest-idle"] = Field(examples=["random"])
    tag_ids: list[str] = Field(description="agents with one of these tags serve the queue")
    wait_actions: list[dict[str, Any]] = Field(description="what a waiting callee hears")
    wait_timeout: int = Field(ge=0, description="ms")
    service_timeout: int = Field(ge=0, description="ms")
    total_incoming_count: int = Field(ge=0)
    total_serviced_count: int = Field(ge=0)
    total_abandoned_count: int = Field(ge=0)
    tm_create: str = _tm_create()
    tm_update: str = _tm_update()
    tm_delete: str = _tm_delete()


class Customer(_Out):
    """The caller's account: webhook settings and the toll-fraud guard."""

    id: str = _id("the customer's id", "5e4a0680-804e-11ec-8477-2fea5968d85b")
    name: str
    webhook_method: str = Field(examples=["POST"])
    webhook_uri: str = Field(examples=["https://example.com/hook"])
    allowed_calling_codes: list[str] = Field(examples=[["1", "44"]])
    tm_create: str = _tm_create()
    tm_update: str = _tm_update()
    tm_delete: str = _tm_delete()


class CustomerUpdated(Customer):
    """The customer; `webhook_secret` only when this update set the first `webhook_uri`."""

    webhook_secret: str = Field(
        default="", description="the new signing secret (shown only in this answer)"
    )


class CustomerWithSecret(Customer):
    """The customer, with the new webhook signing secret (shown only in this answer)."""

    webhook_secret: str
    webhook_secret_previous_until: str = Field(
        description="until when the previous secret still signs, or ''"
    )


class TargetHistoryEntry(_Out):
    """A reset or recycle of a target (issue 17): who asked, why, and its status before."""

    id: str = _id("the entry's id")
    customer_id: str = _id("the customer")
    outdial_id: str = _id("the target's outdial")
    outdial_target_id: str = _id("the target")
    campaign_id: str = _ref("the campaign whose recycle pass it was (reset: unset)")
    action: Literal["reset", "recycle"] = Field(examples=["reset"])
    reason: str = Field(description="why, as the request said", examples=["callback asked"])
    accesskey_id: str = _ref("the access key that asked (unset: an operator's command)")
    status: Literal["idle", "done"] = Field(description="the target's status before")
    tm_create: str = _tm_create()


class Recycled(_Out):
    """How many done targets a recycle pass put back to idle with fresh tries."""

    recycled: int = Field(ge=0, examples=[42])


class Replay(_Out):
    customer_id: str = _id("the customer")
    from_event_id: int = Field(ge=0)


class WebhookDelivery(_Out):
    id: int
    event_id: int
    attempt: int
    uri: str
    status_code: int | None
    error: str | None
    ok: bool
    tm_create: str = _tm_create()


class Imported(_Out):
    """How many targets a file import added (all of its rows)."""

    imported: int = Field(ge=0, examples=[1000000])


class User(_Out):
    """A customer user, who signs in with `POST /v1.0/login` (never the password)."""

    id: str = _id("the user's id")
    customer_id: str = _id("the customer the user works for")
    username: str = Field(examples=["ops@example.com"], description="email-like, lower case")
    tm_create: str = _tm_create()
    tm_update: str = _tm_update()
    tm_delete: str = _tm_delete()


class UserList(_Out):
    """The customer's users that are not deleted, newest first (one page: all of them)."""

    result: list[User]


class Session(_Out):
    """Who is signed in: the CSRF token to send in `X-CSRF-Token` on every write made with
    the session cookie. For an access key: `kind` `accesskey` and empty user fields; for an
    agent signed in with `POST /v1.0/login` `kind: agent`: `kind` `agent` and its `agent_id`."""

    csrf_token: str = Field(examples=["Jd1n9Y0bWq5t2S7kQeG4u8rVb3xZcA6mHfLpNoTiRyE"])
    customer_id: str = _id("the caller's customer")
    username: str = Field(examples=["ops@example.com"])
    user_id: str = Field(description="the user's id; '' for an access key or an agent")
    agent_id: str = Field(description="the signed-in agent's id; '' unless `kind` is `agent`")
    tm_expire: str = Field(
        description="when the session ends (UTC, `YYYY-MM-DD HH:MM:SS.ffffff`); '' for an "
        "access key",
        examples=["2022-04-30 17:52:16.484341"],
    )
    kind: Literal["session", "accesskey", "agent"]


class LoggedOut(_Out):
    """Whether a session ended (false for an access key: there was none)."""

    logged_out: bool


class ComplianceRecord(BaseModel):
    """An attempt or a skip of the campaign (docs/compliance.md)."""

    model_config = ConfigDict(extra="allow")


class Health(_Out):
    model_config = ConfigDict(extra="allow")
    status: Literal["ok", "starting"]
    version: str | None = None


class ErrorBody(_Out):
    status: Literal[
        "INVALID_ARGUMENT",
        "UNAUTHENTICATED",
        "PERMISSION_DENIED",
        "NOT_FOUND",
        "FAILED_PRECONDITION",
        "RESOURCE_EXHAUSTED",
        "INTERNAL",
    ]
    reason: str = Field(
        description="a stable machine-readable code (each response lists those it may carry)",
        examples=["OUTDIAL_NOT_FOUND"],
    )
    message: str = Field(examples=["outdial 40bea034-1d17-474d-a5de-da00d0861c69 not found"])
    request_id: str = Field(examples=["0b0f8b5c-8a4c-4a43-9a0e-5b3f0fd4c3a1"])
    errors: list[str] = Field(
        default_factory=list,
        description="a rejected import's bad rows (`line N: message`), as the CLI lists them; "
        "only on IMPORT_REJECTED",
        examples=[
            ["line 3: destination_0.target must be E.164 (+ then 7 to 15 digits) for type tel"]
        ],
    )


class Error(_Out):
    """The error envelope of every non-2xx answer."""

    error: ErrorBody


def _list_of(item: type[BaseModel], name: str) -> type[BaseModel]:
    doc = f"A page of {item.__name__} records, newest first."
    fields: dict[str, Any] = {
        "result": (list[item], ...),  # type: ignore[valid-type]
        "next_page_token": (
            str,
            Field(description="pass as page_token for the next page; '' on the last page"),
        ),
    }
    from pydantic import create_model

    return create_model(name, __base__=_Out, __doc__=doc, **fields)


def _bulk_of(item: type[BaseModel], name: str) -> type[BaseModel]:
    from pydantic import create_model

    fields: dict[str, Any] = {"result": (list[item], ...), "count": (int, ...)}  # type: ignore[valid-type]
    return create_model(name, __base__=_Out, __doc__="Every record created.", **fields)


OutdialList = _list_of(Outdial, "OutdialList")
OutdialtargetList = _list_of(Outdialtarget, "OutdialtargetList")
OutplanList = _list_of(Outplan, "OutplanList")
CampaignList = _list_of(Campaign, "CampaignList")
CampaigncallList = _list_of(Campaigncall, "CampaigncallList")
DncListList = _list_of(DncList, "DncListList")
DncEntryList = _list_of(DncEntry, "DncEntryList")
MediaList = _list_of(Media, "MediaList")
RecordingList = _list_of(Recording, "RecordingList")
WebhookDeliveryList = _list_of(WebhookDelivery, "WebhookDeliveryList")
ComplianceList = _list_of(ComplianceRecord, "ComplianceList")
TargetHistoryList = _list_of(TargetHistoryEntry, "TargetHistoryList")


class OutdialtargetBulk(_Out):
    """Every target created; with `dedupe`, also how many duplicates were skipped."""

    result: list[Outdialtarget]
    count: int
    skipped_duplicates: int | None = Field(
        None,
        ge=0,
        description="duplicates left out (`dedupe_action=skip`); present when `dedupe` is "
        "not `none`",
    )


class AccessKey(_Out):
    """An access key of the customer's (VoIPBIN's CustomerManagerAccesskey): never the token
    itself, only its first characters (`token_prefix`)."""

    id: str = _id("the key's id")
    customer_id: str = _id("the customer the key works for")
    name: str = Field(examples=["reporting"])
    detail: str = Field(examples=["the nightly export job"])
    token_prefix: str = Field(
        examples=["Xq3vB0aL"], description="the token's first 8 characters, to tell keys apart"
    )
    tm_expire: str | None = Field(
        None,
        pattern=TS_PATTERN,
        examples=["2027-04-30 17:52:16.484341"],
        description="when the key stops working (UTC); null: never",
    )
    tm_create: str = _tm_create()
    tm_update: str = _tm_update()
    tm_delete: str = _tm_delete()


class AccessKeyCreated(AccessKey):
    """The new key with its token: shown this once, store it now (only a hash is kept)."""

    token: str = Field(
        examples=["Xq3vB0aLx7kP2mQ9rT5wY1zC4dF6gH8jK0lN3pR5sU7"],
        description="the credential, sent as `Authorization: Bearer` (or ?accesskey=)",
    )


class CampaignBrief(_Out):
    """What an agent needs of the call's campaign: the codes it may choose from."""

    id: str = _id("the campaign's id")
    name: str
    dispositions: list[str] = Field(
        description="the campaign's disposition codes (any code is taken when empty)"
    )


class CampaigncallContext(_Out):
    """A call as the agent page shows it: the campaigncall, its campaign's dispositions, the
    target (name, detail, data, destinations; null if it is gone) and the target's other
    campaigncalls, newest first (at most 20)."""

    campaigncall: Campaigncall
    campaign: CampaignBrief
    target: Outdialtarget | None
    history: list[Campaigncall]


DncEntryBulk = _bulk_of(DncEntry, "DncEntryBulk")
AccessKeyList = _list_of(AccessKey, "AccessKeyList")
TagList = _list_of(Tag, "TagList")
AgentList = _list_of(Agent, "AgentList")
QueueList = _list_of(Queue, "QueueList")

# Every model the document names, by component name.
MODELS: dict[str, type[BaseModel]] = {
    m.__name__: m
    for m in (
        Address,
        Outdial,
        Outdialtarget,
        Outplan,
        Campaign,
        Campaigncall,
        DncList,
        DncEntry,
        Media,
        Recording,
        OptOut,
        Eligibility,
        Preview,
        Stats,
        Customer,
        CustomerUpdated,
        CustomerWithSecret,
        Replay,
        Health,
        Error,
        Imported,
        User,
        UserList,
        Session,
        LoggedOut,
        OutdialList,
        OutdialtargetList,
        OutplanList,
        CampaignList,
        CampaigncallList,
        DncListList,
        DncEntryList,
        MediaList,
        RecordingList,
        WebhookDeliveryList,
        ComplianceList,
        OutdialtargetBulk,
        DncEntryBulk,
        TargetHistoryEntry,
        TargetHistoryList,
        Recycled,
        Tag,
        Agent,
        AgentPhone,
        Queue,
        TagList,
        AgentList,
        QueueList,
        AccessKey,
        AccessKeyCreated,
        AccessKeyList,
        CampaignBrief,
        CampaigncallContext,
    )
}
