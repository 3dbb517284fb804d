"""The one keyset pagination (storage/pagination.py) for tables and for unions alike."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from outdial.storage.pagination import after, newest_first, page_of

AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
ID = uuid.UUID(int=7)


@dataclass(frozen=True)
class Item:
    id: uuid.UUID
    tm_create: datetime


def test_page_of_takes_the_last_items_key() -> None:
    items = [Item(uuid.UUID(int=9), AT), Item(ID, AT)]
    page = page_of(items)
    assert (page.items, page.cursor) == (items, (AT, ID))
    assert page_of([]).cursor is None


def test_a_cursor_with_an_id_continues_after_that_row_and_a_bare_time_before_it() -> None:
    t = sa.table("t", sa.column("tm_create"), sa.column("id"))
    assert after(t.c.tm_create, t.c.id, None) is None
    with_id = str(after(t.c.tm_create, t.c.id, (AT, ID)))
    assert with_id.replace(" ", "") == "(t.tm_create,t.id)<(:param_1,:param_2)"
    assert str(after(t.c.tm_create, t.c.id, (AT, None))) == "t.tm_create < :tm_create_1"


def test_newest_first_pages_a_union() -> None:
    a = sa.table("a", sa.column("tm_create"), sa.column("id"))
    b = sa.table("b", sa.column("tm_create"), sa.column("id"))
    union = sa.union_all(sa.select(a.c.tm_create, a.c.id), sa.select(b.c.tm_create, b.c.id))
    u = union.subquery()
    stmt = newest_first(sa.select(u.c.id), u.c.tm_create, u.c.id, (AT, ID), 10)
    sql = " ".join(str(stmt).split())
    assert "ORDER BY anon_1.tm_create DESC, anon_1.id DESC" in sql
    assert "LIMIT :param_3" in sql
    assert "(anon_1.tm_create, anon_1.id) < (:param_1, :param_2)" in sql
