"""Checks on a destination when it is written (issue 10): a `sip` destination whose host is
an address literal the network policy blocks (`bob@127.0.0.1`, `bob@[::1]`, `bob@2130706433`)
and a `tel` number outside the customer's allowed calling codes are refused with a 400 that
names the field. Host names are not resolved here (no DNS on imports): the telephony resolves
and checks them when it dials."""

from __future__ import annotations

from dataclasses import dataclass, field

from outdial.domain.address import Address, AddressType
from outdial.domain.callingcodes import not_allowed_message, number_allowed
from outdial.domain.errors import InvalidArgument
from outdial.domain.netpolicy import BlockedAddress, NetworkPolicy


def sip_host_port(target: str) -> tuple[str, int | None]:
    """The host (brackets kept for IPv6) and port of a validated `user@host[:port]`."""
    hostport = target.rpartition("@")[2]
    if hostport.startswith("["):
        end = hostport.find("]")
        port_text = hostport[end + 1 :].removeprefix(":")
        return hostport[: end + 1], int(port_text) if port_text.isdigit() else None
    host, sep, port_text = hostport.partition(":")
    return host, int(port_text) if sep and port_text.isdigit() else None


@dataclass(frozen=True, slots=True)
class DestinationRule:
    network: NetworkPolicy = field(default_factory=NetworkPolicy)
    calling_codes: tuple[str, ...] = ()

    def check(self, address: Address, field: str) -> None:
        if address.type is AddressType.TEL:
            if self.calling_codes and not number_allowed(address.target, self.calling_codes):
                raise InvalidArgument(
                    not_allowed_message(field, address.target, self.calling_codes),
                    reason="DESTINATION_NOT_ALLOWED",
                )
        elif address.type is AddressType.SIP:
            host, port = sip_host_port(address.target)
            if host[:1].isdigit() or host[:1] == "[":  # only a literal can be checked here
                try:
                    self.network.check_literal(host, port or 5060)
                except BlockedAddress as exc:
                    kind = exc.reason.replace("_", " ")
                    raise InvalidArgument(
                        f"{field}.target host {host} is a {kind} address",
                        reason="DESTINATION_BLOCKED",
                    ) from None
