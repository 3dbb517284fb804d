"""Where one SIP message goes: address, port, transport and (TLS) the name to verify."""

from __future__ import annotations

from typing import NamedTuple

TRANSPORTS = ("UDP", "TCP", "TLS")


class Hop(NamedTuple):
    host: str  # an IP address
    port: int
    transport: str = "UDP"  # UDP, TCP or TLS
    server_name: str = ""  # TLS: the host name to verify and send as SNI

    @property
    def reliable(self) -> bool:
        return self.transport != "UDP"

    @property
    def addr(self) -> tuple[str, int]:
        return self.host, self.port

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" + ("" if self.transport == "UDP" else f" ({self.transport})")
