"""State changes guarded by the domain's transition tables (`domain/states.py`, issue 15).

Every status UPDATE takes its `WHERE status ...` from here, so the SQL can only make the moves
the table allows: `moves_to(T.c.status, TARGET_TRANSITIONS, TargetStatus.PROGRESSING)` is
`status = 'idle'`, the one state a target may start an attempt from. `from_` narrows the sources
to those a use case moves (the claim makes only idle targets done, never ones in flight); a
move the table does not allow raises when the statement is built, so it cannot ship unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any, TypeVar

import sqlalchemy as sa

from outdial.domain.states import sources_for

S = TypeVar("S", bound=Enum)


def sources(table: dict[S, frozenset[S]], *to: S, from_: Iterable[S] | None = None) -> list[S]:
    """The states that may move to every state of `to` (and are in `from_`, when given), in
    the table's order. Raises ValueError when there is none."""
    allowed = [s for s in table if all(s in sources_for(table, t) for t in to)]
    if from_ is not None:
        wanted = set(from_)
        bad = wanted - set(allowed)
        if bad:
            names = ", ".join(sorted(str(s.value) for s in bad))
            raise ValueError(f"no transition from {names} to {[str(t.value) for t in to]}")
        allowed = [s for s in allowed if s in wanted]
    if not allowed:
        raise ValueError(f"no state may move to {[str(t.value) for t in to]}")
    return allowed


def moves_to(
    column: sa.ColumnElement[Any],
    table: dict[S, frozenset[S]],
    *to: S,
    from_: Iterable[S] | None = None,
) -> sa.ColumnElement[bool]:
    """The guard of a status UPDATE into `to` (one state, or any of several when the new state
    is decided in the statement): `column = 'x'` for one source, `column IN (...)` for more."""
    found = [s.value for s in sources(table, *to, from_=from_)]
    return column == found[0] if len(found) == 1 else column.in_(found)
