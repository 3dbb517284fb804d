"""Limits on free-text fields (SPEC 2)."""

from __future__ import annotations

from outdial.domain.errors import InvalidArgument

MAX_NAME = 255
MAX_TEXT = 64 * 1024


def _check_encodable(value: str, field: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument(f"{field} is not valid Unicode text") from None


def check_name(value: str, field: str = "name") -> str:
    _check_encodable(value, field)
    if len(value) > MAX_NAME:
        raise InvalidArgument(f"{field} is longer than {MAX_NAME} characters")
    if "\x00" in value:
        raise InvalidArgument(f"{field} must not contain NUL characters")
    return value


def check_text(value: str, field: str) -> str:
    _check_encodable(value, field)
    if len(value.encode("utf-8")) > MAX_TEXT:
        raise InvalidArgument(f"{field} is longer than {MAX_TEXT} bytes")
    if "\x00" in value:
        raise InvalidArgument(f"{field} must not contain NUL characters")
    return value
