"""Opt-out by keypress (issue 12 item 4; the US Telemarketing Sales Rule asks it of
prerecorded calls): a campaign setting `{key, dnclist_id, confirmation}`. Pressing `key` at
any moment of the call adds the callee's number to the do-not-call list `dnclist_id`, plays
`confirmation` and hangs up."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from outdial.domain.errors import InvalidArgument
from outdial.domain.ids import NIL_UUID
from outdial.domain.text import check_text

KEYS = frozenset("0123456789*#")
MAX_CONFIRMATION = 4096


@dataclass(frozen=True, slots=True)
class OptOut:
    key: str
    dnclist_id: uuid.UUID
    confirmation: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "key": self.key,
            "dnclist_id": str(self.dnclist_id),
            "confirmation": self.confirmation,
        }


def parse_opt_out(raw: Any, field: str = "opt_out") -> OptOut | None:
    """The body's `opt_out`: null, {} or a key of "" turns it off; otherwise the key is one of
    0-9 * # and the do-not-call list is named (its owner is checked by the service)."""
    if raw is None or raw == {}:
        return None
    if not isinstance(raw, dict):
        raise InvalidArgument(f"{field} must be an object {{key, dnclist_id, confirmation}}")
    key = raw.get("key", "")
    if key is None or key == "":
        return None
    if not isinstance(key, str) or len(key) != 1 or key not in KEYS:
        raise InvalidArgument(f"{field}.key must be one key of 0-9, * or #")
    list_id = raw.get("dnclist_id")
    if not isinstance(list_id, str):
        raise InvalidArgument(f"{field}.dnclist_id must name the do-not-call list to add to")
    try:
        dnclist_id = uuid.UUID(list_id)
    except ValueError:
        raise InvalidArgument(
            f"{field}.dnclist_id is not a valid UUID", reason="INVALID_ID"
        ) from None
    if dnclist_id == NIL_UUID:
        raise InvalidArgument(f"{field}.dnclist_id must name the do-not-call list to add to")
    confirmation = raw.get("confirmation", "")
    if confirmation is None:
        confirmation = ""
    if not isinstance(confirmation, str) or len(confirmation) > MAX_CONFIRMATION:
        raise InvalidArgument(
            f"{field}.confirmation must be a text of at most {MAX_CONFIRMATION} characters"
        )
    return OptOut(key, dnclist_id, check_text(confirmation, f"{field}.confirmation"))


def dump_opt_out(value: OptOut | None) -> str | None:
    return None if value is None else json.dumps(value.to_json())


def load_opt_out(text: str | None) -> OptOut | None:
    if not text:
        return None
    data = json.loads(text)
    if not isinstance(data, dict) or not data.get("key"):
        return None
    return OptOut(data["key"], uuid.UUID(data["dnclist_id"]), data.get("confirmation", ""))
