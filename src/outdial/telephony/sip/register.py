"""REGISTER with the trunk (RFC 3261 10), for trunks that only take calls from registered
accounts (`OUTDIAL_SIP_REGISTER=1`).

The address of record is `sip:USERNAME@TRUNK-DOMAIN`, the Contact our SIP address. Digest
challenges are answered as for calls (the trunk's realm only). The binding is refreshed before
it expires (at 85 % of the granted time, at most 30 s before); a failure is retried with
back-off (1 s doubling to 5 min), and 423 Interval Too Brief is retried with the Min-Expires
asked. While registration is required and not live, calls wait for it up to their dial timeout
and then fail with a clear detail. The state is in `/health` and in the `outdial_sip_registered`
gauge of `/metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import TYPE_CHECKING, Any

from outdial.metrics import SIP_REGISTER_FAILURES, SIP_REGISTERED
from outdial.telephony.sip.auth import CallCredentials
from outdial.telephony.sip.config import Endpoint
from outdial.telephony.sip.dialog import new_branch, new_tag
from outdial.telephony.sip.message import SipMessage
from outdial.telephony.sip.transaction import NonInviteClientTransaction
from outdial.telephony.sip.uri import NameAddr

if TYPE_CHECKING:
    from outdial.telephony.sip.env import CallEnv
    from outdial.telephony.sip.telephony import SipTelephony

log = logging.getLogger("outdial.telephony.sip.register")
MAX_BACKOFF = 300.0


class Registration:
    def __init__(
        self, env: CallEnv, telephony: SipTelephony, trunk: Endpoint, expires: int
    ) -> None:
        self.env = env
        self.telephony = telephony
        self.trunk = trunk
        self.expires = expires
        self.state = "unregistered"  # registering, registered, failed
        self.detail = ""
        self.granted = 0
        self.failures = 0
        self.call_id = secrets.token_hex(12)
        self.tag = new_tag()
        self.cseq = 0
        self._live = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.base_backoff = 1.0

    @property
    def aor(self) -> str:
        host = f"[{self.trunk.host}]" if ":" in self.trunk.host else self.trunk.host
        port = f":{self.trunk.port}" if self.trunk.port else ""
        return f"{self.trunk.scheme}:{self.env.username}@{host}{port}"

    def status(self) -> dict[str, Any]:
        return {"state": self.state, "aor": self.aor, "expires": self.granted,
                "detail": self.detail}  # fmt: skip

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        SIP_REGISTERED.set(0)

    async def wait_registered(self, within: float) -> str | None:
        """None once registered; else why not, after waiting up to `within` seconds."""
        if self._live.is_set():
            return None
        try:
            await asyncio.wait_for(self._live.wait(), within)
        except TimeoutError:
            return f"not registered with the trunk ({self.state}: {self.detail or 'waiting'})"
        return None

    async def _run(self) -> None:
        while True:
            if self.state == "unregistered":
                self.state = "registering"  # a failed or live state stays until the outcome
            granted, problem = await self.register_once()
            if problem is None:
                self.state, self.detail, self.granted, self.failures = "registered", "", granted, 0
                self._live.set()
                SIP_REGISTERED.set(1)
                log.info("registered %s for %d s", self.aor, granted)
                await asyncio.sleep(max(1.0, min(granted * 0.85, granted - 30)))
                continue
            self.failures += 1
            self.state, self.detail = "failed", problem
            self._live.clear()
            SIP_REGISTERED.set(0)
            SIP_REGISTER_FAILURES.inc()
            delay = min(MAX_BACKOFF, self.base_backoff * 2 ** (self.failures - 1))
            log.warning("REGISTER %s failed: %s; again in %g s", self.aor, problem, delay)
            await asyncio.sleep(delay)

    def _request(self, expires: int, hop_transport: str, via: str) -> SipMessage:
        self.cseq += 1
        uri = self.aor.replace(f"{self.env.username}@", "", 1)
        msg = SipMessage(method="REGISTER", uri=uri)
        msg.add("Via", f"SIP/2.0/{hop_transport} {via};branch={new_branch()};rport")
        msg.add("Max-Forwards", "70")
        msg.add("From", f"<{self.aor}>;tag={self.tag}")
        msg.add("To", f"<{self.aor}>")
        msg.add("Call-ID", self.call_id)
        msg.add("CSeq", f"{self.cseq} REGISTER")
        params = "" if hop_transport == "UDP" else f";transport={hop_transport.lower()}"
        msg.add("Contact", f"<sip:{self.env.username}@{via}{params}>")
        msg.add("Expires", str(expires))
        msg.add("User-Agent", self.env.user_agent)
        return msg

    async def register_once(self) -> tuple[int, str | None]:
        """One registration (with its challenge rounds): (seconds granted, None) or why not."""
        hops = self.env.breaker.order(list(self.env.trunk_hops))
        if not hops:
            return 0, "the trunk does not resolve"
        hop = hops[0]
        via = self.telephony.via_for(hop)
        credentials = CallCredentials(self.env.username, self.env.password, self.env.realms)
        expires = self.expires
        for _ in range(6):
            msg = self._request(expires, hop.transport, via)
            for header in credentials.headers("REGISTER", msg.uri):
                msg.add(*header)
            tx = NonInviteClientTransaction(self.env.transport, msg, hop, self.env.timers)
            resp = await tx.run()
            if resp is None:
                self.env.breaker.fail(hop)
                return 0, f"no response from {hop}"
            if resp.status in (401, 407):
                problem = credentials.on_challenge(resp, to_trunk=True, where=str(hop))
                if problem is not None:
                    return 0, problem
                continue
            if resp.status == 423:
                wanted = (resp.get("Min-Expires") or "").strip()
                if not wanted.isdigit():
                    return 0, "423 without a Min-Expires"
                expires = int(wanted)
                continue
            if 200 <= resp.status < 300:
                return self._granted(resp, expires), None
            return 0, f"{resp.status} {resp.reason}"
        return 0, "too many rounds"

    def _granted(self, resp: SipMessage, asked: int) -> int:
        for contact in resp.get_all("Contact"):
            try:
                parsed = NameAddr.parse(contact)
            except ValueError:
                continue
            if self.env.username in parsed.uri and parsed.params.get("expires", "").isdigit():
                return int(parsed.params["expires"])
        header = (resp.get("Expires") or "").strip()
        return int(header) if header.isdigit() else asked
