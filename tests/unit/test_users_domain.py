"""The pure rules of customer users (issue 14): usernames, passwords, the session policy from
the environment, and the login throttle's window."""

from __future__ import annotations

import pytest

from outdial.domain.errors import InvalidArgument
from outdial.domain.users import (
    FailureWindow,
    SessionPolicy,
    check_password,
    normalise_username,
)
from outdial.settings import session_policy_from_env


@pytest.mark.parametrize(
    "given,kept",
    [
        ("ann@example.com", "ann@example.com"),
        ("  Ann.B+ops@Example.COM ", "ann.b+ops@example.com"),
        ("ops@localhost", "ops@localhost"),
    ],
)
def test_usernames_are_email_like_and_lower_case(given: str, kept: str) -> None:
    assert normalise_username(given) == kept


@pytest.mark.parametrize(
    "bad", ["", "ann", "@example.com", "ann@", "a b@example.com", "a..b@c", "ann@-x.com", 7, None]
)
def test_bad_usernames(bad: object) -> None:
    with pytest.raises(InvalidArgument, match="username"):
        normalise_username(bad)


def test_username_length() -> None:
    local = "a" * 60
    name = f"{local}@" + ".".join(["b" * 60] * 4)  # 60 + 1 + 243 = 304 > 254
    with pytest.raises(InvalidArgument):
        normalise_username(name)


@pytest.mark.parametrize("bad", ["short", "x" * 1025, "with\x00nul!", "lone \ud800 surrogate", 5])
def test_bad_passwords(bad: object) -> None:
    with pytest.raises(InvalidArgument, match="password"):
        check_password(bad)


def test_good_password() -> None:
    assert check_password("eight ch") == "eight ch"


def test_the_window_counts_recent_failures() -> None:
    w = FailureWindow()
    for t in (0.0, 10.0, 20.0):
        assert w.wait(t, 100.0, 3) == 0.0
        w.fail(t, 100.0)
    assert w.wait(30.0, 100.0, 3) == pytest.approx(70.0)  # the oldest leaves at 100
    assert w.wait(100.0, 100.0, 3) == 0.0  # it has left: one more try
    assert not w.empty(119.0, 100.0)
    assert w.empty(120.0, 100.0)


def test_session_policy_from_the_environment() -> None:
    assert session_policy_from_env({}) == SessionPolicy()
    policy = session_policy_from_env(
        {
            "OUTDIAL_SESSION_TTL": "60",
            "OUTDIAL_SESSION_COOKIE_SECURE": "1",
            "OUTDIAL_LOGIN_MAX_FAILURES": "3",
            "OUTDIAL_LOGIN_MAX_FAILURES_PER_ADDRESS": "9",
            "OUTDIAL_LOGIN_WINDOW": "30",
        }
    )
    assert policy == SessionPolicy(60.0, True, 3, 9, 30.0)
    for env in (
        {"OUTDIAL_SESSION_TTL": "soon"},
        {"OUTDIAL_SESSION_TTL": "0"},
        {"OUTDIAL_LOGIN_MAX_FAILURES": "0"},
        {"OUTDIAL_SESSION_COOKIE_SECURE": "maybe"},
    ):
        with pytest.raises(ValueError):
            session_policy_from_env(env)
