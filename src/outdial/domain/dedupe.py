"""Duplicate targets on bulk load and import (issue 17, SPEC 3.10): the modes, what to do with
a duplicate, and the key two destinations share when they reach the same callee.

Pure rules: the storage layer and the importer feed destinations in; nothing here does I/O."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from outdial.domain.errors import InvalidArgument


class Dedupe(StrEnum):
    NONE = "none"  # the default: every row is a new target
    WITHIN_FILE = "within_file"  # a row that repeats an earlier row of the same load
    WITHIN_OUTDIAL = "within_outdial"  # ... or a live (not deleted) target of the outdial


class DedupeAction(StrEnum):
    REPORT = "report"  # the default: a 400 naming every duplicate row, nothing written
    SKIP = "skip"  # leave duplicates out, write the rest, count them


def parse_dedupe(value: object, field: str = "dedupe") -> Dedupe:
    return _parse(Dedupe, value, field)


def parse_dedupe_action(value: object, field: str = "dedupe_action") -> DedupeAction:
    return _parse(DedupeAction, value, field)


E = TypeVar("E", bound=StrEnum)


def _parse(kind: type[E], value: object, field: str) -> E:
    if value is None or value == "":
        return next(iter(kind))  # the first member is the default
    allowed = ", ".join(m.value for m in kind)
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} must be one of: {allowed}")
    try:
        return kind(value)
    except ValueError:
        raise InvalidArgument(f"{field} {value!r} is not one of: {allowed}") from None


def address_key(type_: str, target: str) -> str:
    """The callee an address reaches, for duplicate detection: a `tel` target as it is
    (validation already made it E.164: `+` and digits), a `sip` URI with its host in lower
    case (host names are case-insensitive, the user part is not), any other type as
    `type:target`. Two destinations are duplicates when their keys are equal."""
    if type_ == "tel":
        return target
    if type_ == "sip":
        user, at, host = target.rpartition("@")
        return f"sip:{user}{at}{host.lower()}"
    return f"{type_}:{target}"
