"""Finding duplicate targets in a bulk load or an import (issue 17; docs/recycling.md).

A `Deduper` sees the rows of one load in order, as `target_values` built them, and says of each
whether it repeats an earlier row of the load (`within_file`) or a live target already in the
outdial (`within_outdial`, whose keys the caller reads once, in one statement, before the
load). It keeps one small entry per distinct destination: a million rows cost one dict
lookup per destination and a few tens of MB, never a query per row."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from outdial.domain.dedupe import Dedupe, address_key
from outdial.domain.models import DESTINATION_SLOTS

DEST_FIELDS = tuple(f"destination_{n}" for n in range(DESTINATION_SLOTS))
_HEAD = '{"type":"'
_TARGET = '","target":"'
_CUT = '","target_name":'


def stored_key(text: str) -> str:
    """The duplicate key of a destination as stored (`storage.codec.dump_address`'s compact
    JSON: type, then target, then the other fields), read without a JSON decoder: this runs
    for every destination of a million-row import. Both strings are JSON-escaped, which
    changes no E.164 number or SIP URI and keeps keys of other types distinct."""
    if text.startswith(_HEAD):
        mid = text.find(_TARGET, len(_HEAD))
        end = text.find(_CUT, mid)
        if mid > 0 and end > 0:
            return address_key(text[len(_HEAD) : mid], text[mid + len(_TARGET) : end])
    return f"?{text}"  # not the compact form (never written today): compare it whole


def row_keys(values: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, key) of each destination set in a target row."""
    return [(f, stored_key(values[f])) for f in DEST_FIELDS if values.get(f) is not None]


def keys_of_stored(destinations: Iterable[str | None]) -> Iterable[str]:
    return (stored_key(d) for d in destinations if d is not None)


class Deduper:
    """Tells duplicates apart as rows come; `label` names rows in messages (`line`, `item`)."""

    def __init__(self, mode: Dedupe, label: str, existing: Collection[str] = frozenset()) -> None:
        self.active = mode is not Dedupe.NONE
        self.label = label
        self.existing = existing
        self.first: dict[str, int] = {}  # key -> the row that brought it first

    def duplicate(self, row: int, values: dict[str, Any]) -> str | None:
        """None when the row is new (its keys are then remembered), else why it is a
        duplicate, naming the field: `destination_1 +15550001 repeats line 3`."""
        if not self.active:
            return None
        keys = row_keys(values)
        for field, key in keys:
            if key in self.existing:
                return f"{field} {key} is already a target of the outdial"
            seen = self.first.get(key)
            if seen is not None:
                return f"{field} {key} repeats {self.label} {seen}"
        for _, key in keys:
            self.first.setdefault(key, row)  # one row may name a callee in two slots
        return None
