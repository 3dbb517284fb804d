"""Builds the real SIP telephony from settings (kept apart so `sim` needs none of it)."""

from __future__ import annotations

import os
from pathlib import Path

from outdial.domain.errors import InvalidArgument
from outdial.domain.netpolicy import NetworkPolicy
from outdial.settings import SipSettings
from outdial.telephony.base import MediaSource
from outdial.telephony.sip import SipConfig, SipConfigError, SipTelephony, parse_hostport
from outdial.telephony.sip.config import sip_values


def sip_config(settings: SipSettings, network: NetworkPolicy | None = None) -> SipConfig:
    """Validate the SIP settings (SPEC 4) into a config; a clear 400-style error if unusable."""
    try:
        values = sip_values(
            trunk=settings.trunk, outbound_proxy=settings.outbound_proxy,
            register=settings.register, tls_ca_file=settings.tls_ca_file,
            tls_no_verify=settings.tls_no_verify, realm=settings.realm,
        )  # fmt: skip
    except SipConfigError as exc:
        raise InvalidArgument(str(exc)) from None
    try:
        bind = parse_hostport(settings.bind or "127.0.0.1:0", 0)
    except ValueError as exc:
        raise InvalidArgument(f"OUTDIAL_SIP_BIND / --sip-bind: {exc}") from None
    if bool(settings.username) != bool(settings.password):
        raise InvalidArgument("OUTDIAL_SIP_USERNAME and OUTDIAL_SIP_PASSWORD go together")
    if settings.register and not settings.username:
        raise InvalidArgument("OUTDIAL_SIP_REGISTER needs OUTDIAL_SIP_USERNAME (the account)")
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return SipConfig(
        bind=bind,
        username=settings.username,
        password=settings.password,
        cache_dir=Path(cache, "outdial", "tts"),
        network=network or NetworkPolicy(),
        **values,  # type: ignore[arg-type]
    )


def sip_telephony(
    settings: SipSettings, network: NetworkPolicy | None = None, media: MediaSource | None = None
) -> SipTelephony:
    """`media`: where `play` actions' `media:<id>` audio is read from (uploaded WAV files)."""
    telephony = SipTelephony(sip_config(settings, network))
    telephony.library.media = media
    return telephony
