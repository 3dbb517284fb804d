"""Identifiers: UUID v4, with the nil UUID meaning "unset"."""

from __future__ import annotations

import uuid

from outdial.domain.errors import InvalidArgument

NIL_UUID = uuid.UUID(int=0)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def parse_id(value: str, *, field: str = "id") -> uuid.UUID:
    """Parse a path id; malformed or nil ids are a 400 INVALID_ID."""
    try:
        parsed = uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument(
            f"{field} is not a valid UUID: {value!r}", reason="INVALID_ID"
        ) from None
    if parsed == NIL_UUID:
        raise InvalidArgument(f"{field} must not be the nil UUID", reason="INVALID_ID")
    return parsed


def parse_ref(value: str | None, *, field: str) -> uuid.UUID:
    """Parse an id reference in a body; empty or missing means the nil UUID (unset)."""
    if value is None or value == "":
        return NIL_UUID
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument(
            f"{field} is not a valid UUID: {value!r}", reason="INVALID_ID"
        ) from None
