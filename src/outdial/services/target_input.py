"""Turning one target's input (JSON body, bulk item, CSV or JSON Lines row) into row values."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from outdial.domain.address import Address, parse_address, parse_short_address
from outdial.domain.destinations import DestinationRule
from outdial.domain.errors import InvalidArgument
from outdial.domain.ids import new_id
from outdial.domain.models import DESTINATION_SLOTS
from outdial.domain.retry import parse_priority
from outdial.domain.states import TargetStatus
from outdial.domain.text import check_name, check_text
from outdial.domain.timezones import validate_timezone
from outdial.storage.codec import dump_address

_TEXT_CHECKS: tuple[tuple[str, Callable[[str, str], str]], ...] = (
    ("name", check_name),
    ("detail", check_text),
    ("data", check_text),
)
DEST_FIELDS = tuple(f"destination_{n}" for n in range(DESTINATION_SLOTS))
KNOWN_FIELDS = frozenset({"name", "detail", "data", *DEST_FIELDS, "timezone", "priority"})


def destination(raw: Any, field: str) -> Address | None:
    """A destination as a JSON Address object, or the `tel:`/`sip:` shorthand string."""
    if isinstance(raw, str):
        return parse_short_address(raw, field)
    return parse_address(raw, field)


_FRESH: dict[str, Any] = {
    "status": TargetStatus.IDLE.value,
    **{f"try_count_{n}": 0 for n in range(DESTINATION_SLOTS)},
    "last_attempt_end": None,
    "tm_delete": None,
    "timezone": None,
    "not_before": None,
    "priority": 0,
    "retry_at": None,
    "retry_note": None,
    "start_destination": None,
}


DEFAULT_RULE = DestinationRule()  # nothing private reachable, every calling code


def target_values(
    body: Mapping[str, Any],
    outdial_id: uuid.UUID,
    now_us: int,
    rule: DestinationRule = DEFAULT_RULE,
) -> dict[str, Any]:
    """Validate one target and build its row (status idle, try counts 0, tm_update = tm_create).
    `rule`: the customer's checks on destinations (blocked literal hosts, calling codes).

    This runs once per row of a bulk load (a million times for a large file), so it is written
    for speed: one dict, no intermediate mappings, the shorthand parsed on its fast path."""
    values = dict(_FRESH)
    for field, check in _TEXT_CHECKS:
        value = body.get(field)
        if value is None:
            values[field] = ""
        elif isinstance(value, str):
            values[field] = check(value, field)
        else:
            raise InvalidArgument(f"{field} must be a string")
    any_set = False
    for field in DEST_FIELDS:
        raw = body.get(field)
        if raw is None:
            values[field] = None
            continue
        addr = (
            parse_short_address(raw, field) if isinstance(raw, str) else parse_address(raw, field)
        )
        if addr is not None:
            any_set = True
            rule.check(addr, field)
        values[field] = dump_address(addr)
    if not any_set:
        raise InvalidArgument("at least one of destination_0..destination_4 must be set")
    zone = body.get("timezone")
    if zone:  # absent, null or "": the zone comes from the number (docs/compliance.md)
        values["timezone"] = validate_timezone(zone, "timezone")
    priority = body.get("priority")
    if priority is not None and priority != "":  # absent, null or an empty cell: 0
        values["priority"] = parse_priority(priority)
    values["id"] = new_id()
    values["outdial_id"] = outdial_id
    values["tm_create"] = now_us
    values["tm_update"] = now_us
    return values


class RowError(InvalidArgument):
    """A bad row in a bulk load: names the row as its caller counts it (the 0-based index of
    an item in a JSON array, the 1-based line of a file) and carries the field message."""

    reason = "INVALID_TARGET_ROW"

    def __init__(self, row: int, message: str, *, label: str = "row") -> None:
        super().__init__(f"{label} {row}: {message}")
        self.row = row
        self.detail = message
