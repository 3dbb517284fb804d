"""Finding duplicate targets in a bulk load or an import (issue 17; docs/recycling.md).

A `Deduper` sees the rows of one load in order, as `target_values` built them, and says of each
whether it repeats an earlier row of the load (`within_file`) or a live target already in the
outdial (`within_outdial`, whose keys the caller reads once, in one statement, before the
load). It keeps one small entry per distinct destination: a million rows cost one dict
lookup per destination and 100-150 MB (docs/benchmarks.md), never a query per row."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from outdial.domain.dedupe import Dedupe, address_key
from outdial.domain.models import DESTINATION_SLOTS

DEST_FIELDS = tuple(f"destination_{n}" for n in range(DESTINATION_SLOTS))
_HEAD = '{"type":"'
_TARGET = '","target":"'
_CUT = '","target_name":'
_TEL = '{"type":"tel","target":"'  # the common case: its target is the key as it is
_TEL_AT = len(_TEL)


def stored_key(text: str) -> str:
    """The duplicate key of a destination as stored (`storage.codec.dump_address`'s compact
    JSON: type, then target, then the other fields), read without a JSON decoder: this runs
    for every destination of a million-row import. Both strings are JSON-escaped, which
    changes no E.164 number or SIP URI and keeps keys of other types distinct."""
    if text.startswith(_TEL):
        return text[_TEL_AT : text.find('"', _TEL_AT)]  # E.164 holds no quote
    if text.startswith(_HEAD):
        mid = text.find(_TARGET, len(_HEAD))
        end = text.find(_CUT, mid)
        if mid > 0 and end > 0:
            return address_key(text[len(_HEAD) : mid], text[mid + len(_TARGET) : end])
    return f"?{text}"  # not the compact form (never written today): compare it whole


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
        keys = []
        first = self.first
        for field in DEST_FIELDS:  # written out: this runs for every row of an import
            text = values.get(field)
            if text is None:
                continue
            key = stored_key(text)
            if key in self.existing:
                return f"{field} {key} is already a target of the outdial"
            seen = first.get(key)
            if seen is not None:
                return f"{field} {key} repeats {self.label} {seen}"
            keys.append(key)
        for key in keys:
            first.setdefault(key, row)  # one row may name a callee in two slots
        return None
