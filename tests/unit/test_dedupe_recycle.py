"""Pure rules of issue 17: duplicate keys of destinations, the recycle filter's parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from outdial.domain.address import parse_short_address
from outdial.domain.dedupe import (
    Dedupe,
    DedupeAction,
    address_key,
    parse_dedupe,
    parse_dedupe_action,
)
from outdial.domain.errors import InvalidArgument
from outdial.domain.recycle import RecycleFilter, reason_text, recycle_filter
from outdial.services.dedupe import Deduper, stored_key
from outdial.storage.codec import dump_address


def key(short: str) -> str:
    text = dump_address(parse_short_address(short, "destination_0"))
    assert text is not None
    return stored_key(text)


def test_keys_are_the_normalised_number_or_uri() -> None:
    assert key("tel:+15550001") == key("+15550001") == key("TEL:+15550001") == "+15550001"
    assert key("sip:bob@PBX.Example:5070") == "sip:bob@pbx.example:5070"
    assert key("sip:Bob@pbx.example") != key("sip:bob@pbx.example")  # the user part counts
    assert key("sip:bob@pbx.example") != key("sip:bob@pbx.example:5070")
    assert address_key("extension", "+15550001") == "extension:+15550001" != key("+15550001")
    assert stored_key('{"target":"x"}') == '?{"target":"x"}'  # not the compact form


def test_the_deduper_remembers_first_rows_only_when_active() -> None:
    rows = [
        {"destination_0": dump_address(parse_short_address(s, "d")), "destination_1": None}
        for s in ("+15550001", "+15550002", "tel:+15550001")
    ]
    off = Deduper(Dedupe.NONE, "line")
    assert [off.duplicate(n, r) for n, r in enumerate(rows)] == [None, None, None]
    on = Deduper(Dedupe.WITHIN_FILE, "line", {"+15550002"})
    assert [on.duplicate(n, r) for n, r in enumerate(rows, start=2)] == [
        None,
        "destination_0 +15550002 is already a target of the outdial",
        "destination_0 +15550001 repeats line 2",
    ]


def test_modes_parse_with_their_defaults() -> None:
    assert parse_dedupe(None) is Dedupe.NONE and parse_dedupe("") is Dedupe.NONE
    assert parse_dedupe("within_outdial") is Dedupe.WITHIN_OUTDIAL
    assert parse_dedupe_action(None) is DedupeAction.REPORT
    assert parse_dedupe_action("skip") is DedupeAction.SKIP
    for bad in ("all", 3, ["skip"]):
        with pytest.raises(InvalidArgument):
            parse_dedupe_action(bad)


def test_the_recycle_filter() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    assert recycle_filter({}, None) == RecycleFilter()
    f = recycle_filter(
        {"results": ["fail", "fail"], "hangup_reasons": ["busy", "amd"], "tries_below": 4}, at
    )
    assert f == RecycleFilter(("fail",), ("busy", "amd"), 4, at)
    for bad in (
        {"results": "fail"},
        {"results": []},
        {"results": [""]},
        {"hangup_reasons": ["BUSY"]},
        {"tries_below": 0},
        {"tries_below": True},
        {"tries_below": 2.5},
    ):
        with pytest.raises(InvalidArgument):
            recycle_filter(bad, None)
    assert reason_text(None) == "" and reason_text("why") == "why"
    with pytest.raises(InvalidArgument):
        reason_text("a\x00b")
