"""Builds the real SIP telephony from settings (kept apart so `sim` needs none of it)."""

from __future__ import annotations

import os
from pathlib import Path

from outdial.domain.errors import InvalidArgument
from outdial.domain.netpolicy import NetworkPolicy
from outdial.settings import SipSettings
from outdial.telephony.base import MediaSource
from outdial.telephony.sip import SipConfig, SipTelephony, parse_hostport
from outdial.telephony.sip.uri import DEFAULT_PORT


def sip_config(settings: SipSettings, network: NetworkPolicy | None = None) -> SipConfig:
    """Validate the SIP settings (SPEC 4) into a config; a clear 400-style error if unusable."""
    try:
        trunk = parse_hostport(settings.trunk, DEFAULT_PORT) if settings.trunk.strip() else None
    except ValueError as exc:
        raise InvalidArgument(f"OUTDIAL_SIP_TRUNK / --sip-trunk: {exc}") from None
    try:
        bind = parse_hostport(settings.bind or "127.0.0.1:0", 0)
    except ValueError as exc:
        raise InvalidArgument(f"OUTDIAL_SIP_BIND / --sip-bind: {exc}") from None
    if bool(settings.username) != bool(settings.password):
        raise InvalidArgument("OUTDIAL_SIP_USERNAME and OUTDIAL_SIP_PASSWORD go together")
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return SipConfig(
        trunk=trunk,
        bind=bind,
        username=settings.username,
        password=settings.password,
        cache_dir=Path(cache, "outdial", "tts"),
        network=network or NetworkPolicy(),
    )


def sip_telephony(
    settings: SipSettings, network: NetworkPolicy | None = None, media: MediaSource | None = None
) -> SipTelephony:
    """`media`: where `play` actions' `media:<id>` audio is read from (uploaded WAV files)."""
    telephony = SipTelephony(sip_config(settings, network))
    telephony.library.media = media
    return telephony
