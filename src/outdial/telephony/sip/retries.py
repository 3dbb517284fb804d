"""Sending the INVITE again within one attempt: to the next DNS server (RFC 3263 4.3), with
credentials (RFC 3261 22, only as `auth.py` allows), to a 3xx Contact (8.1.3.4), or with the
Min-SE a 422 asks (RFC 4028 7.4). Mixed into `OutboundCall`."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from outdial.domain.netpolicy import BlockedAddress
from outdial.telephony.sip.auth import CallCredentials
from outdial.telephony.sip.dialog import Dialog
from outdial.telephony.sip.env import CallEnv, DialTarget
from outdial.telephony.sip.errors import SipParseError
from outdial.telephony.sip.message import SipMessage
from outdial.telephony.sip.transaction import InviteClientTransaction
from outdial.telephony.sip.uri import NameAddr, SipUri

log = logging.getLogger("outdial.telephony.sip.call")
MAX_REDIRECTS = 3


class InviteRetries:
    env: CallEnv
    label: str
    target: DialTarget
    credentials: CallCredentials
    tx: InviteClientTransaction | None
    tried: set[str]
    session_expires: int

    dialog: Dialog | None

    if TYPE_CHECKING:  # provided by the call this is mixed into

        def _start_invite(self) -> None: ...

    def _fail_over(self, why: str) -> bool:
        """Send the INVITE to the next server of the DNS list, if there is one (RFC 3263 4.3);
        the server that failed is skipped by every call for a while (`Breaker`)."""
        if not self.target.alternatives or self.dialog is not None:
            return False
        failed = self.target.addr
        self.env.breaker.fail(failed)
        nxt, rest = self.target.alternatives[0], self.target.alternatives[1:]
        log.warning("call %s: %s from %s, trying %s", self.label, why, failed, nxt)
        if self.tx is not None:
            self.tx.close()
        self.target = replace(self.target, addr=nxt, alternatives=rest)
        self._start_invite()
        return True

    def _retry_with_credentials(self, response: SipMessage) -> str | None:
        """Send the INVITE again with credentials for every realm asked so far; or say why
        not (then nothing is sent: see `auth.py`)."""
        where = str(self.target.addr)
        problem = self.credentials.on_challenge(
            response, to_trunk=self.target.to_trunk, where=where
        )
        if problem is not None:
            return problem
        log.info("call %s: %d challenge, retrying with credentials", self.label, response.status)
        self._start_invite()
        return None

    async def _redirect(self, response: SipMessage, redirects: int) -> str | None:
        """A 3xx: send the INVITE on to its first SIP Contact not tried yet (RFC 3261
        8.1.3.4; same Call-ID, From and To, the next CSeq), at most MAX_REDIRECTS times within
        the same dial timeout; or say why not."""
        where = f"{response.status} {response.reason}"
        if redirects >= MAX_REDIRECTS:
            return f"{where}: more than {MAX_REDIRECTS} redirections"
        for contact in response.get_all("Contact"):
            try:
                uri = SipUri.parse(NameAddr.parse(contact).uri)
            except SipParseError:
                continue  # a tel: or other URI we cannot dial
            if uri.text in self.tried:
                continue
            try:
                host, port = uri.address
                hops, to_trunk = await self.env.route(host, (uri.port and port) or 0, uri.transport)
            except BlockedAddress as exc:
                log.warning("call %s: %s to %s blocked: %s", self.label, where, uri.text, exc)
                return "destination_blocked"
            except OSError as exc:
                return f"{where}: cannot reach the redirection {uri.text!r}: {exc}"
            self.tried.add(uri.text)
            log.info("call %s: %s, INVITE again to %s", self.label, where, uri.text)
            self.target = replace(
                self.target, request_uri=uri.text, addr=hops[0], to_trunk=to_trunk,
                alternatives=tuple(hops[1:]), secure=uri.scheme == "sips",
            )  # fmt: skip
            env = self.env
            self.credentials = CallCredentials(env.username, env.password, env.realms)
            self._start_invite()
            return None
        return f"{where}: no SIP Contact to try"

    def _retry_min_se(self, response: SipMessage) -> bool:
        """422 Session Interval Too Small: once more with the Min-SE it asks (RFC 4028 7.4)."""
        wanted = (response.get("Min-SE") or "").split(";")[0].strip()
        if not wanted.isdigit() or int(wanted) <= self.session_expires:
            return False
        self.session_expires = int(wanted)
        log.info("call %s: 422, asking Session-Expires %s", self.label, wanted)
        self._start_invite()
        return True
