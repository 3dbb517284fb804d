"""The SQL of the list filters (domain/list_filters.py): extra WHERE terms for the pages that
storage/pagination.py already makes, so paging stays the stable newest-first cursor.

Index use: targets are read through `ix_outdial_targets_list` (outdial_id, tm_create, id,
live rows only) newest first, the filters applied to each row until a page is full; calls
through `ix_campaigncalls_list` / `ix_campaigncalls_campaign`, where `since`/`until` bound the
range of tm_create itself, and `target_id` through `ix_campaigncalls_target`."""

from __future__ import annotations

from json.encoder import encode_basestring_ascii

import sqlalchemy as sa

from outdial.domain.list_filters import CallFilter, TargetFilter
from outdial.storage.tables import TARGET_DESTINATIONS, campaigncalls, outdial_targets
from outdial.storage.timeconv import to_us

ESCAPE = "\\"


def _like_escape(text: str) -> str:
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def target_where(f: TargetFilter) -> list[sa.ColumnElement[bool]]:
    t = outdial_targets
    where: list[sa.ColumnElement[bool]] = []
    if f.status:
        where.append(t.c.status.in_(f.status))
    if f.q:
        needle = f.q.lower()
        by_name = sa.func.lower(t.c.name).like(f"%{_like_escape(needle)}%", escape=ESCAPE)
        # A destination is stored as compact JSON written by codec.dump_address, always
        # `{"type":..,"target":"<target>","target_name":..}` with quotes inside values escaped,
        # so the needle (escaped the same way) between `"target":"` and `","target_name":"`
        # lies inside the target and nowhere else.
        inner = _like_escape(encode_basestring_ascii(needle)[1:-1])
        pattern = f'%"target":"%{inner}%","target_name":"%'
        by_target = [sa.func.lower(d).like(pattern, escape=ESCAPE) for d in TARGET_DESTINATIONS]
        where.append(sa.or_(by_name, *by_target))
    return where


def call_where(f: CallFilter) -> list[sa.ColumnElement[bool]]:
    c = campaigncalls
    where: list[sa.ColumnElement[bool]] = []
    if f.status:
        where.append(c.c.status.in_(f.status))
    if f.result:
        where.append(c.c.result.in_(f.result))
    if f.hangup_reason:
        where.append(c.c.hangup_reason.in_(f.hangup_reason))
    if f.since is not None:
        where.append(c.c.tm_create >= to_us(f.since))
    if f.until is not None:
        where.append(c.c.tm_create < to_us(f.until))
    if f.target_id is not None:
        where.append(c.c.outdial_target_id == f.target_id)
    return where
