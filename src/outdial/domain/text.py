"""Limits on free-text fields (SPEC 2)."""

from __future__ import annotations

from outdial.domain.errors import InvalidArgument

MAX_NAME = 255
MAX_TEXT = 64 * 1024


def check_unicode(value: str, field: str) -> str:
    """Text that every database and JSON encoder takes: no lone surrogates, no NUL."""
    if not value.isascii():  # ASCII cannot hold a surrogate: skip the encode (bulk loads)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgument(f"{field} is not valid Unicode text") from None
    if "\x00" in value:
        raise InvalidArgument(f"{field} must not contain NUL characters")
    return value


def check_name(value: str, field: str = "name") -> str:
    check_unicode(value, field)
    if len(value) > MAX_NAME:
        raise InvalidArgument(f"{field} is longer than {MAX_NAME} characters")
    return value


def check_text(value: str, field: str) -> str:
    check_unicode(value, field)
    # At most 4 bytes a character: only long text needs its UTF-8 length measured.
    if len(value) * 4 > MAX_TEXT and len(value.encode("utf-8")) > MAX_TEXT:
        raise InvalidArgument(f"{field} is longer than {MAX_TEXT} bytes")
    return value
