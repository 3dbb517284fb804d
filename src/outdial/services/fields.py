"""Validation of body fields shared by the services (already JSON-typed by the API layer)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from outdial.domain.address import Address, parse_address
from outdial.domain.errors import InvalidArgument
from outdial.domain.ids import parse_ref
from outdial.domain.text import check_name, check_text

Body = Mapping[str, Any]


def text_fields(body: Body, names: dict[str, str]) -> dict[str, str]:
    """Pick the present text fields; `names` maps field -> "name" or "text" (the limit kind)."""
    out: dict[str, str] = {}
    for field, kind in names.items():
        if field not in body:
            continue
        value = body[field]
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise InvalidArgument(f"{field} must be a string")
        out[field] = check_name(value, field) if kind == "name" else check_text(value, field)
    return out


def integer(body: Body, field: str, *, low: int = 0, high: int = 2**31 - 1) -> int | None:
    if field not in body or body[field] is None:
        return None
    value = body[field]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{field} must be an integer")
    if value < low or value > high:
        raise InvalidArgument(f"{field} must be between {low} and {high}")
    return value


def number(body: Body, field: str, *, low: float, high: float) -> float | None:
    if field not in body or body[field] is None:
        return None
    value = body[field]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(f"{field} must be a number")
    if not low <= value <= high:
        raise InvalidArgument(f"{field} must be between {low} and {high}")
    return float(value)


def ref(body: Body, field: str) -> uuid.UUID | None:
    if field not in body:
        return None
    value = body[field]
    if value is not None and not isinstance(value, str):
        raise InvalidArgument(f"{field} must be a UUID string", reason="INVALID_ID")
    return parse_ref(value, field=field)


def address(body: Body, field: str) -> tuple[bool, Address | None]:
    """(present, value): a present null or empty object clears the address."""
    if field not in body:
        return False, None
    return True, parse_address(body[field], field)
