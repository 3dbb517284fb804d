"""Builds the real SIP telephony from settings (kept apart so `sim` needs none of it)."""

from __future__ import annotations

from outdial.settings import SipSettings
from outdial.telephony.base import Telephony


def sip_telephony(settings: SipSettings) -> Telephony:
    raise ValueError("the sip telephony is not available in this build yet; use --telephony sim")
