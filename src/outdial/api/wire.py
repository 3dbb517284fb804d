"""The wire format: timestamps, the delete sentinel, resource JSON, page tokens."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi.responses import JSONResponse

from outdial.domain.errors import InvalidArgument
from outdial.domain.models import (
    Page,
)
from outdial.wire_format import (
    SENTINEL,
    address,
    campaign,
    campaigncall,
    outdial,
    outplan,
    target,
    ts,
)

__all__ = [
    "SENTINEL",
    "address",
    "campaign",
    "campaigncall",
    "listing",
    "ok",
    "outdial",
    "outplan",
    "page_token",
    "parse_page_token",
    "parse_time",
    "target",
    "ts",
]


def parse_time(text: str, field: str) -> datetime:
    """The wire format or ISO 8601 / RFC 3339 (naive means UTC)."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: an offset past year 1 or 9999
        raise InvalidArgument(f"{field} is not a valid timestamp: {text!r}") from None


def page_token(page: Page) -> str:
    if page.cursor is None:
        return ""
    at, last_id = page.cursor
    return f"{at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}_{last_id}"


def parse_page_token(token: str | None) -> tuple[datetime, uuid.UUID | None] | None:
    """Our tokens are `TIME_ID`; a bare time (as VoIPBIN sends) pages strictly before it."""
    if token is None or token == "":
        return None
    at_text, sep, id_text = token.partition("_")
    at = parse_time(at_text, "page_token")
    if not sep:
        return at, None
    try:
        return at, uuid.UUID(id_text)
    except ValueError:
        raise InvalidArgument("page_token is malformed") from None


class WireJSON(JSONResponse):
    """Starlette's JSON response, encoded by orjson (a 100-row page spends 0.05 ms there
    against 0.6 ms in the standard library's encoder). Bodies may hold `orjson.Fragment`
    values: JSON text stored as is (see storage/projections.py). A body orjson refuses (an
    integer past 64 bits, a lone surrogate) falls back to the standard encoder, escaped to
    ASCII."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except orjson.JSONEncodeError:
            return _fallback(content).encode("ascii")


def _default(value: Any) -> Any:
    if isinstance(value, orjson.Fragment):
        return json.loads(orjson.dumps(value))
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_fallback = json.JSONEncoder(
    ensure_ascii=True,
    check_circular=False,
    allow_nan=False,
    separators=(",", ":"),
    default=_default,
).encode


def ok(body: dict[str, Any]) -> JSONResponse:
    """A 200 with the body as JSON. Routes return responses rather than dicts so that
    FastAPI does not validate and re-encode bodies that are plain JSON values already."""
    return WireJSON(body)


def listing(page: Page, render: Any) -> dict[str, Any]:
    return {"result": [render(item) for item in page.items], "next_page_token": page_token(page)}
