"""The UAC side of a dialog (RFC 3261 12): built from the 2xx, builds ACK and BYE.

The route set is the 2xx's Record-Route in reverse order (12.1.2), the remote target its
Contact. Requests go to the first route when there is one (loose routing when it has `lr`,
strict routing otherwise, 12.2.1.1), else straight to the remote target.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from outdial.telephony.sip.message import SipMessage
from outdial.telephony.sip.uri import NameAddr, SipUri


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


@dataclass(slots=True)
class Dialog:
    call_id: str
    local: str  # our From header value, with our tag
    remote: str  # the To header value of the 2xx, with the far end's tag
    remote_target: str  # the URI of the 2xx's Contact
    route_set: list[str] = field(default_factory=list)  # name-addr values, first hop first
    local_cseq: int = 1
    invite_cseq: int = 1
    credentials: list[tuple[str, str]] = field(default_factory=list)  # the INVITE's, for ACK

    @classmethod
    def from_2xx(cls, invite: SipMessage, response: SipMessage) -> Dialog:
        contacts = response.get_all("Contact")
        target = NameAddr.parse(contacts[0]).uri if contacts else invite.uri
        routes = list(reversed(response.get_all("Record-Route")))
        cseq = invite.cseq[0]
        return cls(
            call_id=invite.call_id,
            local=invite.get("From") or "",
            remote=response.get("To") or "",
            remote_target=target,
            route_set=routes,
            local_cseq=cseq,
            invite_cseq=cseq,
            credentials=[
                (name, value)
                for name, value in invite.headers
                if name in ("Authorization", "Proxy-Authorization")
            ],
        )

    def next_hop(self) -> tuple[str, list[str], SipUri]:
        """(Request-URI, Route header values, URI of the next hop to send to)."""
        target = SipUri.parse(self.remote_target)
        if not self.route_set:
            return self.remote_target, [], target
        first = SipUri.parse(NameAddr.parse(self.route_set[0]).uri)
        if first.loose_routing:
            return self.remote_target, list(self.route_set), first
        # strict routing: the first route becomes the Request-URI, the target the last route
        return first.text, [*self.route_set[1:], f"<{self.remote_target}>"], first

    def request(
        self, method: str, via: str, *, cseq: int | None = None, transport: str = "UDP"
    ) -> SipMessage:
        """An in-dialog request; `via` is our sent-by host:port. CSeq +1 unless given (ACK)."""
        if cseq is None:
            self.local_cseq += 1
            cseq = self.local_cseq
        uri, routes, _ = self.next_hop()
        msg = SipMessage(method=method, uri=uri)
        msg.add("Via", f"SIP/2.0/{transport} {via};branch={new_branch()};rport")
        for route in routes:
            msg.add("Route", route)
        msg.add("Max-Forwards", "70")
        msg.add("From", self.local)
        msg.add("To", self.remote)
        msg.add("Call-ID", self.call_id)
        msg.add("CSeq", f"{cseq} {method}")
        return msg

    def ack(self, via: str, transport: str = "UDP") -> SipMessage:
        """The ACK of the 2xx; it carries the INVITE's credentials (RFC 3261 22.1)."""
        ack = self.request("ACK", via, cseq=self.invite_cseq, transport=transport)
        for name, value in self.credentials:
            ack.add(name, value)
        return ack
