"""The OpenAPI document served at `/openapi.json` (issue 20; docs/api.md).

FastAPI generates the paths from the routes; this module makes the document tell the truth
about what the routes send and accept, in one place rather than in every route decorator:

- every success response references a named component (api/openapi_schemas.py);
- every error status an operation can answer is listed with the error envelope and the
  `reason` values it may carry; FastAPI's 422 (never sent: validation errors are 400) is gone;
- path ids are `format: uuid`, and request fields carry the domain's rules (lengths, ranges,
  enums, E.164 and SIP patterns, nullability), taken from the domain's own constants;
- the credential forms are security schemes (query and cookie `accesskey`/`token`, bearer).

A route without an entry in OPERATIONS keeps a generic document and fails
tests/api/test_openapi.py, so a new route cannot be left undocumented.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from outdial.api import openapi_schemas as out
from outdial.api.middleware import MAX_BODY
from outdial.domain.action_options import KNOWN_TYPES
from outdial.domain.actions import MAX_ACTIONS
from outdial.domain.address import AddressType
from outdial.domain.agents import DISPOSITION_PATTERN, MAX_DISPOSITIONS
from outdial.domain.callingcodes import MAX_CODE_DIGITS, MAX_CODES
from outdial.domain.callwindow import MAX_HOLIDAYS
from outdial.domain.ids import NIL_UUID
from outdial.domain.outcome import HangupReason
from outdial.domain.recycle import HANGUP_REASONS, MAX_TRIES_BELOW, RESULTS
from outdial.domain.retry import (
    AMD_RESULTS,
    MAX_MS,
    MAX_RULE_TRIES,
    MAX_RULES,
    MAX_VALUE_LEN,
    Then,
)
from outdial.domain.sipheaders import MAX_HEADERS as SIP_MAX_HEADERS
from outdial.domain.sipheaders import MAX_NAME as SIP_MAX_NAME
from outdial.domain.sipheaders import MAX_VALUE as SIP_MAX_VALUE
from outdial.domain.sipheaders import PRIVACY_VALUES, RESERVED
from outdial.domain.text import MAX_NAME, MAX_TEXT
from outdial.domain.timezones import known_zones
from outdial.domain.users import MAX_PASSWORD, MAX_USERNAME, MIN_PASSWORD, USERNAME_PATTERN
from outdial.services import outplans
from outdial.services.agents import MAX_ADDRESSES
from outdial.services.tags import MAX_TAGS

REF = "#/components/schemas/{model}"
E164 = r"^\+[0-9]{7,15}$"
# `user@host[:port]` (a `sip:` prefix is stripped); domain/address.py checks label by label.
# Documented: host names whose labels start with a letter (address literals are taken too,
# where the network policy allows them, which a pattern cannot say).
_LABEL = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_SIP_BODY = rf"[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+@{_LABEL}(?:\.{_LABEL})*(?::[1-9][0-9]{{0,3}})?"
SIP = rf"^(?:[sS][iI][pP]:)?{_SIP_BODY}$"
# The bulk shorthand: `tel:+15550001`, `+15550001` or `sip:user@host`.
SHORT = rf"^(?:(?:[tT][eE][lL]:)?\+[0-9]{{7,15}}|[sS][iI][pP]:{_SIP_BODY})$"
# A time as page tokens and `expire` take it: the wire format or ISO 8601 / RFC 3339.
TIME = (
    r"^[1-9][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[T ](?:[01][0-9]|2[0-3])"
    r":[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?$"
)
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
PAGE_TOKEN = rf"^(?:{TIME[1:-1]}(?:_{_UUID})?)?$"
UUID_OR_EMPTY = rf"^(?:{_UUID})?$"
NO_NUL = r"^[^\x00]*$"
# What Python's str.strip() removes, spelled out: a regex `\s` means less in ECMA-262 (which
# JSON Schema patterns follow) than in Python, which the domain's checks use.
WHITESPACE = "".join(f"\\u{ord(c):04x}" for c in map(chr, range(0x3001)) if c.isspace())
PATH_IDS = {"id", "target_id", "entry_id", "user_id"}


@dataclass(frozen=True)
class Op:
    """What the document says of one operation beyond FastAPI's generated parts."""

    summary: str
    success: str  # a component name, or a media type for non-JSON answers
    not_found: tuple[str, ...] = ()  # 404 reasons (the path's resources)
    invalid: tuple[str, ...] = ()  # 400 reasons besides INVALID_ARGUMENT / INVALID_ID / JSON
    conflict: tuple[str, ...] = ()  # 409 reasons
    exhausted: tuple[str, ...] = ()  # 429 reasons besides RATE_LIMITED
    denied: tuple[str, ...] = ()  # 403 reasons besides CSRF_TOKEN_INVALID
    media: tuple[str, ...] = ()  # 415 reasons besides JSON_CONTENT_TYPE_REQUIRED


_OD = ("OUTDIAL_NOT_FOUND",)
_ODT = ("OUTDIAL_NOT_FOUND", "OUTDIAL_TARGET_NOT_FOUND")
_OP = ("OUTPLAN_NOT_FOUND",)
_CA = ("CAMPAIGN_NOT_FOUND",)
_CC = ("CAMPAIGNCALL_NOT_FOUND",)
_DL = ("DNCLIST_NOT_FOUND",)
_DE = ("DNCLIST_NOT_FOUND", "DNCLIST_ENTRY_NOT_FOUND")
_ME = ("MEDIA_NOT_FOUND",)
_RE = ("RECORDING_NOT_FOUND",)
_CU = ("CUSTOMER_NOT_FOUND",)
_AK = ("ACCESSKEY_NOT_FOUND",)
_DEST = ("DESTINATION_NOT_ALLOWED", "DESTINATION_BLOCKED")
_REFS = ("INVALID_REFERENCE", "OUTDIAL_IN_USE")
_TG = ("TAG_NOT_FOUND",)
_AG = ("AGENT_NOT_FOUND",)
_QU = ("QUEUE_NOT_FOUND",)
_AGENT_INVALID = ("INVALID_REFERENCE", "DESTINATION_NOT_ALLOWED", "DESTINATION_BLOCKED")

OPERATIONS: dict[str, Op] = {
    # outdials
    "create_outdial": Op("Create an outdial", "Outdial", invalid=_REFS),
    "list_outdials": Op("List outdials", "OutdialList"),
    "get_outdial": Op("Get an outdial", "Outdial", _OD),
    "update_outdial": Op("Update an outdial's name and detail", "Outdial", _OD),
    "update_outdial_campaign_id": Op(
        "Attach an outdial to a campaign (empty or nil detaches)", "Outdial", _OD, _REFS
    ),
    "update_outdial_data": Op("Update an outdial's data", "Outdial", _OD),
    "delete_outdial": Op("Delete an outdial (soft)", "Outdial", _OD),
    "create_outdial_target": Op(
        "Create a target", "Outdialtarget", _OD, _DEST, ("OUTDIAL_DELETED",), ("TARGET_LIMIT",)
    ),
    "create_outdial_targets_bulk": Op(
        "Create up to 10,000 targets, all or nothing (dedupe: docs/recycling.md)",
        "OutdialtargetBulk",
        _OD,
        (*_DEST, "DUPLICATE_TARGET"),
        ("OUTDIAL_DELETED",),
        ("TARGET_LIMIT",),
    ),
    "import_outdial_targets": Op(
        "Import a CSV or JSON Lines file of targets, all or nothing",
        "Imported",
        _OD,
        (*_DEST, "IMPORT_REJECTED", "BODY_TIMEOUT"),
        ("OUTDIAL_DELETED",),
        ("TARGET_LIMIT",),
        media=("UNSUPPORTED_MEDIA_TYPE",),
    ),
    "list_outdial_targets": Op("List an outdial's targets", "OutdialtargetList", _OD),
    "get_outdial_target": Op("Get a target", "Outdialtarget", _ODT),
    "delete_outdial_target": Op("Delete a target (soft)", "Outdialtarget", _ODT),
    "reset_outdial_target": Op(
        "Give a done or idle target its tries back (status idle)",
        "Outdialtarget",
        _ODT,
        conflict=("TARGET_IN_PROGRESS", "OUTDIAL_TARGET_DELETED"),
    ),
    "list_outdial_target_history": Op(
        "A target's resets and recycles, newest first", "TargetHistoryList", _ODT
    ),
    "schedule_outdial_target": Op(
        "Reschedule a target: not dialed before a time, optionally from a destination",
        "Outdialtarget",
        _ODT,
        conflict=("TARGET_NOT_IDLE", "DESTINATION_NOT_SET"),
    ),
    # outplans
    "create_outplan": Op("Create an outplan", "Outplan", invalid=("INVALID_SOURCE",)),
    "list_outplans": Op("List outplans", "OutplanList"),
    "get_outplan": Op("Get an outplan", "Outplan", _OP),
    "update_outplan": Op("Update an outplan's name and detail", "Outplan", _OP),
    "update_outplan_dial_info": Op(
        "Update how an outplan dials", "Outplan", _OP, ("INVALID_SOURCE",)
    ),
    "delete_outplan": Op("Delete an outplan (soft)", "Outplan", _OP),
    # campaigns
    "create_campaign": Op("Create a campaign", "Campaign", invalid=_REFS),
    "list_campaigns": Op("List campaigns", "CampaignList"),
    "get_campaign": Op("Get a campaign", "Campaign", _CA),
    "update_campaign": Op(
        "Update a campaign's basic fields", "Campaign", _CA, conflict=("FAILED_PRECONDITION",)
    ),
    "delete_campaign": Op(
        "Delete a stopped campaign (soft)", "Campaign", _CA, conflict=("CAMPAIGN_NOT_STOPPED",)
    ),
    "update_campaign_status": Op(
        "Run or stop a campaign",
        "Campaign",
        _CA,
        ("CAMPAIGN_DELETED", "INVALID_REFERENCE", "FLOW_CAMPAIGN_NOT_SUPPORTED"),
        ("STATE_CONFLICT",),
    ),
    "update_campaign_service_level": Op("Update a campaign's service level", "Campaign", _CA),
    "update_campaign_actions": Op("Update a campaign's actions", "Campaign", _CA),
    "update_campaign_resource_info": Op(
        "Update a campaign's outplan, outdial, queue and next campaign",
        "Campaign",
        _CA,
        _REFS,
        ("FAILED_PRECONDITION",),
    ),
    "update_campaign_next_campaign_id": Op(
        "Update the campaign started when this one ends", "Campaign", _CA, _REFS
    ),
    "recycle_campaign": Op(
        "Put the done targets that match a filter back to idle with fresh tries",
        "Recycled",
        _CA,
        conflict=("CAMPAIGN_DELETED", "CAMPAIGN_HAS_NO_OUTDIAL"),
    ),
    "list_campaign_campaigncalls": Op("List a campaign's campaigncalls", "CampaigncallList", _CA),
    "list_campaigncalls": Op("List campaigncalls", "CampaigncallList"),
    "get_campaigncall": Op("Get a campaigncall", "Campaigncall", _CC),
    "delete_campaigncall": Op(
        "Delete a finished campaigncall (soft)",
        "Campaigncall",
        _CC,
        conflict=("CAMPAIGNCALL_NOT_DONE",),
    ),
    # do-not-call lists
    "create_dnclist": Op("Create a do-not-call list", "DncList"),
    "list_dnclists": Op("List do-not-call lists", "DncListList"),
    "get_dnclist": Op("Get a do-not-call list", "DncList", _DL),
    "update_dnclist": Op("Update a do-not-call list", "DncList", _DL),
    "delete_dnclist": Op("Delete a do-not-call list (soft)", "DncList", _DL),
    "create_dnclist_entry": Op(
        "Add a number to a do-not-call list", "DncEntry", _DL, conflict=("DNCLIST_DELETED",)
    ),
    "create_dnclist_entries_bulk": Op(
        "Add up to 10,000 numbers, all or nothing",
        "DncEntryBulk",
        _DL,
        conflict=("DNCLIST_DELETED",),
    ),
    "list_dnclist_entries": Op("List a do-not-call list's entries", "DncEntryList", _DL),
    "get_dnclist_entry": Op("Get a do-not-call entry", "DncEntry", _DE),
    "delete_dnclist_entry": Op("Remove a do-not-call entry (soft)", "DncEntry", _DE),
    # compliance
    "get_target_eligibility": Op(
        "Whether a target would be dialed now, and why not", "Eligibility", (*_ODT, *_CA)
    ),
    "get_campaign_preview": Op("Count dialable targets without dialing", "Preview", _CA),
    "get_campaign_compliance": Op(
        "A campaign's attempts and skips, newest first", "ComplianceList", _CA
    ),
    # events
    "get_campaign_stats": Op("A campaign's counts", "Stats", _CA),
    "get_own_customer": Op("Get the caller's own customer", "Customer", _CU),
    "get_customer": Op("Get the caller's customer", "Customer", _CU),
    "update_customer": Op(
        "Update webhook settings and allowed calling codes",
        "CustomerUpdated",
        _CU,
        ("INVALID_URI",),
    ),
    "rotate_webhook_secret": Op("Rotate the webhook signing secret", "CustomerWithSecret", _CU),
    "replay_events": Op(
        "Deliver events again from an event id", "Replay", invalid=("WEBHOOK_NOT_CONFIGURED",)
    ),
    "list_webhook_deliveries": Op("The latest webhook deliveries", "WebhookDeliveryList"),
    "stream_events": Op(
        "The event stream (Server-Sent Events)",
        "text/event-stream",
        exhausted=("TOO_MANY_STREAMS",),
    ),
    # users and sessions (issue 14)
    "create_user": Op("Create a customer user", "User", _CU, conflict=("USERNAME_TAKEN",)),
    "list_users": Op("List a customer's users", "UserList", _CU),
    "delete_user": Op(
        "Delete a user (soft) and end its sessions", "User", (*_CU, "USER_NOT_FOUND")
    ),
    "login": Op(
        "Sign in with a username and password (a customer user, or kind agent an agent): "
        "sets the session cookie",
        "Session",
        exhausted=("LOGIN_THROTTLED",),
        denied=("CROSS_ORIGIN_LOGIN",),
        media=("UNSUPPORTED_MEDIA_TYPE",),
    ),
    "logout": Op("Sign out: end the session and clear its cookie", "LoggedOut"),
    "get_session": Op("Who the caller is, with the session's CSRF token", "Session"),
    # access keys (issue 14, console-ops)
    "create_accesskey": Op("Create an access key (its token is shown once)", "AccessKeyCreated"),
    "list_accesskeys": Op("List the customer's access keys (never their tokens)", "AccessKeyList"),
    "get_accesskey": Op("Get an access key", "AccessKey", _AK),
    "update_accesskey": Op("Update an access key's name and detail", "AccessKey", _AK),
    "delete_accesskey": Op("Revoke an access key (at once, everywhere)", "AccessKey", _AK),
    # the agent page (issue 14): an agent's own sign-in and desk
    "list_agent_campaigncalls": Op(
        "The campaigncalls connected to an agent (active=1: waiting for its disposition)",
        "CampaigncallList",
        _AG,
    ),
    "stream_agent_events": Op(
        "One agent's event stream (Server-Sent Events): its status, its campaigncalls",
        "text/event-stream",
        _AG,
        exhausted=("TOO_MANY_STREAMS",),
    ),
    "get_campaigncall_context": Op(
        "A call with its target, its campaign's dispositions and the target's history",
        "CampaigncallContext",
        _CC,
    ),
    # media
    "create_media": Op("Upload a WAV file", "Media", invalid=("INVALID_MEDIA",)),
    "list_media": Op("List media", "MediaList"),
    "get_media": Op("Get a media's metadata", "Media", _ME),
    "get_media_content": Op("Download a media's WAV file", "audio/wav", _ME),
    "delete_media": Op("Delete a media (soft)", "Media", _ME),
    # recordings
    "list_recordings": Op("List recordings", "RecordingList"),
    "get_recording": Op("Get a recording", "Recording", _RE),
    "get_recording_file": Op(
        "Download a recording's WAV file",
        "audio/wav",
        ("RECORDING_NOT_FOUND", "RECORDING_FILE_NOT_FOUND"),
    ),
    "delete_recording": Op("Delete a recording and its file", "Recording", _RE),
    # agents, tags, queues (issue 13)
    "create_tag": Op("Create a tag", "Tag"),
    "list_tags": Op("List tags", "TagList"),
    "get_tag": Op("Get a tag", "Tag", _TG),
    "update_tag": Op("Update a tag's name and detail", "Tag", _TG),
    "delete_tag": Op("Delete a tag (soft)", "Tag", _TG),
    "create_agent": Op("Create an agent", "Agent", invalid=_AGENT_INVALID),
    "list_agents": Op("List agents", "AgentList"),
    "get_agent": Op("Get an agent", "Agent", _AG),
    "update_agent": Op("Update an agent's basic fields", "Agent", _AG),
    "update_agent_status": Op("Set an agent's status", "Agent", _AG),
    "update_agent_addresses": Op(
        "Set where an agent answers",
        "Agent",
        _AG,
        ("DESTINATION_NOT_ALLOWED", "DESTINATION_BLOCKED"),
    ),
    "update_agent_tag_ids": Op("Set an agent's tags", "Agent", _AG, ("INVALID_REFERENCE",)),
    "update_agent_password": Op("Set an agent's password (never returned)", "Agent", _AG),
    "delete_agent": Op("Delete an agent (soft)", "Agent", _AG),
    "open_agent_phone": Op(
        "Use a browser as the agent's phone: answer its WebRTC offer",
        "AgentPhone",
        _AG,
        conflict=("WEBRTC_UNAVAILABLE",),
    ),
    "get_agent_phone": Op("The state of the agent's browser phone", "AgentPhone", _AG),
    "close_agent_phone": Op("Hang up the agent's browser phone", "AgentPhone", _AG),
    "create_queue": Op("Create a queue", "Queue", invalid=("INVALID_REFERENCE",)),
    "list_queues": Op("List queues", "QueueList"),
    "get_queue": Op("Get a queue", "Queue", _QU),
    "update_queue": Op("Update a queue", "Queue", _QU, ("INVALID_REFERENCE",)),
    "delete_queue": Op("Delete a queue (soft)", "Queue", _QU),
    "update_campaigncall_disposition": Op(
        "Set a call's disposition, note and callback",
        "Campaigncall",
        _CC,
        ("INVALID_DISPOSITION", "INVALID_REFERENCE"),
        ("CAMPAIGNCALL_DELETED", "CAMPAIGNCALL_NOT_DONE", "TARGET_NOT_SCHEDULABLE"),
    ),
    # health
    "health": Op("Liveness and readiness", "Health"),
}

TAGS = [
    {"name": "outdials", "description": "Lists of targets (people to call)"},
    {"name": "outdialtargets", "description": "The targets of an outdial"},
    {"name": "outplans", "description": "How to dial"},
    {"name": "campaigns", "description": "Campaign runs"},
    {"name": "campaigncalls", "description": "Attempts"},
    {"name": "dnclists", "description": "Do-not-call lists and their entries"},
    {"name": "compliance", "description": "Eligibility, previews and the compliance log"},
    {"name": "events", "description": "Stats, the event stream, webhooks, customers"},
    {"name": "users", "description": "Customer users and their sign-in sessions"},
    {"name": "accesskeys", "description": "The customer's access keys (token shown once)"},
    {"name": "media", "description": "Uploaded audio"},
    {"name": "recordings", "description": "Call recordings"},
    {"name": "agents", "description": "Agents, tags and queues (issue 13)"},
    {"name": "health", "description": "Liveness"},
]

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer KEY"},
    "accesskey": {"type": "apiKey", "in": "query", "name": "accesskey"},
    "token": {"type": "apiKey", "in": "query", "name": "token"},
    "accesskeyCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "accesskey",
        "description": "writes must then carry Content-Type: application/json (415 otherwise)",
    },
    "tokenCookie": {"type": "apiKey", "in": "cookie", "name": "token"},
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "outdial_session",
        "description": "a customer user's session (POST /v1.0/login) or an agent's "
        "(POST /v1.0/login with kind agent, least-privilege); writes must carry its "
        "CSRF token in X-CSRF-Token (403 CSRF_TOKEN_INVALID otherwise)",
    },
}
SECURITY: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]
# Operations that take no credential (an empty requirement: anyone may call them).
ANONYMOUS = frozenset({"login"})

HTTP_STATUS = {
    "400": ("INVALID_ARGUMENT", "The request is not valid."),
    "401": ("UNAUTHENTICATED", "No working access key or session."),
    "403": (
        "PERMISSION_DENIED",
        "A cookie write without its CSRF token, a login from another site, or an agent's "
        "session outside its own few routes.",
    ),
    "404": ("NOT_FOUND", "No such resource of the caller's."),
    "409": ("FAILED_PRECONDITION", "The resource is not in a state that allows this."),
    "413": (
        "INVALID_ARGUMENT",
        f"The body is larger than {MAX_BODY} bytes (a targets import: the server's "
        "OUTDIAL_IMPORT_MAX_BODY, 2 GiB by default).",
    ),
    "415": ("INVALID_ARGUMENT", "A content type this operation does not take."),
    "429": ("RESOURCE_EXHAUSTED", "A limit was reached; retry after `Retry-After` seconds."),
}


def _error(code: str, reasons: tuple[str, ...]) -> dict[str, Any]:
    status, text = HTTP_STATUS[code]
    listed = ", ".join(f"`{r}`" for r in reasons)
    response: dict[str, Any] = {
        "description": f"{text} `error.status` is `{status}`; `error.reason` is one of {listed}.",
        "content": {
            "application/json": {
                "schema": {"$ref": REF.format(model="Error")},
                "example": {
                    "error": {
                        "status": status,
                        "reason": reasons[0],
                        "message": text,
                        "request_id": "0b0f8b5c-8a4c-4a43-9a0e-5b3f0fd4c3a1",
                    }
                },
            }
        },
        "x-reasons": list(reasons),
    }
    if code == "429":
        response["headers"] = {
            "Retry-After": {"description": "seconds", "schema": {"type": "integer", "minimum": 1}}
        }
    if code == "401":
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return response


def _errors(method: str, path: str, op: Op, has_body: bool, has_query: bool) -> dict[str, Any]:
    invalid: list[str] = []
    if "{" in path:
        invalid.append("INVALID_ID")
    if has_body or has_query:
        invalid.append("INVALID_ARGUMENT")
    if has_body:
        invalid.append("INVALID_JSON_BODY")
    invalid += op.invalid
    found: dict[str, tuple[str, ...]] = {}
    if invalid:
        found["400"] = tuple(dict.fromkeys(invalid))
    found["401"] = ("AUTHENTICATION_REQUIRED", "INVALID_CREDENTIALS", "SESSION_EXPIRED")
    anonymous = op is OPERATIONS["login"]
    csrf = () if anonymous else ("CSRF_TOKEN_INVALID",)
    agent = () if anonymous else ("AGENT_NOT_PERMITTED",)  # an agent's session elsewhere
    if method in ("post", "put", "delete"):
        denied = csrf + op.denied + agent
    else:
        denied = op.denied + agent
    if denied:
        found["403"] = denied
    if op.not_found:
        found["404"] = op.not_found
    if op.conflict:
        found["409"] = op.conflict
    if method in ("post", "put"):
        found["413"] = ("REQUEST_TOO_LARGE",)
        found["415"] = ("JSON_CONTENT_TYPE_REQUIRED", *op.media)
    found["429"] = ("RATE_LIMITED", *op.exhausted)
    return {code: _error(code, reasons) for code, reasons in found.items()}


_ID_NAMES = {
    "id": "the resource's id",
    "target_id": "the target's id",
    "entry_id": "the entry's id",
    "user_id": "the user's id",
}


def _id_schema(name: str) -> dict[str, Any]:
    return {
        "type": "string",
        "format": "uuid",
        "not": {"const": str(NIL_UUID)},
        "description": f"{_ID_NAMES.get(name, name)} (a UUID, not the nil UUID)",
    }


# Request body rules, by field name, for every request component (the domain's limits).
_NAME = {"maxLength": MAX_NAME, "description": f"at most {MAX_NAME} characters, no NUL"}
_TEXT = {"maxLength": MAX_TEXT, "description": f"at most {MAX_TEXT} bytes of UTF-8, no NUL"}
_REF = {"pattern": UUID_OR_EMPTY, "description": "a UUID; empty, null or nil: unset"}
_MS = {"minimum": 0}
FIELD_RULES: dict[str, dict[str, Any]] = {
    "name": _NAME,
    "detail": _TEXT,
    "data": _TEXT,
    "campaign_id": _REF,
    "outplan_id": _REF,
    "outdial_id": _REF,
    "queue_id": _REF,
    "callback_agent_id": _REF,
    "next_campaign_id": _REF,
    "dial_timeout": {**_MS, "maximum": outplans.MAX_DIAL_TIMEOUT},
    "try_interval": {**_MS, "maximum": outplans.MAX_TRY_INTERVAL},
    **{f"max_try_count_{n}": {**_MS, "maximum": outplans.MAX_TRIES} for n in range(5)},
    "max_attempts_per_number_24h": {**_MS, "maximum": outplans.MAX_TRIES},
    "min_number_gap": {**_MS, "maximum": outplans.MAX_NUMBER_GAP},
    "max_concurrent_calls": {"minimum": 1, "maximum": 100_000},
    "calls_per_second": {"minimum": 0.001, "maximum": 100_000},
    "number": {"pattern": E164, "description": "E.164, such as +12125550100"},
    # issue 13
    "username": _NAME,
    "note": _TEXT,
    "abandon_message": _TEXT,
    "password": {"maxLength": 1024},
    "disposition": {"pattern": f"^(?:{DISPOSITION_PATTERN[1:-1]})?$"},
    "max_abandon_rate": {"minimum": 0, "maximum": 100},
    "callback_at": {"pattern": f"^(?:|{TIME[1:-1]})$"},
    "wait_timeout": {**_MS, "maximum": 86_400_000},
    "service_timeout": {**_MS, "maximum": 86_400_000},
    "permission": {"minimum": 0, "maximum": 65535},
}


def _address_schemas() -> dict[str, Any]:
    """An Address as the API accepts it: one shape per type (the target's rule depends on
    the type); all keys optional; an empty object or null means unset. Unknown keys are
    ignored."""
    text = {"type": ["string", "null"], "maxLength": MAX_NAME, "pattern": NO_NUL}
    extra = {"target_name": text, "name": text, "detail": text}

    def shape(kind: dict[str, Any], target: dict[str, Any], required: list[str]) -> Any:
        properties = {"type": kind, "target": target, **extra}
        return {"type": "object", "properties": properties, "required": required}

    others = [t.value for t in AddressType if t.value and t.value not in ("tel", "sip")]
    named = {"type": "string", "minLength": 1, "maxLength": MAX_NAME}
    return {
        "AddressTel": shape({"const": "tel"}, {"type": "string", "pattern": E164}, _BOTH),
        "AddressSip": shape({"const": "sip"}, {**_SIP_TARGET, "type": "string"}, _BOTH),
        "AddressOther": shape({"enum": others}, named, _BOTH),
        "AddressUnset": shape({"enum": ["", None]}, {"enum": ["", None]}, []),
        "AddressSet": {
            "description": "A set address: tel (E.164), sip (user@host[:port]), or "
            f"{', '.join(others)} (stored; dialing them fails until a backend supports them).",
            "anyOf": [_ref(n) for n in ("AddressTel", "AddressSip", "AddressOther")],
        },
        "AddressIn": {
            "description": "A destination or caller id; an empty object or null: unset.",
            "anyOf": [_ref("AddressSet"), _ref("AddressUnset")],
        },
    }


_BOTH = ["type", "target"]
_SIP_TARGET = {
    "pattern": SIP,
    "maxLength": MAX_NAME,
    "description": "user@host or user@host:port (a sip: prefix is stripped); an address "
    "literal is also taken where the network policy allows it",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _one_destination() -> dict[str, Any]:
    """At least one destination_N is set (SPEC 1): not every one of them unset. Said with
    `not` rather than `anyOf` so that client generators keep one model class."""
    unset = {"anyOf": [{"type": "null"}, {"const": ""}, _ref("AddressUnset")]}
    return {"not": {"properties": {f"destination_{n}": unset for n in range(5)}}}


_FOR_TYPE = {
    "string": ("maxLength", "minLength", "pattern"),
    "integer": ("minimum", "maximum"),
    "number": ("minimum", "maximum"),
}


def _constrain(schema: dict[str, Any], rule: dict[str, Any]) -> None:
    """Apply a rule to a property schema (to its non-null branch when it is `X | None`)."""
    for branch in schema.get("anyOf", [schema]):
        keys = _FOR_TYPE.get(branch.get("type", ""), ())
        branch.update({k: v for k, v in rule.items() if k in keys})
    if "description" in rule:
        schema.setdefault("description", rule["description"])


def _request_rules(schemas: dict[str, Any], request_names: set[str]) -> None:
    schemas.update(_address_schemas())
    for name in request_names:
        component = schemas.get(name, {})
        for prop, schema in component.get("properties", {}).items():
            if prop in FIELD_RULES:
                _constrain(schema, FIELD_RULES[prop])
    schemas["TargetCreate"].update(_one_destination())
    bulk = schemas["TargetBulkItem"]
    for n in range(5):
        bulk["properties"][f"destination_{n}"]["anyOf"][1] = {
            "type": "string",
            "pattern": rf"^(?:|{SHORT[1:-1]})$",
            "description": "the shorthand; '' is unset",
        }
    bulk.update(_one_destination())
    entry = schemas["DncEntryIn"]
    entry["required"] = ["number"]
    entry["properties"]["number"] = {
        "type": "string",
        "pattern": E164,
        "description": "E.164, such as +12125550100",
    }
    entry["properties"]["expire"]["anyOf"][0]["pattern"] = TIME
    action = schemas["ActionIn"]["properties"]
    for key in ("id", "next_id"):
        action[key]["anyOf"][0]["pattern"] = UUID_OR_EMPTY
    action["type"]["enum"] = sorted(KNOWN_TYPES)  # others are a 400 (domain/action_options.py)
    schemas["CampaignActions"]["properties"]["actions"]["maxItems"] = MAX_ACTIONS
    schemas["CampaignCreate"]["properties"]["actions"]["anyOf"][0]["maxItems"] = MAX_ACTIONS

    _recycle_rules(schemas["CampaignRecycle"]["properties"])
    schemas["TargetReset"]["properties"]["reason"]["anyOf"][0].update(
        maxLength=MAX_TEXT, pattern=NO_NUL
    )

    schemas.update(CallWindowIn=_call_window(), SipHeadersIn=_sip_headers())
    schemas["UserCreate"]["properties"].update(_user_fields())
    schemas["LoginIn"] = {
        "type": "object",
        "description": "A username and its password (JSON or a form); `kind` `agent` signs "
        "an agent in (the agent page: a least-privilege session)",
        "properties": {
            "username": {"type": "string", "maxLength": MAX_USERNAME},
            "password": {"type": "string", "maxLength": MAX_PASSWORD},
            "kind": {"type": "string", "enum": ["user", "agent"], "default": "user"},
        },
        "required": ["username", "password"],
    }
    schemas.update(RetryRuleIn=_retry_rule())
    schemas["TargetSchedule"]["properties"]["not_before"]["pattern"] = TIME
    customer = schemas["CustomerUpdate"]["properties"]
    customer["webhook_method"]["anyOf"][0]["pattern"] = "^(?:[pP][oO][sS][tT]|[pP][uU][tT])$"
    customer["webhook_uri"]["anyOf"][0].update(
        pattern=r"^(?:|[hH][tT][tT][pP][sS]?://[!-~]+)$", maxLength=2000
    )
    customer["webhook_uri"]["description"] = (
        "an http(s) URL whose host resolves to an address the network policy allows; '' "
        "turns webhooks off"
    )
    codes = customer["allowed_calling_codes"]["anyOf"][0]
    codes.update(maxItems=MAX_CODES)
    codes["items"] = {"type": "string", "pattern": rf"^\+?[0-9]{{1,{MAX_CODE_DIGITS}}}$"}
    caller_id = [_ref("AddressTel"), _ref("AddressSip"), _ref("AddressUnset"), {"type": "null"}]
    zones = ZONES
    for name in ("DialInfo", "OutplanCreate"):
        props = schemas[name]["properties"]
        props["source"] = {"description": "the caller id: tel or sip", "anyOf": caller_id}
        props["call_window"] = {"anyOf": [_ref("CallWindowIn"), {"type": "null"}]}
        props["sip_headers"] = {"anyOf": [_ref("SipHeadersIn"), {"type": "null"}]}
        rules = {"type": "array", "maxItems": MAX_RULES, "items": _ref("RetryRuleIn")}
        props["retry_rules"] = {
            "description": props["retry_rules"]["description"],
            "anyOf": [rules, {"type": "null"}],
        }
    for name in ("TargetCreate", "TargetBulkItem"):
        schemas[name]["properties"]["timezone"] = {
            "description": "the callee's IANA zone (calling windows); '' or null: from the number",
            "anyOf": [{"type": "string", "pattern": f"^(?:|{zones})$"}, {"type": "null"}],
        }
    _agent_rules(schemas)


def _agent_rules(schemas: dict[str, Any]) -> None:
    """Issue 13's request lists: tag ids, agent addresses (sip or tel), disposition codes."""
    tag_ids = {
        "type": "array",
        "maxItems": MAX_TAGS,
        "items": {"type": "string", "format": "uuid", "pattern": f"^{_UUID}$",
                  "not": {"const": str(NIL_UUID)}},
        "description": "tag ids (each the caller's, not deleted)",
    }  # fmt: skip
    for name in ("AgentCreate", "AgentTagIds", "QueueIn"):
        schemas[name]["properties"]["tag_ids"] = {"anyOf": [tag_ids, {"type": "null"}]}
    addresses = {
        "type": "array",
        "maxItems": MAX_ADDRESSES,
        "items": {"anyOf": [_ref("AddressTel"), _ref("AddressSip")]},
        "description": "where the agent answers: tel or sip (sim:agent?aht=..&wrap=.. on the "
        "simulated telephony)",
    }
    for name in ("AgentCreate", "AgentAddresses"):
        schemas[name]["properties"]["addresses"] = {"anyOf": [addresses, {"type": "null"}]}
    codes = {
        "type": "array",
        "maxItems": MAX_DISPOSITIONS,
        "items": {"type": "string", "pattern": DISPOSITION_PATTERN},
    }
    for name in ("CampaignUpdate", "CampaignCreate"):
        schemas[name]["properties"]["dispositions"] = {"anyOf": [codes, {"type": "null"}]}
    schemas["QueueIn"]["properties"]["wait_actions"]["anyOf"][0]["maxItems"] = MAX_ACTIONS


def _recycle_rules(props: dict[str, Any]) -> None:
    """The recycle filter's values (domain/recycle.py)."""
    for name, allowed in (("results", RESULTS), ("hangup_reasons", HANGUP_REASONS)):
        listed = props[name]["anyOf"][0]
        listed.update(minItems=1)
        listed["items"] = {"type": "string", "enum": list(allowed)}
    props["tries_below"]["anyOf"][0].update(minimum=1, maximum=MAX_TRIES_BELOW)
    props["last_attempt_before"]["anyOf"][0].update(pattern=TIME)
    props["reason"]["anyOf"][0].update(maxLength=MAX_TEXT, pattern=NO_NUL)


def _user_fields() -> dict[str, Any]:
    return {
        "username": {
            "type": "string",
            "maxLength": MAX_USERNAME,
            "pattern": USERNAME_PATTERN,
            "description": "email-like (name@example.com); kept in lower case, unique",
        },
        "password": {
            "type": "string",
            "minLength": MIN_PASSWORD,
            "maxLength": MAX_PASSWORD,
            "pattern": NO_NUL,
            "description": f"{MIN_PASSWORD} to {MAX_PASSWORD} characters; kept only as an "
            "argon2id hash",
        },
    }


# IANA zone names as a pattern rather than an enum: client generators make an enum class of
# an enum, and several zone names map to one identifier (Etc/GMT+0, Etc/GMT-0, GMT0).
ZONES = "|".join(re.escape(zone) for zone in sorted(known_zones()))


def _call_window() -> dict[str, Any]:
    hhmm = {"type": "string", "pattern": r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$"}
    day = r"^[1-9][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])$"
    return {
        "type": "object",
        "description": "When numbers may be called, in the callee's zone (docs/callwindows.md)",
        "properties": {
            "days": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1, "maximum": 7},
                "description": "ISO weekdays, 1 = Monday; default every day",
            },
            "start": hhmm,
            "end": hhmm,
            "holidays": {
                "type": "array",
                "maxItems": MAX_HOLIDAYS,
                "items": {"type": "string", "pattern": day},
                "description": "dates as YYYY-MM-DD (any real date is taken)",
            },
            "timezone": {
                "type": "string",
                "pattern": f"^(?:{ZONES})$",
                "description": "an IANA zone name; default UTC",
            },
        },
        "required": ["start", "end"],
        "additionalProperties": False,
    }


def _retry_rule() -> dict[str, Any]:
    """One retry rule as `domain/retry.py` takes it (SPEC 3.9)."""
    text = {"type": "string", "minLength": 1, "maxLength": MAX_VALUE_LEN, "pattern": NO_NUL}
    reasons = sorted(r.value for r in HangupReason if r.value)
    when = {
        "type": "object",
        "description": "the ended attempt's values to match (all that are named)",
        "properties": {
            "hangup_reason": {"type": "string", "enum": reasons},
            "amd_result": {"type": "string", "enum": sorted(AMD_RESULTS)},
            "disposition": text,
            "sip_code": {"type": "integer", "minimum": 100, "maximum": 699},
        },
        "minProperties": 1,
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "description": "the first rule that matches an ended attempt decides (docs/retry.md)",
        "properties": {
            "when": when,
            "interval_ms": {"type": "integer", "minimum": 0, "maximum": MAX_MS},
            "max_tries": {
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_RULE_TRIES,
                "description": "attempts of the destination in all under `retry`; 0: "
                "max_try_count_N only",
            },
            "then": {"type": "string", "enum": [t.value for t in Then]},
        },
        "required": ["when"],
        "additionalProperties": False,
    }


def _anycase(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


def _sip_headers() -> dict[str, Any]:
    reserved = "|".join(_anycase(name) for name in sorted(RESERVED))
    privacy = "|".join(sorted(PRIVACY_VALUES))
    value = {
        "type": "string",
        "minLength": 1,
        "maxLength": SIP_MAX_VALUE,
        "pattern": rf"^[^\x00-\x1f\x7f]*[^{WHITESPACE}\x00-\x1f\x7f][^\x00-\x1f\x7f]*$",
    }
    return {
        "type": "object",
        "description": "SIP headers added to each INVITE (Diversion, Privacy, X-...); names "
        "are SIP tokens, not one the SIP stack sets, each named once (in any case)",
        "maxProperties": SIP_MAX_HEADERS,
        "propertyNames": {
            "pattern": rf"^[A-Za-z0-9\-.!%*_+`'~]{{1,{SIP_MAX_NAME}}}$",
            "not": {"pattern": rf"^(?:{reserved})$"},
        },
        "patternProperties": {
            f"^{_anycase('privacy')}$": {
                "type": "string",
                "pattern": rf"^ *(?:{privacy}) *(?:; *(?:{privacy}) *)*$",
            }
        },
        "additionalProperties": value,
    }


# Request bodies that the API requires (the routes take an optional body for the others).
REQUIRED_BODY = {
    "create_outdial_target": "TargetCreate",
    "create_dnclist_entry": "DncEntryIn",
}


def _body_components(doc: dict[str, Any]) -> set[str]:
    """Names of the request body components (those FastAPI generated)."""
    return set(doc.get("components", {}).get("schemas", {})) - {
        "HTTPValidationError",
        "ValidationError",
    }


def _success(op: Op) -> dict[str, Any]:
    if "/" in op.success:
        # The event stream's events are documented in docs/events.md; any text here.
        schema: dict[str, Any] = {}
        if op.success == "audio/wav":
            schema = {"type": "string", "format": "binary"}
        return {"description": op.summary, "content": {op.success: {"schema": schema}}}
    component = out.MODELS[op.success]
    return {
        "description": (component.__doc__ or op.summary).strip().splitlines()[0],
        "content": {"application/json": {"schema": {"$ref": REF.format(model=op.success)}}},
    }


def build(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=TAGS,
    )
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    request_names = _body_components(doc)
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    _, defs = models_json_schema(
        [(m, "serialization") for m in out.MODELS.values()], ref_template=REF
    )
    schemas.update(copy.deepcopy(defs.get("$defs", {})))
    _request_rules(schemas, request_names)
    doc["components"]["securitySchemes"] = SECURITY_SCHEMES

    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            _describe(path, method, operation)
    return doc


def _choices(values: tuple[str, ...]) -> dict[str, Any]:
    """A comma-separated list of some of `values` (or empty: no filter)."""
    one = "(?:" + "|".join(re.escape(v) for v in values) + ")"
    return {"type": "string", "pattern": f"^(?:{one}(?:,{one})*)?$"}


_TIME_OR_EMPTY = {"type": "string", "pattern": f"^(?:|{TIME[1:-1]})$"}
_CALL_FILTERS: dict[str, dict[str, Any]] = {
    "status": _choices(("dialing", "progressing", "done")),
    "result": _choices(("success", "fail")),
    "hangup_reason": _choices(HANGUP_REASONS),
    "reason": _choices(HANGUP_REASONS),
    "since": _TIME_OR_EMPTY,
    "until": _TIME_OR_EMPTY,
    "target_id": {"type": "string", "pattern": UUID_OR_EMPTY},
}
# The list filters (console-ops; domain/list_filters.py): what each value may be, so that a
# value the document allows is one the server takes. (`until` must also be after `since`.)
LIST_FILTERS: dict[str, dict[str, dict[str, Any]]] = {
    "list_outdial_targets": {
        "status": _choices(("idle", "progressing", "done")),
        "q": {"type": "string", "pattern": r"^[^\x00-\x1f]*$"},
    },
    "list_campaigncalls": _CALL_FILTERS,
    "list_campaign_campaigncalls": _CALL_FILTERS,
}


def _describe(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    op = OPERATIONS.get(operation.get("operationId", ""))
    if op is None:  # undocumented: test_openapi fails on it
        return
    operation["summary"] = op.summary
    if path.startswith("/v1.0/"):
        operation["tags"] = [_tag(path)]
    params = operation.get("parameters", [])
    for param in params:
        if param.get("in") == "path" and param["name"] in PATH_IDS:
            param["schema"] = _id_schema(param["name"])
        if param.get("in") == "query" and param["name"] == "campaign_id":
            param["schema"] = {
                **_id_schema("campaign_id"),
                "description": "the campaign to judge against (default: the outdial's)",
            }
        if param.get("in") == "query" and param["name"] == "campaigncall_id":
            param["schema"] = {
                "type": "string",
                "pattern": UUID_OR_EMPTY,
                "not": {"const": str(NIL_UUID)},
                "description": "only this attempt's (a UUID; empty: all)",
            }
        filters = LIST_FILTERS.get(operation.get("operationId", ""), {})
        if param.get("in") == "query" and param["name"] in filters:
            param["schema"] = {**param.get("schema", {}), **filters[param["name"]]}
        if param.get("in") == "query" and param["name"] == "page_token":
            param["schema"] = {
                "type": "string",
                "maxLength": 200,
                "pattern": PAGE_TOKEN,
                "description": "next_page_token of the previous page (or a time: rows before it)",
            }
        if param.get("in") == "header" and param["name"].lower() == "last-event-id":
            param["schema"] = {
                "type": "string",
                "pattern": "^[0-9]{1,15}$",
                "description": "the last event id seen (a browser sends it on reconnect)",
            }
    body_name = REQUIRED_BODY.get(operation.get("operationId", ""))
    if body_name:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body_name)}},
        }
    if operation.get("operationId") in (
        "create_dnclist_entries_bulk",
        "create_outdial_targets_bulk",
    ):
        bulk = operation["requestBody"]["content"]["application/json"]["schema"]
        bulk["minItems"] = 1
        if operation["operationId"] == "create_dnclist_entries_bulk":
            bulk["items"] = _ref("DncEntryIn")
    responses["200"] = _success(op)
    if not path.startswith("/v1.0/"):
        if operation.get("operationId") == "health":
            responses["503"] = {
                "description": "Starting or stopping (`status: starting`)",
                "content": {"application/json": {"schema": _ref("Health")}},
            }
        return
    operation["security"] = [{}] if operation.get("operationId") in ANONYMOUS else SECURITY
    has_query = any(p.get("in") == "query" for p in params)
    responses.update(_errors(method, path, op, "requestBody" in operation, has_query))


def _tag(path: str) -> str:
    """The resource a path is about: its last fixed segment that names a collection."""
    parts = [p for p in path.split("/")[2:] if p and not p.startswith("{")]
    names = {t["name"] for t in TAGS}
    tail = parts[-1] if parts else ""
    if tail in ("users", "login", "logout", "session"):
        return "users"
    if (
        tail in ("targets", "targets_bulk", "targets_import", "eligibility", "reset", "history")
        and parts[0] == "outdials"
    ):
        return "compliance" if tail == "eligibility" else "outdialtargets"
    if tail in ("campaigncalls",) or parts[0] == "campaigncalls":
        return "campaigncalls"
    if tail in ("preview", "compliance"):
        return "compliance"
    if tail == "stats" or parts[0] in ("customers", "events", "webhook_deliveries"):
        return "events"
    return parts[0] if parts[0] in names else tail


def install(app: FastAPI) -> None:
    """Serve the document built here (once, then cached by FastAPI's `openapi_schema`)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
