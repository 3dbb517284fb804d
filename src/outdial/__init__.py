"""outdial: an outbound calling campaign service, wire-compatible with the VoIPBIN campaign API."""

__version__ = "0.1.0"
