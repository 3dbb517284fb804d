"""Client transactions (RFC 3261 17.1, RFC 6026).

`InviteClientTransaction` retransmits the INVITE on timer A until a response (over UDP only),
gives up on timer B or at once when its TCP/TLS connection cannot be opened, ACKs every non-2xx
final response itself (same branch, 17.1.1.3) including retransmissions, and passes every 2xx
up (retransmitted or forked), which the TU ACKs. `NonInviteClientTransaction` (BYE, CANCEL)
retransmits on timer E (UDP) and gives up on timer F.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass

from outdial.telephony.sip.message import SipMessage
from outdial.telephony.sip.transport import Addr, SipTransport, over_tcp
from outdial.telephony.sip.uri import top_branch


@dataclass(frozen=True, slots=True)
class Timers:
    t1: float = 0.5
    t2: float = 4.0

    @property
    def b(self) -> float:  # also F, H, J, M: 64*T1
        return 64 * self.t1

    @property
    def d(self) -> float:  # >= 32 s for UDP; scaled with T1 so tests stay short
        return 64 * self.t1


class InviteState(enum.Enum):
    CALLING = "calling"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"  # non-2xx received and ACKed
    ACCEPTED = "accepted"  # 2xx received
    TERMINATED = "terminated"


def ack_for_non_2xx(invite: SipMessage, response: SipMessage) -> SipMessage:
    """The ACK of 17.1.1.3: the INVITE's top Via, From, Call-ID, Route; To from the response."""
    ack = SipMessage(method="ACK", uri=invite.uri)
    ack.add("Via", invite.get_all("Via")[0])
    for route in invite.get_all("Route"):
        ack.add("Route", route)
    ack.add("Max-Forwards", "70")
    ack.add("From", invite.get("From") or "")
    ack.add("To", response.get("To") or invite.get("To") or "")
    ack.add("Call-ID", invite.call_id)
    ack.add("CSeq", f"{invite.cseq[0]} ACK")
    return ack


def cancel_for(invite: SipMessage) -> SipMessage:
    """The CANCEL of 9.1: same Request-URI, top Via (branch), Route, From, To, Call-ID, CSeq."""
    cancel = SipMessage(method="CANCEL", uri=invite.uri)
    cancel.add("Via", invite.get_all("Via")[0])
    for route in invite.get_all("Route"):
        cancel.add("Route", route)
    cancel.add("Max-Forwards", "70")
    for name in ("From", "To", "Call-ID"):
        cancel.add(name, invite.get(name) or "")
    cancel.add("CSeq", f"{invite.cseq[0]} CANCEL")
    return cancel


class InviteClientTransaction:
    """Delivers every response (and `None` on timer B) to `deliver`, in arrival order."""

    def __init__(
        self,
        transport: SipTransport,
        invite: SipMessage,
        addr: Addr,
        timers: Timers,
        deliver: Callable[[SipMessage | None], None],
    ) -> None:
        self.transport = transport
        self.invite = invite
        self.timers = timers
        self.deliver = deliver
        self.key = (top_branch(invite.get_all("Via")), "INVITE")
        self.state = InviteState.CALLING
        self.retransmissions = 0
        self.failure = ""  # why the transport failed, when it did
        self._data, self.addr = transport.hop_for(invite.to_bytes(), addr)
        self._ack: bytes | None = None
        self._interval = timers.t1
        self._timer_a: asyncio.TimerHandle | None = None
        self._timer_b: asyncio.TimerHandle | None = None
        self._linger: asyncio.TimerHandle | None = None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.transport.add_transaction(
            self.key, self._on_response, hop=self.addr, on_failure=self._on_failure
        )
        self.transport.send(self._data, self.addr)
        if not self.addr.reliable:
            self._timer_a = loop.call_later(self._interval, self._fire_a)
        self._timer_b = loop.call_later(self.timers.b, self._fire_b)

    def _on_failure(self, reason: str) -> None:
        if self.state is InviteState.CALLING:
            self.failure = reason
            self.close()
            self.deliver(None)

    def _fire_a(self) -> None:
        if self.state is not InviteState.CALLING:
            return
        self.transport.send(self._data, self.addr)
        self.retransmissions += 1
        self._interval *= 2
        self._timer_a = asyncio.get_running_loop().call_later(self._interval, self._fire_a)

    def _fire_b(self) -> None:
        if self.state is InviteState.CALLING:
            self.close()
            self.deliver(None)

    def _stop_timers(self) -> None:
        for handle in (self._timer_a, self._timer_b):
            if handle is not None:
                handle.cancel()

    def _linger_then_close(self, seconds: float) -> None:
        self._linger = asyncio.get_running_loop().call_later(seconds, self.close)

    def _on_response(self, msg: SipMessage, addr: Addr) -> None:
        code = msg.status
        if self.state in (InviteState.CALLING, InviteState.PROCEEDING):
            self._stop_timers()
            if code < 200:
                self.state = InviteState.PROCEEDING
            elif code < 300:
                self.state = InviteState.ACCEPTED
                self._linger_then_close(self.timers.b)  # timer M
            else:
                self.state = InviteState.COMPLETED
                self._ack = ack_for_non_2xx(self.invite, msg).to_bytes()
                if self.addr.transport == "TCP":  # the INVITE may have gone over TCP for its size
                    self._ack = over_tcp(self._ack)
                self.transport.send(self._ack, self.addr)
                self._linger_then_close(0 if self.addr.reliable else self.timers.d)
            self.deliver(msg)
        elif self.state is InviteState.COMPLETED and code >= 300 and self._ack is not None:
            self.transport.send(self._ack, self.addr)  # a retransmitted final response
        elif self.state is InviteState.ACCEPTED and 200 <= code < 300:
            self.deliver(msg)  # retransmitted, or another fork's: the TU ACKs it (RFC 6026)

    def close(self) -> None:
        self._stop_timers()
        if self._linger is not None:
            self._linger.cancel()
        self.state = InviteState.TERMINATED
        self.transport.remove_transaction(self.key)


class NonInviteClientTransaction:
    """Send once, retransmit on timer E (T1 doubling to T2), give up on timer F (64*T1)."""

    def __init__(
        self, transport: SipTransport, request: SipMessage, addr: Addr, timers: Timers
    ) -> None:
        self.transport = transport
        self.timers = timers
        self.key = (top_branch(request.get_all("Via")), request.method)
        self._data, self.addr = transport.hop_for(request.to_bytes(), addr)
        self.retransmissions = 0

    async def run(self) -> SipMessage | None:
        """The final response, or None when timer F fired."""
        loop = asyncio.get_running_loop()
        final: asyncio.Future[SipMessage] = loop.create_future()
        provisional = False

        def on_response(msg: SipMessage, addr: Addr) -> None:
            nonlocal provisional
            if msg.status < 200:
                provisional = True
            elif not final.done():
                final.set_result(msg)

        def on_failure(reason: str) -> None:
            if not final.done():
                final.set_exception(ConnectionError(reason))

        self.transport.add_transaction(self.key, on_response, hop=self.addr, on_failure=on_failure)
        deadline = loop.time() + self.timers.b
        interval = self.timers.t1 if not self.addr.reliable else self.timers.b
        try:
            self.transport.send(self._data, self.addr)
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                done, _ = await asyncio.wait([final], timeout=min(interval, remaining))
                if done:
                    if final.exception() is not None:
                        return None
                    return final.result()
                if self.addr.reliable:
                    continue
                self.transport.send(self._data, self.addr)
                self.retransmissions += 1
                interval = self.timers.t2 if provisional else min(2 * interval, self.timers.t2)
        finally:
            self.transport.remove_transaction(self.key)
            if not final.done():
                final.cancel()
