"""Which IANA time zones a destination is in (issue 6, item 1; docs/callwindows.md).

Order of precedence: an explicit zone on the target, else the zones the `phonenumbers` data gives
for an E.164 number, else the outplan's default zone. A number may map to several zones (a
country-wide mobile or toll-free range); the calling window must then hold in all of them.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

import phonenumbers
from phonenumbers import timezone as phone_timezone

from outdial.domain.errors import InvalidArgument

# Names the system database may list that are not places: the host's own zone and placeholders.
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory", "Etc/Unknown"})


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    """Every IANA zone name a time zone field accepts."""
    return frozenset(available_timezones()) - _NOT_PLACES


def validate_timezone(name: object, field: str) -> str:
    """Return `name` if it is an IANA zone name (exact spelling), else raise InvalidArgument."""
    if not isinstance(name, str) or name not in known_zones():
        raise InvalidArgument(
            f"{field} must be an IANA time zone name such as 'America/New_York', got {name!r}"
        )
    return name


@lru_cache(maxsize=65536)
def _number_zones(number: str) -> tuple[str, ...]:
    """Zones the phonenumbers data gives for an E.164 number; () when it knows none."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return ()
    zones = phone_timezone.time_zones_for_number(parsed)
    known = known_zones()
    return tuple(sorted({zone for zone in zones if zone in known}))


def zones_for_destination(
    address_type: str, target: str, explicit: str | None, default: str
) -> tuple[str, ...]:
    """The zones whose local time decides whether this destination may be called.

    `explicit` (the target's `timezone`; None or "" when unset) wins and is validated. A `tel`
    target then gets the zones of its number, sorted; anything else, or a number the data does
    not place, gets `(default,)`. `default` is trusted: it was validated with the call window.
    """
    if explicit:
        return (validate_timezone(explicit, "timezone"),)
    if address_type == "tel":
        zones = _number_zones(target)
        if zones:
            return zones
    return (default,)
