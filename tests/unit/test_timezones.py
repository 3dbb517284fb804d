"""Which zones a destination is in: explicit zone, number data, default (issue 6, item 1)."""

from __future__ import annotations

from zoneinfo import available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outdial.domain.errors import InvalidArgument
from outdial.domain.timezones import validate_timezone, zones_for_destination

KNOWN = available_timezones()


def test_us_number_gets_its_american_zone() -> None:
    assert zones_for_destination("tel", "+12125551234", None, "UTC") == ("America/New_York",)
    assert zones_for_destination("tel", "+14155550100", None, "UTC") == ("America/Los_Angeles",)


def test_us_toll_free_number_gets_every_nanp_zone() -> None:
    zones = zones_for_destination("tel", "+18005551234", None, "UTC")
    assert len(zones) > 10
    assert {"America/New_York", "America/Los_Angeles", "Pacific/Honolulu"} <= set(zones)
    assert list(zones) == sorted(set(zones))


def test_country_with_several_zones_gets_all_of_them() -> None:
    russia = zones_for_destination("tel", "+79161234567", None, "UTC")
    assert {"Europe/Moscow", "Asia/Vladivostok", "Asia/Kamchatka"} <= set(russia)
    australia = zones_for_destination("tel", "+61412345678", None, "UTC")
    assert {"Australia/Perth", "Australia/Sydney", "Australia/Lord_Howe"} <= set(australia)


def test_explicit_zone_wins_over_the_number() -> None:
    zones = zones_for_destination("tel", "+12125551234", "Asia/Kathmandu", "UTC")
    assert zones == ("Asia/Kathmandu",)


def test_empty_explicit_zone_means_none() -> None:
    assert zones_for_destination("tel", "+12125551234", "", "UTC") == ("America/New_York",)


def test_invalid_explicit_zone_names_the_field() -> None:
    with pytest.raises(InvalidArgument, match=r"^timezone must be an IANA"):
        zones_for_destination("tel", "+12125551234", "Mars/Olympus", "UTC")


@pytest.mark.parametrize(
    ("address_type", "target"),
    [
        ("sip", "alice@example.com"),
        ("extension", "1001"),
        ("tel", "+1555"),  # too short: the data answers Etc/Unknown
        ("tel", "+3312345678"),  # not a valid French number
        ("tel", "not a number"),
        ("tel", ""),
    ],
)
def test_unplaced_destinations_get_the_default(address_type: str, target: str) -> None:
    assert zones_for_destination(address_type, target, None, "Europe/Paris") == ("Europe/Paris",)


@pytest.mark.parametrize(
    "name", ["UTC", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]
)
def test_validate_timezone_accepts_iana_names(name: str) -> None:
    assert validate_timezone(name, "call_window.timezone") == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "America",
        "america/new_york",
        "../etc/passwd",
        "/usr/share/zoneinfo/UTC",
        "Etc/Unknown",
        "localtime",
        "posixrules",
        "Factory",
        "+05:00",
        None,
        5,
        ["UTC"],
    ],
)
def test_validate_timezone_rejects_others_naming_the_field(name: object) -> None:
    with pytest.raises(InvalidArgument, match=r"^call_window\.timezone must be an IANA"):
        validate_timezone(name, "call_window.timezone")


@settings(max_examples=200, deadline=None)
@given(
    country=st.sampled_from(
        ["1", "7", "33", "44", "49", "52", "55", "61", "62", "81", "91", "977"]
    ),
    digits=st.text(alphabet="0123456789", min_size=4, max_size=12),
)
def test_any_number_gets_known_zones(country: str, digits: str) -> None:
    zones = zones_for_destination("tel", f"+{country}{digits}", None, "UTC")
    assert zones
    assert all(zone in KNOWN and zone != "Etc/Unknown" for zone in zones)
    assert list(zones) == sorted(set(zones))
