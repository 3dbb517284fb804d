"""Turning one target's input (JSON body, bulk item, CSV or JSON Lines row) into row values."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from outdial.domain.address import Address, parse_address, parse_short_address
from outdial.domain.errors import InvalidArgument
from outdial.domain.ids import new_id
from outdial.domain.models import DESTINATION_SLOTS
from outdial.domain.states import TargetStatus
from outdial.services.fields import text_fields
from outdial.storage.codec import dump_address

_TEXT = {"name": "name", "detail": "text", "data": "text"}
DEST_FIELDS = tuple(f"destination_{n}" for n in range(DESTINATION_SLOTS))
KNOWN_FIELDS = frozenset({"name", "detail", "data", *DEST_FIELDS})


def destination(raw: Any, field: str) -> Address | None:
    """A destination as a JSON Address object, or the `tel:`/`sip:` shorthand string."""
    if isinstance(raw, str):
        return parse_short_address(raw, field)
    return parse_address(raw, field)


def target_values(body: Mapping[str, Any], outdial_id: uuid.UUID, now_us: int) -> dict[str, Any]:
    """Validate one target and build its row (status idle, try counts 0, tm_update = tm_create)."""
    values: dict[str, Any] = {"name": "", "detail": "", "data": ""}
    values.update(text_fields(body, _TEXT))
    any_set = False
    for field in DEST_FIELDS:
        addr = destination(body.get(field), field)
        any_set = any_set or addr is not None
        values[field] = dump_address(addr)
    if not any_set:
        raise InvalidArgument("at least one of destination_0..destination_4 must be set")
    values.update(
        id=new_id(),
        outdial_id=outdial_id,
        status=TargetStatus.IDLE.value,
        try_count_0=0,
        try_count_1=0,
        try_count_2=0,
        try_count_3=0,
        try_count_4=0,
        last_attempt_end=None,
        tm_create=now_us,
        tm_update=now_us,
        tm_delete=None,
    )
    return values


class RowError(InvalidArgument):
    """A bad row in a bulk load: names the row (1-based) and carries the field message."""

    reason = "INVALID_TARGET_ROW"

    def __init__(self, row: int, message: str, *, label: str = "row") -> None:
        super().__init__(f"{label} {row}: {message}")
        self.row = row
        self.detail = message
