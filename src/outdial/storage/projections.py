"""Stored rows rendered straight to the wire format: the read model of the hottest list.

A 100-row page of targets used to build a domain Target per row only to flatten it again,
which cost more than the query itself (about 12 us a row against 1-3 us for the page's index
scan). `target` renders the same JSON object from the row's own values; the unit tests hold
it equal to `wire_format.target(rows.target(row))` for every shape of row.

Stored destinations are already the wire Address object, as compact JSON text written by
`codec.dump_address`. Text of that plain shape goes into the response as an
`orjson.Fragment`, unparsed; anything else (escapes, a hand-edited row) is parsed and
rendered like the domain path, so the output never depends on which path a row took."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

import orjson
import sqlalchemy as sa

from outdial import wire_format
from outdial.storage.codec import PLAIN_ADDRESS, load_address
from outdial.storage.tables import outdial_targets
from outdial.storage.timeconv import from_us

_t = outdial_targets


def _raw_id(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    """An id column as the driver gives it: SQLite's 32 hex digits or asyncpg's UUID, not
    converted to a uuid.UUID (2-3 us a value, twice a row) only to be printed again."""
    return sa.type_coerce(column, sa.String).label(column.name)


# The wire fields of a target, in the seed's order, plus nothing else.
TARGET_COLUMNS: tuple[sa.ColumnElement[Any], ...] = (
    _raw_id(_t.c.id),
    _raw_id(_t.c.outdial_id),
    _t.c.name,
    _t.c.detail,
    _t.c.data,
    _t.c.status,
    *(_t.c[f"destination_{n}"] for n in range(5)),
    *(_t.c[f"try_count_{n}"] for n in range(5)),
    _t.c.tm_create,
    _t.c.tm_update,
    _t.c.tm_delete,
    _t.c.timezone,
)


@lru_cache(maxsize=4096)  # rows of one page usually share their times (a bulk load's)
def ts(micros: int | None) -> str:
    """Stored microseconds (None: not deleted) as a wire timestamp."""
    return wire_format.ts(None if micros is None else from_us(micros))


def id_text(value: Any) -> str:
    """A raw id (see `_raw_id`) in the canonical 8-4-4-4-12 form."""
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
    return wire_format.address(load_address(text))


def target(row: Any) -> dict[str, Any]:
    """One row selected as TARGET_COLUMNS, as the wire JSON object (for an orjson encoder)."""
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
    }
