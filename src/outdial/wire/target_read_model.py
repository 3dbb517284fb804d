"""The target list's read model: stored rows rendered straight to target JSON.

A 100-row page of targets used to build a domain Target per row only to flatten it again,
which cost more than the query itself (about 12 us a row against 1-3 us for the page's index
scan). `render` makes the same JSON object from the row's own values;
`tests/api/test_target_read_model.py` holds it equal to `wire.target.render(rows.target(row))`
for every shape of row, on both databases. The rows are selected as
`storage.targets.WIRE_COLUMNS` (the wire fields, ids as the driver gives them).

Stored destinations are already the wire Address object, as compact JSON text written by
`codec.dump_address`. Text of that plain shape goes into the response as an
`orjson.Fragment`, unparsed; anything else (escapes, a hand-edited row) is parsed and
rendered like the domain path, so the output never depends on which path a row took."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

import orjson

from outdial.storage.codec import PLAIN_ADDRESS, load_address
from outdial.storage.timeconv import from_us
from outdial.wire import common


@lru_cache(maxsize=4096)  # rows of one page usually share their times (a bulk load's)
def ts(micros: int | None) -> str:
    """Stored microseconds (None: not deleted) as a wire timestamp."""
    return common.ts(None if micros is None else from_us(micros))


def id_text(value: Any) -> str:
    """A raw id (SQLite's 32 hex digits or asyncpg's UUID) in the canonical 8-4-4-4-12 form."""
    if isinstance(value, str):
        if len(value) == 32:
            v = value.lower()
            return f"{v[:8]}-{v[8:12]}-{v[12:16]}-{v[16:20]}-{v[20:]}"
        return str(uuid.UUID(value))
    return str(value)


def id_value(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def destination(text: str | None) -> Any:
    if text is None:
        return None
    if PLAIN_ADDRESS.fullmatch(text) is not None:
        return orjson.Fragment(text)
    return common.address(load_address(text))


def render(row: Any) -> dict[str, Any]:
    """One row selected as `storage.targets.WIRE_COLUMNS`, as the wire JSON object (for an
    orjson encoder)."""
    (
        id_,
        outdial_id,
        name,
        detail,
        data,
        status,
        d0,
        d1,
        d2,
        d3,
        d4,
        c0,
        c1,
        c2,
        c3,
        c4,
        tm_create,
        tm_update,
        tm_delete,
        timezone,
        priority,
    ) = row
    return {
        "id": id_text(id_),
        "outdial_id": id_text(outdial_id),
        "name": name,
        "detail": detail,
        "data": data,
        "status": status,
        "destination_0": destination(d0),
        "destination_1": destination(d1),
        "destination_2": destination(d2),
        "destination_3": destination(d3),
        "destination_4": destination(d4),
        "try_count_0": c0,
        "try_count_1": c1,
        "try_count_2": c2,
        "try_count_3": c3,
        "try_count_4": c4,
        "tm_create": ts(tm_create),
        "tm_update": ts(tm_update),
        "tm_delete": ts(tm_delete),
        "timezone": timezone or "",
        "priority": priority,
    }
