"""Session timers (RFC 4028): keep an answered call alive, or end it when the far end is gone.

The INVITE asks `Session-Expires` (with `Min-SE: 90`); a 422 is answered once with the
Min-SE it asks. When the 2xx names us as refresher (`refresher=uac`), outdial refreshes at
half the interval: an UPDATE without SDP when the far end allows UPDATE, else a re-INVITE with
our current offer. When the far end refreshes, each of its re-INVITEs or UPDATEs restarts the
clock; if none comes before the interval ends (less min(32 s, a third)), or our own refresh
fails, the call is ended with BYE.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from outdial.telephony.sip.dialog import Dialog
from outdial.telephony.sip.env import CallEnv
from outdial.telephony.sip.hop import Hop
from outdial.telephony.sip.message import SipMessage
from outdial.telephony.sip.sdp import LocalSession, MediaDescription, answer_media
from outdial.telephony.sip.transaction import InviteClientTransaction, NonInviteClientTransaction

log = logging.getLogger("outdial.telephony.sip.call")
MIN_SE = 90


def parse_session_expires(value: str | None) -> tuple[int, str] | None:
    """`1800;refresher=uac` -> (1800, "uac"); None when absent or unreadable."""
    if not value:
        return None
    head, *params = value.split(";")
    if not head.strip().isdigit():
        return None
    refresher = ""
    for param in params:
        name, _, val = param.partition("=")
        if name.strip().lower() == "refresher":
            refresher = val.strip().lower()
    return int(head.strip()), refresher


class SessionTimer:
    """One answered call's session timer."""

    def __init__(
        self, refresh: Callable[[], Awaitable[bool]], on_expire: Callable[[str], None]
    ) -> None:
        self.refresh = refresh
        self.on_expire = on_expire
        self.interval = 0
        self.we_refresh = False
        self.refreshes = 0
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self, interval: int, we_refresh: bool) -> None:
        self.interval, self.we_refresh = interval, we_refresh
        self._schedule()

    def _schedule(self) -> None:
        self.cancel_timer()
        loop = asyncio.get_running_loop()
        if self.we_refresh:
            self._handle = loop.call_later(self.interval / 2, self._due)
        else:
            grace = min(32.0, self.interval / 3)
            self._handle = loop.call_later(self.interval - grace, self._expired)

    def refreshed_by_far_end(self, interval: int | None, we_refresh: bool | None) -> None:
        if not self.interval:
            return
        if interval:
            self.interval = interval
        if we_refresh is not None:
            self.we_refresh = we_refresh
        self._schedule()

    def _due(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._do_refresh())

    async def _do_refresh(self) -> None:
        if await self.refresh():
            self.refreshes += 1
            self._schedule()
        else:
            self.on_expire("the session refresh failed")

    def _expired(self) -> None:
        self.on_expire(f"the session expired (no refresh within {self.interval} s)")

    def cancel_timer(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def cancel(self) -> None:
        self.cancel_timer()
        if self._task is not None:
            self._task.cancel()


class SessionRefresh:
    """The refresh requests of an answered call (mixed into `OutboundCall`)."""

    env: CallEnv
    label: str
    via: str
    dialog: Dialog | None
    session: LocalSession
    far_allow: set[str]
    timer: SessionTimer

    if TYPE_CHECKING:  # provided by the call these are mixed into

        @property
        def contact(self) -> str:
            raise NotImplementedError

        def use_media(self, media: MediaDescription | None) -> None: ...

        async def _next_hop(self, dialog: Dialog | None = None) -> Hop:
            raise NotImplementedError

    def on_session_refresh(self, request: SipMessage, response: SipMessage) -> None:
        """The far end's re-INVITE or UPDATE, answered 2xx: the clock starts again."""
        asked = parse_session_expires(request.get("Session-Expires"))
        if asked is None or not self.timer.interval or response.status >= 300:
            return
        interval, refresher = asked
        we_refresh = refresher == "uas"  # we are the UAS of the far end's request
        response.add("Session-Expires", f"{interval};refresher={refresher or 'uac'}")
        response.add("Require", "timer")
        self.timer.refreshed_by_far_end(interval, we_refresh)

    async def refresh_session(self) -> bool:
        """One refresh: UPDATE if the far end allows it, else a re-INVITE with our offer."""
        dialog = self.dialog
        if dialog is None:
            return False
        try:
            hop = await self._next_hop()
        except OSError:
            return False
        method = "UPDATE" if "UPDATE" in self.far_allow else "INVITE"
        request = dialog.request(method, self.via, transport=hop.transport)
        request.add("Contact", self.contact)
        request.add("Session-Expires", f"{self.timer.interval};refresher=uac")
        request.add("Supported", "timer")
        request.add("User-Agent", self.env.user_agent)
        log.info("call %s: session refresh (%s)", self.label, method)
        if method == "UPDATE":
            tx = NonInviteClientTransaction(self.env.transport, request, hop, self.env.timers)
            reply = await tx.run()
            return reply is not None and 200 <= reply.status < 300
        request.add("Content-Type", "application/sdp")
        request.body = self.session.offer()
        finals: asyncio.Queue[SipMessage | None] = asyncio.Queue()
        invite_tx = InviteClientTransaction(
            self.env.transport, request, hop, self.env.timers,
            lambda msg: finals.put_nowait(msg) if msg is None or msg.status >= 200 else None,
        )  # fmt: skip
        invite_tx.start()
        final = await finals.get()
        if final is None or final.status >= 300:
            return False
        ack = dialog.request("ACK", self.via, cseq=request.cseq[0], transport=hop.transport)
        self.env.transport.send(ack, hop)
        media = answer_media(final.body)
        if not isinstance(media, str):
            self.use_media(media)
        return True
