"""Builds the real SIP telephony from settings (kept apart so `sim` needs none of it)."""

from __future__ import annotations

import os
from pathlib import Path

from outdial.domain.errors import InvalidArgument
from outdial.domain.netpolicy import NetworkPolicy
from outdial.settings import SipSettings
from outdial.telephony.base import MediaSource
from outdial.telephony.sip import SipConfig, SipConfigError, SipTelephony


def sip_config(settings: SipSettings, network: NetworkPolicy | None = None) -> SipConfig:
    """Validate the SIP settings (SPEC 4) into a config (`SipConfig.from_settings`, the one
    parser); a clear 400-style error if unusable."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    try:
        return SipConfig.from_settings(settings, network, cache_home=cache)
    except SipConfigError as exc:
        raise InvalidArgument(str(exc)) from None


def sip_telephony(
    settings: SipSettings, network: NetworkPolicy | None = None, media: MediaSource | None = None
) -> SipTelephony:
    """`media`: where `play` actions' `media:<id>` audio is read from (uploaded WAV files)."""
    telephony = SipTelephony(sip_config(settings, network))
    telephony.library.media = media
    return telephony
