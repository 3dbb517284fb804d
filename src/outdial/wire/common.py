"""Wire values shared by every resource: timestamps, the delete sentinel, addresses, numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from outdial.domain.address import Address

SENTINEL = "9999-01-01 00:00:00.000000"
_WIRE = "%Y-%m-%d %H:%M:%S.%f"


def ts(value: datetime | None) -> str:
    """UTC `YYYY-MM-DD HH:MM:SS.ffffff`; None (not deleted) is the sentinel."""
    if value is None:
        return SENTINEL
    return _format(value)


@lru_cache(maxsize=4096)  # rows of one page often share times (a bulk load's tm_create)
def _format(value: datetime) -> str:
    return value.astimezone(UTC).strftime(_WIRE)


def opt_ts(value: datetime | None) -> str | None:
    """A time that may be unset (an expiry): null on the wire, not the sentinel."""
    return None if value is None else ts(value)


def address(value: Address | None) -> dict[str, str] | None:
    return None if value is None else value.to_json()


def empty_address() -> dict[str, str]:
    """An unset address where the wire has an object (sources, a call's destination)."""
    return {"type": "", "target": "", "target_name": "", "name": "", "detail": ""}


def number(value: float) -> float | int:
    """A float field printed as an integer when it is one (`calls_per_second: 1`)."""
    return int(value) if value.is_integer() else value
