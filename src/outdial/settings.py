"""Typed settings, read once at start-up from options and `OUTDIAL_*` environment names."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from outdial.domain.limits import Limits
from outdial.domain.netpolicy import NetworkPolicy
from outdial.domain.users import SessionPolicy
from outdial.storage.db import DEFAULT_URL, driver_url


class TelephonyKind(str, Enum):
    SIM = "sim"
    SIP = "sip"


DEFAULT_SIP_BIND = "127.0.0.1:0"  # the documented default of OUTDIAL_SIP_BIND (docs/telephony.md)


def _env(name: str) -> str:
    return os.environ.get(name, "")


@dataclass(frozen=True, slots=True)
class SipSettings:
    trunk: str = ""
    bind: str = DEFAULT_SIP_BIND
    username: str = ""
    password: str = ""
    realm: str = ""  # digest realm(s) the credentials answer; "" = the trunk's first
    register: bool = False  # REGISTER with the trunk and keep the binding live
    outbound_proxy: str = ""  # every request goes there first
    tls_ca_file: str = ""  # CA bundle for TLS trunks; "" = the system's
    tls_no_verify: str = ""  # comma-separated hosts whose TLS certificate is not checked
    # When the trunk counts as down (docs/operations.md): read from OUTDIAL_SIP_TRUNK_DOWN_AFTER,
    # _DOWN_WINDOW and _PROBE when the settings are made ("" = the defaults 5, 30 s, 5 s).
    trunk_down_after: str = field(default_factory=lambda: _env("OUTDIAL_SIP_TRUNK_DOWN_AFTER"))
    trunk_down_window: str = field(default_factory=lambda: _env("OUTDIAL_SIP_TRUNK_DOWN_WINDOW"))
    trunk_probe: str = field(default_factory=lambda: _env("OUTDIAL_SIP_TRUNK_PROBE"))


@dataclass(frozen=True, slots=True)
class EngineSettings:
    stale_after_s: float = 10.0  # an engine silent this long is dead; its attempts are lost
    heartbeat_s: float = 2.0
    max_call_s: float = 3600.0  # the longest answered call
    sim_ring_ms: int = 200  # how long the simulated far end rings before it answers

    def __post_init__(self) -> None:
        if self.heartbeat_s <= 0 or self.stale_after_s <= self.heartbeat_s:
            raise ValueError("stale-after must be longer than the heartbeat interval")
        if self.max_call_s <= 0 or self.sim_ring_ms < 0:
            raise ValueError("max-call must be positive and sim-ring-ms not negative")


@dataclass(frozen=True, slots=True)
class RecordingSettings:
    """Call recordings (issue 12): where `recording_start` writes WAV files ("": recording is
    off and each `recording_start` gives a failed recording) and how many days they are kept
    (0: kept until deleted). Read from OUTDIAL_RECORDINGS_DIR and
    OUTDIAL_RECORDINGS_RETENTION_DAYS when the settings are made (start-up)."""

    dir: str = ""
    retention_days: float = 0.0

    def __post_init__(self) -> None:
        if not self.retention_days >= 0:
            raise ValueError("OUTDIAL_RECORDINGS_RETENTION_DAYS must not be negative")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RecordingSettings:
        env = os.environ if environ is None else environ
        days = env.get("OUTDIAL_RECORDINGS_RETENTION_DAYS", "").strip() or "0"
        try:
            retention = float(days)
        except ValueError:
            raise ValueError(
                f"OUTDIAL_RECORDINGS_RETENTION_DAYS must be a number ({days!r})"
            ) from None
        return cls(env.get("OUTDIAL_RECORDINGS_DIR", "").strip(), retention)


SESSION_ENV = {
    "ttl_s": "OUTDIAL_SESSION_TTL",
    "max_failures_per_user": "OUTDIAL_LOGIN_MAX_FAILURES",
    "max_failures_per_address": "OUTDIAL_LOGIN_MAX_FAILURES_PER_ADDRESS",
    "failure_window_s": "OUTDIAL_LOGIN_WINDOW",
}


def session_policy_from_env(environ: Mapping[str, str] | None = None) -> SessionPolicy:
    """Customer users' sessions and the login throttle (issue 14, docs/security.md), read
    when the settings are made (start-up): OUTDIAL_SESSION_TTL (seconds, default 28800),
    OUTDIAL_SESSION_COOKIE_SECURE (1: always Secure), OUTDIAL_LOGIN_MAX_FAILURES (per
    username, 5), OUTDIAL_LOGIN_MAX_FAILURES_PER_ADDRESS (50), OUTDIAL_LOGIN_WINDOW (s, 900)."""
    env = os.environ if environ is None else environ
    given: dict[str, float | int | bool] = {}
    for key, name in SESSION_ENV.items():
        text = env.get(name, "").strip()
        if not text:
            continue
        try:
            given[key] = int(text) if key.startswith("max_") else float(text)
        except ValueError:
            raise ValueError(f"{name} must be a number ({text!r})") from None
    secure = env.get("OUTDIAL_SESSION_COOKIE_SECURE", "").strip().lower()
    if secure not in ("", "0", "1", "true", "false", "yes", "no", "on", "off"):
        raise ValueError(f"OUTDIAL_SESSION_COOKIE_SECURE must be 1 or 0 ({secure!r})")
    given["cookie_secure"] = secure in ("1", "true", "yes", "on")
    return SessionPolicy(**given)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_URL
    telephony: TelephonyKind = TelephonyKind.SIM
    sip: SipSettings = SipSettings()
    engine: EngineSettings = EngineSettings()
    event_retention_days: float = 30.0  # events and delivery records older go; 0 keeps all
    metrics_bind: str = ""  # HOST:PORT of /metrics for engine and webhooks processes; "" off
    # What customers' outbound requests (webhooks, play URLs, sip destinations) may reach:
    # nothing private unless OUTDIAL_ALLOW_PRIVATE_NETWORKS opens it (domain/netpolicy.py).
    network: NetworkPolicy = field(default_factory=NetworkPolicy)
    # Per-customer limits of the API (requests/s per key, event streams, targets held).
    limits: Limits = field(default_factory=Limits)
    api_metrics: bool = True  # GET /metrics on the API port of `serve` (off: only metrics_bind)
    recordings: RecordingSettings = field(default_factory=RecordingSettings.from_env)
    sessions: SessionPolicy = field(default_factory=session_policy_from_env)

    def __post_init__(self) -> None:
        driver_url(self.database_url)  # raises a clear error for an unsupported URL
        if not self.event_retention_days >= 0:
            raise ValueError("event-retention-days must not be negative")
        if self.metrics_bind:
            parse_bind(self.metrics_bind, "metrics-bind")


def parse_bind(text: str, name: str) -> tuple[str, int]:
    """`HOST:PORT` (an IPv6 host in brackets) of a local socket to listen on."""
    host, sep, port_text = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{name} must be HOST:PORT (got {text!r})")
    return host, int(port_text)
