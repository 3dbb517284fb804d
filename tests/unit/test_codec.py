"""Stored composite values: addresses read back exactly as they were written."""

from __future__ import annotations

import json

import pytest

from outdial.domain.address import Address, AddressType
from outdial.storage.codec import _compact, dump_address, load_address


@pytest.mark.parametrize(
    "address",
    [
        Address(AddressType.TEL, "+15550001"),
        Address(AddressType.SIP, "bob@pbx.example:5070", "Bob", "desk", "2nd floor"),
        Address(AddressType.EXTENSION, "2001", 'say "hi"', "back\\slash", "é ☎ \u2028"),
        Address(AddressType.LINE, "line-1", "\x01", "", ""),
    ],
)
def test_addresses_round_trip_as_compact_ascii_json(address: Address) -> None:
    text = dump_address(address)
    assert text == _compact(address.to_json())
    assert text is not None and text.isascii()
    assert json.loads(text) == address.to_json()
    assert load_address(text) == address


def test_none_is_null() -> None:
    assert dump_address(None) is None
    assert load_address(None) is None
