"""Typed settings, read once at start-up from options and `OUTDIAL_*` environment names."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from outdial.storage.db import DEFAULT_URL, driver_url


class TelephonyKind(str, Enum):
    SIM = "sim"
    SIP = "sip"


@dataclass(frozen=True, slots=True)
class SipSettings:
    trunk: str = ""
    bind: str = "127.0.0.1:0"
    username: str = ""
    password: str = ""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_URL
    telephony: TelephonyKind = TelephonyKind.SIM
    sip: SipSettings = SipSettings()

    def __post_init__(self) -> None:
        driver_url(self.database_url)  # raises a clear error for an unsupported URL
