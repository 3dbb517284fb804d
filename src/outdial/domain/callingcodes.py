"""The toll-fraud guard (issue 10): a customer may be limited to country calling codes.

`allowed_calling_codes` is a list of digit prefixes (`["1", "44"]`); a `tel` destination must
start with one of them after its `+`. The empty list, the default, allows every number.
Destinations of other types are not telephone numbers and are not concerned."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from outdial.domain.address import Address, AddressType
from outdial.domain.errors import InvalidArgument

MAX_CODES = 300
MAX_CODE_DIGITS = 6  # a country code (1 to 3 digits) or a longer prefix inside one


def parse_calling_codes(raw: Any, field: str = "allowed_calling_codes") -> tuple[str, ...]:
    """A list of digit strings (a leading `+` is accepted and dropped), sorted, no repeats."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidArgument(f'{field} must be a list of calling codes such as ["1", "44"]')
    if len(raw) > MAX_CODES:
        raise InvalidArgument(f"{field} has more than {MAX_CODES} codes")
    codes: set[str] = set()
    for n, item in enumerate(raw):
        code = item.removeprefix("+") if isinstance(item, str) else None
        if not code or len(code) > MAX_CODE_DIGITS or not code.isascii() or not code.isdigit():
            raise InvalidArgument(
                f'{field}[{n}] must be 1 to {MAX_CODE_DIGITS} digits (a calling code like "44")'
            )
        codes.add(code)
    return tuple(sorted(codes))


def number_allowed(number: str, codes: Sequence[str]) -> bool:
    """Whether an E.164 number (`+4420...`) starts with one of `codes` (none: all allowed)."""
    if not codes:
        return True
    digits = number.removeprefix("+")
    return any(digits.startswith(code) for code in codes)


def destination_allowed(address: Address, codes: Sequence[str]) -> bool:
    return address.type is not AddressType.TEL or number_allowed(address.target, codes)


def not_allowed_message(field: str, number: str, codes: Sequence[str]) -> str:
    return (
        f"{field}.target {number} is outside the customer's allowed calling codes "
        f"({', '.join(codes)})"
    )
