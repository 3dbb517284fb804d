"""Watching the trunk (or the outbound proxy, when every request goes there first): the rule
of `domain/trunk.py` over the INVITEs sent to it, and OPTIONS probes while it is down
(docs/operations.md, "The trunk goes down")."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from outdial.domain.outcome import CallOutcome
from outdial.domain.trunk import TRUNK_DOWN, TrunkHealth, TrunkRule, TrunkState, Verdict
from outdial.metrics import SIP_TRUNK_PROBES, SIP_TRUNK_UP
from outdial.telephony.sip.dialog import new_branch, new_tag
from outdial.telephony.sip.hop import Hop
from outdial.telephony.sip.message import SipMessage
from outdial.telephony.sip.transaction import NonInviteClientTransaction, Timers
from outdial.telephony.sip.transport import SipTransport

log = logging.getLogger("outdial.telephony.sip.trunk")


class TrunkMonitor:
    """The health of the first hop of trunk calls. `judge` each finished call sent there;
    while it is down, `down` is true, new calls to it are refused before anything is sent,
    and an OPTIONS probe goes out every `rule.probe_s` seconds until one is answered."""

    def __init__(
        self,
        transport: SipTransport,
        timers: Timers,
        hops: Callable[[], list[Hop]],
        via_for: Callable[[Hop], str],
        uri: str,
        rule: TrunkRule,
        user_agent: str = "outdial",
    ) -> None:
        self.transport = transport
        self.timers = timers
        self.hops = hops
        self.via_for = via_for
        self.uri = uri
        self.health = TrunkHealth(rule)
        self.user_agent = user_agent
        self.probes = 0
        self._probe: asyncio.Task[None] | None = None
        SIP_TRUNK_UP.set(1)

    @property
    def down(self) -> bool:
        return self.health.down

    def judge(self, verdict: Verdict, outcome: CallOutcome) -> CallOutcome:
        """Record one finished call's verdict; a fault while (or by which) the trunk is down
        becomes the outcome `trunk_down`."""
        now = asyncio.get_running_loop().time()
        if self.health.record(verdict, now, outcome.detail):
            self._changed()
        if verdict is Verdict.FAULT and self.health.down:
            return replace(outcome, detail=TRUNK_DOWN)
        return outcome

    def status(self) -> dict[str, Any]:
        h = self.health
        out: dict[str, Any] = {"state": h.state.value, "probes": self.probes}
        if h.down:
            out["reason"] = h.why
        return out

    async def stop(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
            self._probe = None

    def _changed(self) -> None:
        h = self.health
        if h.state is TrunkState.DOWN:
            SIP_TRUNK_UP.set(0)
            log.warning(
                "SIP trunk %s is down (%s; last: %s): no new calls to it; probing with OPTIONS "
                "every %g s",
                self.uri,
                h.why,
                h.last_fault,
                h.rule.probe_s,
            )
            if self._probe is None or self._probe.done():
                self._probe = asyncio.get_running_loop().create_task(
                    self._probing(), name="sip-trunk-probe"
                )
        else:
            SIP_TRUNK_UP.set(1)
            log.warning("SIP trunk %s is up again: calls to it resume", self.uri)

    async def _probing(self) -> None:
        while self.health.down:
            await asyncio.sleep(self.health.rule.probe_s)
            if not self.health.down:  # a call answered meanwhile
                return
            code = await self.probe_once()
            if self.health.probed(code, asyncio.get_running_loop().time()):
                self._changed()

    async def probe_once(self) -> int | None:
        """One OPTIONS to the first hop: its final response code, or None (no answer)."""
        hops = self.hops()
        if not hops:
            return None
        hop = hops[0]
        self.probes += 1
        try:
            resp = await NonInviteClientTransaction(
                self.transport, self._options(hop), hop, self.timers
            ).run()
        except (ConnectionError, OSError) as exc:
            log.info("OPTIONS to %s failed: %s", hop, exc)
            resp = None
        code = None if resp is None else resp.status
        SIP_TRUNK_PROBES.labels("none" if code is None else str(code // 100) + "xx").inc()
        log.info("OPTIONS probe of the trunk %s: %s", hop, code or "no response")
        return code

    def _options(self, hop: Hop) -> SipMessage:
        via = self.via_for(hop)
        msg = SipMessage(method="OPTIONS", uri=self.uri)
        msg.add("Via", f"SIP/2.0/{hop.transport} {via};branch={new_branch()};rport")
        msg.add("Max-Forwards", "70")
        msg.add("From", f"<sip:outdial@{via}>;tag={new_tag()}")
        msg.add("To", f"<{self.uri}>")
        msg.add("Call-ID", secrets.token_hex(12))
        msg.add("CSeq", "1 OPTIONS")
        msg.add("Accept", "application/sdp")
        msg.add("User-Agent", self.user_agent)
        return msg
