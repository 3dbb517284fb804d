"""Errors of the SIP stack."""

from __future__ import annotations


class SipParseError(ValueError):
    """A datagram, header or URI that is not SIP we can read."""


class SipConfigError(ValueError):
    """A SIP configuration that cannot work (bad trunk, bind address not usable, ...)."""
