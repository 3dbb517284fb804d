"""The browser as the agent's phone: one WebRTC session per agent, held by outdial (aiortc).

The agent's page (console/phone.js) sends an SDP offer with its microphone track
(`POST /v1.0/agents/{id}/phone`); `PhoneBook.open` answers it with a peer connection of its own
(non-trickle ICE: the answer carries every candidate; no STUN/TURN server is asked, so it works
where the browser reaches outdial's host addresses directly, as on a LAN; aioice leaves
loopback out, so a browser on the same host uses the host's own address). Audio is negotiated as
PCMU only (every browser has it: no Opus, and the callee's G.711 needs no resampling).

While the session is open the agent's phone is this `BrowserPhone` (a `LocalLeg`,
telephony/bridge.py): the engine's desk bridges a callee to `webrtc:<agent id>` before any of
the agent's stored addresses, and the SIP bridge (sip/b2bua.py `bridge_local`) passes the
callee's audio to `hear` and the agent's to the callee. Between calls the browser hears
silence and its audio is dropped. The session ends with `DELETE /v1.0/agents/{id}/phone`, a
new offer for the same agent (the old session is closed first), shutdown, or when the browser
is gone: the peer connection `failed` or `closed` (the page closed: DTLS close or ICE
consent lost). A session that ends by itself (not by DELETE) makes the agent `offline`
(`on_drop`), so no callee is reserved for an agent without a phone.

aiortc is optional (`pip install "outdial[webrtc]"`); without it `available()` says why and the
API answers 409 WEBRTC_UNAVAILABLE. Nothing outside this module imports aiortc.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import ipaddress
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from outdial.domain.errors import FailedPrecondition, InvalidArgument
from outdial.telephony.bridge import LOCAL_PREFIX, LocalLeg

if TYPE_CHECKING:
    from aiortc import RTCPeerConnection

log = logging.getLogger("outdial.telephony.webrtc")
RATE = 8000
FRAME = 160  # samples per 20 ms frame
FRAME_BYTES = FRAME * 2
MAX_BUFFER = RATE * 2 // 5  # 200 ms of callee audio waiting for the browser: older is dropped
MAX_SDP = 64 * 1024
OnDrop = Callable[[uuid.UUID, uuid.UUID], Awaitable[None]]  # (customer_id, agent_id)


def available() -> str | None:
    """Why browser phones cannot work here, or None."""
    try:
        import aiortc  # noqa: F401
        import av  # noqa: F401
    except ImportError as exc:
        return f"the browser phone needs aiortc (pip install 'outdial[webrtc]'): {exc}"
    return None


class PhoneUnavailable(FailedPrecondition):
    reason = "WEBRTC_UNAVAILABLE"


class BrowserPhone:
    """One agent's open WebRTC session (see the module doc)."""

    def __init__(self, customer_id: uuid.UUID, agent_id: uuid.UUID, pc: RTCPeerConnection) -> None:
        self.customer_id, self.agent_id, self.pc = customer_id, agent_id, pc
        self.label = f"{LOCAL_PREFIX}{agent_id}"
        self.ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.outgoing = _CalleeAudio()
        self._speak: Callable[[bytes], None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self.heard_frames = 0  # browser audio frames received (all the session)
        self.spoken_frames = 0  # of them, passed on to a callee
        self.created = time.time()

    @property
    def state(self) -> str:
        return "closed" if self.ended.done() else str(self.pc.connectionState)

    # ---- LocalLeg --------------------------------------------------------------------------
    def attach(self, speak: Callable[[bytes], None]) -> bool:
        if self.ended.done() or self._speak is not None:
            return False
        self._speak = speak
        self.outgoing.clear()
        return True

    def hear(self, pcm: bytes) -> None:
        if self._speak is not None:
            self.outgoing.feed(pcm)

    def detach(self) -> None:
        self._speak = None
        self.outgoing.clear()

    # ---- the browser's audio ---------------------------------------------------------------
    def read(self, track: Any) -> None:
        if self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._read(track))

    async def _read(self, track: Any) -> None:
        import av
        from aiortc.mediastreams import MediaStreamError

        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        pending = b""
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.heard_frames += 1
            for out in resampler.resample(frame):
                pending += bytes(out.planes[0])[: out.samples * 2]
            while len(pending) >= FRAME_BYTES:
                chunk, pending = pending[:FRAME_BYTES], pending[FRAME_BYTES:]
                speak = self._speak
                if speak is not None:
                    self.spoken_frames += 1
                    speak(chunk)

    def end(self, why: str) -> None:
        if not self.ended.done():
            self.ended.set_result(why)
        self._speak = None
        self.outgoing.stop()

    async def close(self) -> None:
        self.end("closed")
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        with contextlib.suppress(Exception):
            await self.pc.close()


def _make_track_class() -> type[Any]:
    from aiortc import MediaStreamTrack

    class Track(MediaStreamTrack):  # type: ignore[misc,unused-ignore]
        """The audio outdial sends to the browser: the callee's, paced at 20 ms, silence when
        there is none."""

        kind = "audio"

        def __init__(self, owner: _CalleeAudio) -> None:
            super().__init__()
            self.owner = owner
            self._start: float | None = None
            self._pts = 0

        async def recv(self) -> Any:
            import av
            from aiortc.mediastreams import MediaStreamError

            if self.readyState != "live":
                raise MediaStreamError
            if self._start is None:
                self._start = time.monotonic()
            else:
                self._pts += FRAME
                wait = self._start + self._pts / RATE - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
            frame.planes[0].update(self.owner.take())
            frame.pts = self._pts
            frame.sample_rate = RATE
            frame.time_base = fractions.Fraction(1, RATE)
            return frame

    return Track


class _CalleeAudio:
    """The callee's PCM waiting for the browser track (at most 200 ms: older audio goes)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.track: Any = None

    def make_track(self) -> Any:
        self.track = _make_track_class()(self)
        return self.track

    def feed(self, pcm: bytes) -> None:
        self.buffer += pcm
        excess = len(self.buffer) - MAX_BUFFER * 2
        if excess > 0:
            del self.buffer[:excess]

    def take(self) -> bytes:
        if len(self.buffer) < FRAME_BYTES:
            return bytes(FRAME_BYTES)  # silence
        chunk = bytes(self.buffer[:FRAME_BYTES])
        del self.buffer[:FRAME_BYTES]
        return chunk

    def clear(self) -> None:
        self.buffer.clear()

    def stop(self) -> None:
        if self.track is not None:
            self.track.stop()


def parse_host_addresses(addresses: Sequence[str] | str) -> tuple[str, ...]:
    """`OUTDIAL_WEBRTC_ADDRESSES` (comma-separated IP addresses, e.g. `127.0.0.1` for a
    browser on the same host, or the LAN address agents reach): the only ICE host candidates
    outdial offers. Empty: every interface's address but loopback (aioice's choice)."""
    if isinstance(addresses, str):
        addresses = [a for a in addresses.split(",")]
    out: list[str] = []
    for raw in addresses:
        text = raw.strip()
        if not text:
            continue
        try:
            out.append(str(ipaddress.ip_address(text)))
        except ValueError:
            raise ValueError(f"OUTDIAL_WEBRTC_ADDRESSES: {text!r} is not an IP address") from None
    return tuple(out)


class PhoneBook:
    """The open browser phones of this process, by agent."""

    def __init__(self, on_drop: OnDrop | None = None, host_addresses: Sequence[str] = ()) -> None:
        self.phones: dict[uuid.UUID, BrowserPhone] = {}
        self.on_drop = on_drop
        self._tasks: set[asyncio.Task[None]] = set()
        self.host_addresses = parse_host_addresses(host_addresses)
        logging.getLogger("aioice").setLevel(logging.WARNING)  # every ICE check at INFO
        if available() is None:
            self._use_host_addresses()

    def _use_host_addresses(self) -> None:
        """Offer only the operator's addresses as ICE host candidates (aioice gathers every
        interface's address but loopback; aioice has no option for it, so its gathering
        function is replaced, for this process)."""
        if not self.host_addresses:
            return
        import aioice.ice

        chosen = list(self.host_addresses)

        def chosen_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
            return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

        aioice.ice.get_host_addresses = chosen_addresses

    def is_open(self, agent_id: uuid.UUID) -> bool:
        phone = self.phones.get(agent_id)
        return phone is not None and not phone.ended.done()

    def leg(self, target: str) -> LocalLeg | None:
        """The open phone of a `webrtc:<agent id>` target (`LocalLegs`)."""
        try:
            agent_id = uuid.UUID(target.removeprefix(LOCAL_PREFIX))
        except ValueError:
            return None
        phone = self.phones.get(agent_id)
        return phone if phone is not None and not phone.ended.done() else None

    def get(self, customer_id: uuid.UUID, agent_id: uuid.UUID) -> BrowserPhone | None:
        phone = self.phones.get(agent_id)
        return phone if phone is not None and phone.customer_id == customer_id else None

    async def open(self, customer_id: uuid.UUID, agent_id: uuid.UUID, offer: str) -> str:
        """Answer the browser's SDP offer; the agent's previous session is closed first."""
        why = available()
        if why is not None:
            raise PhoneUnavailable(why)
        if not offer.strip() or len(offer) > MAX_SDP or "m=audio" not in offer:
            raise InvalidArgument("sdp must be an SDP offer with an audio section")
        from aiortc import (
            RTCConfiguration,
            RTCPeerConnection,
            RTCRtpSender,
            RTCSessionDescription,
        )

        await self.close(customer_id, agent_id)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN: nothing outside
        phone = BrowserPhone(customer_id, agent_id, pc)

        @pc.on("track")  # type: ignore[untyped-decorator,misc,unused-ignore]
        def on_track(track: Any) -> None:
            if track.kind == "audio":
                phone.read(track)

        @pc.on("connectionstatechange")  # type: ignore[untyped-decorator,misc,unused-ignore]
        async def on_state() -> None:
            state = pc.connectionState
            log.info("browser phone of agent %s: %s", agent_id, state)
            if state in ("failed", "closed") and not phone.ended.done():
                await self._dropped(phone, state)

        try:
            # the transceiver first, so that the offer's audio is matched to it and its codec
            # preference (PCMU only) applies to the answer
            transceiver = pc.addTransceiver(phone.outgoing.make_track(), direction="sendrecv")
            pcmu = [
                c
                for c in RTCRtpSender.getCapabilities("audio").codecs
                if c.mimeType.lower() == "audio/pcmu"
            ]
            transceiver.setCodecPreferences(pcmu)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            if transceiver.mid is None:
                raise InvalidArgument("sdp must offer audio")
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)  # gathers the candidates (non-trickle)
        except InvalidArgument:
            await pc.close()
            raise
        except Exception as exc:  # aiortc's errors for an unusable offer
            await pc.close()
            raise InvalidArgument(f"cannot answer the offer: {exc}") from None
        self.phones[agent_id] = phone
        log.info("browser phone of agent %s opened", agent_id)
        return str(pc.localDescription.sdp)

    async def _dropped(self, phone: BrowserPhone, why: str) -> None:
        phone.end(why)
        if self.phones.get(phone.agent_id) is phone:
            del self.phones[phone.agent_id]
        task = asyncio.get_running_loop().create_task(self._after_drop(phone))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _after_drop(self, phone: BrowserPhone) -> None:
        await phone.close()
        if self.on_drop is not None:
            try:
                await self.on_drop(phone.customer_id, phone.agent_id)
            except Exception:  # the agent was deleted, the database is away: logged only
                log.exception("agent %s: cannot mark offline after its phone dropped",
                              phone.agent_id)  # fmt: skip

    async def close(self, customer_id: uuid.UUID, agent_id: uuid.UUID) -> bool:
        """Close the agent's session (DELETE); False: there was none."""
        phone = self.get(customer_id, agent_id)
        if phone is None:
            return False
        del self.phones[agent_id]
        await phone.close()
        return True

    async def close_all(self) -> None:
        phones, self.phones = list(self.phones.values()), {}
        for phone in phones:
            await phone.close()
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await task
