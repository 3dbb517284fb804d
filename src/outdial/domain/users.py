"""Customer users (issue 14): the rules of a username and a password, the session policy,
and the login throttle as a pure value (a window of recent failures per username and per
client address)."""

from __future__ import annotations

import re
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from outdial.domain.errors import InvalidArgument

MAX_USERNAME = 254  # an email address's longest form (RFC 5321 path limit)
MIN_PASSWORD = 8  # NIST SP 800-63B's least for a memorised secret
MAX_PASSWORD = 1024
# local@domain: the local part in RFC 5322's dot-atom characters, the domain in DNS labels;
# ASCII letters of either case (a username is kept in lower case).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
USERNAME = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*")
USERNAME_PATTERN = rf"^{USERNAME.pattern}$"  # the OpenAPI document's (without the trim)


def normalise_username(value: object) -> str:
    """An email-like username, trimmed and in lower case (usernames are unique that way);
    400 naming `username` otherwise."""
    if not isinstance(value, str):
        raise InvalidArgument("username must be a string like name@example.com")
    name = value.strip().lower()
    if not name or len(name) > MAX_USERNAME or not USERNAME.fullmatch(name):
        raise InvalidArgument(
            f"username must be email-like (name@example.com), at most {MAX_USERNAME} characters"
        )
    return name


def check_password(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidArgument("password must be a string")
    if not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        raise InvalidArgument(f"password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if "\x00" in value or not encodable(value):
        raise InvalidArgument("password must be UTF-8 text without NUL")
    return value


def encodable(value: str) -> bool:
    """Whether the text can be UTF-8 (a JSON string may carry a lone surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long a session lasts, its cookie, and the login throttle (docs/security.md).

    - `ttl_s`: a session ends this long after login (absolute; logout ends it at once).
    - `cookie_secure`: always mark the cookie Secure (it is anyway on https requests).
    - `max_failures_per_user` / `max_failures_per_address`: failed logins allowed within
      `failure_window_s` for one username / from one client address; past that, logins for
      it are answered 429 with Retry-After until the oldest failure leaves the window.
    """

    ttl_s: float = 8 * 3600.0
    cookie_secure: bool = False
    max_failures_per_user: int = 5
    max_failures_per_address: int = 50
    failure_window_s: float = 900.0

    def __post_init__(self) -> None:
        if not self.ttl_s > 0 or not self.failure_window_s > 0:
            raise ValueError("the session lifetime and the login window must be positive")
        if self.max_failures_per_user < 1 or self.max_failures_per_address < 1:
            raise ValueError("login failure limits must be at least 1")


class FailureWindow:
    """The times of recent failed logins for one key (a username or an address)."""

    __slots__ = ("times",)

    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def _expire(self, now: float, window: float) -> None:
        while self.times and self.times[0] <= now - window:
            self.times.popleft()

    def wait(self, now: float, window: float, limit: int) -> float:
        """0.0 when another try is allowed now, else the seconds until one is."""
        self._expire(now, window)
        if len(self.times) < limit:
            return 0.0
        return max(self.times[len(self.times) - limit] + window - now, 0.001)

    def fail(self, now: float, window: float) -> None:
        self._expire(now, window)
        self.times.append(now)

    def empty(self, now: float, window: float) -> bool:
        self._expire(now, window)
        return not self.times


@dataclass(frozen=True, slots=True)
class User:
    id: uuid.UUID
    customer_id: uuid.UUID
    username: str
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None = None


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in user's session as the API sees it (never its cookie token)."""

    user_id: uuid.UUID
    customer_id: uuid.UUID
    username: str
    csrf_token: str
    tm_expire: datetime
