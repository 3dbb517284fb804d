"""Lists on the wire: page tokens (`TIME_ID`), times given in queries, the list envelope."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from outdial.domain.errors import InvalidArgument
from outdial.domain.models import Page


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


def listing(page: Page, render: Callable[[Any], Any]) -> dict[str, Any]:
    """`{"result": [...], "next_page_token": ...}`; `render` makes each item's JSON."""
    return {"result": [render(item) for item in page.items], "next_page_token": page_token(page)}
