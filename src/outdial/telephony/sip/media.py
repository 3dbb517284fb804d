"""RTP streams paced in real time by one shared clock.

Each call owns an `RtpStream` (its own UDP socket on an even port, which also receives and
counts the far end's RTP). Instead of one timer per call, a single `MediaClock` task wakes
every packet time (20 ms, or the shortest `a=ptime` of the streams playing) and sends each
playing stream the packets that are due, so 1,000 calls cost one wake-up per tick.

Timestamps follow the sampling clock: packet slot n of a stream carries timestamp
`start + n * samples`, and slots are counted in real time, so after a pause in sending (hold,
silence that was not sent, a stalled loop) the timestamp jumps by the time that passed and the
first packet after it has the marker bit (RFC 3550 5.1, RFC 3551 4.1). Audio is queued in the
G.711 law it was encoded in and changed to the stream's current codec as it is sent, so a
re-INVITE from PCMU to PCMA takes effect on the next packet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

from outdial.telephony.sip.g711 import silence, transcode_table
from outdial.telephony.sip.rtp import RtpPacketizer

log = logging.getLogger("outdial.telephony.sip.media")
_MAX_BURST = 5  # packets sent at once to catch up after a late tick
_EARLY = 0.001  # a packet this close to its slot goes in this tick
TICK = 0.005  # the clock's period; packet times (10-60 ms) are multiples of it
_ON_TIME = 0.005  # sent within this of its slot: on time (counted by the clock)


def bind_pair(family: socket.AddressFamily, host: str) -> tuple[socket.socket, socket.socket]:
    """UDP sockets on an even port for RTP and the next one for RTCP (RFC 3550 11), chosen by
    the kernel. The RTCP socket only takes the far end's reports in: with nothing bound there,
    the ICMP errors its RTCP would draw make some user agents drop the call."""
    spare: list[socket.socket] = []
    try:
        for _ in range(64):
            first = socket.socket(family, socket.SOCK_DGRAM)
            try:
                first.bind((host, 0))
            except OSError:
                first.close()
                raise
            port = int(first.getsockname()[1])
            other = socket.socket(family, socket.SOCK_DGRAM)
            try:
                other.bind((host, port + 1 if port % 2 == 0 else port - 1))
            except OSError:
                other.close()
                spare.append(first)  # held so that the next try gets another port
                continue
            return (first, other) if port % 2 == 0 else (other, first)
        raise OSError("no even/odd UDP port pair free for RTP and RTCP")
    finally:
        for sock in spare:
            sock.close()


class EventLike(Protocol):
    """An RFC 4733 packet to send (`listen.rfc4733_send.EventPacket`)."""

    @property
    def offset_ms(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def marker(self) -> bool: ...
    @property
    def payload(self) -> bytes: ...


class MediaClock:
    def __init__(self) -> None:
        self._streams: set[RtpStream] = set()
        self._task: asyncio.Task[None] | None = None
        self.late_ticks = 0
        self.packets_on_time = 0  # sent within 5 ms of their slot
        self.packets_late = 0  # sent later than that (a busy or stalled loop)
        self.next_tick = 0.0

    def add(self, stream: RtpStream) -> None:
        self._streams.add(stream)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def discard(self, stream: RtpStream) -> None:
        self._streams.discard(stream)

    def grid(self, now: float) -> float:
        """The first tick at or after `now`: a stream starting now has its slots on the clock's
        ticks (else each packet would wait for the next tick). Ticks are 5 ms apart, so the
        streams started at random times spread over four phases of each 20 ms and one tick
        sends about a quarter of the packets, not all of them in one burst."""
        if self._task is None or self._task.done():
            return now
        ahead = self.next_tick - now
        if ahead >= -_EARLY:
            return self.next_tick - TICK * int(ahead / TICK)
        return self.next_tick + TICK * math.ceil(-ahead / TICK)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_tick = self.next_tick = loop.time()
        while self._streams:
            now = loop.time()
            due = now + _EARLY
            for stream in list(self._streams):
                if stream.due <= due and not stream.tick(now):
                    self._streams.discard(stream)
            next_tick += TICK
            if next_tick < now:
                self.late_ticks += 1
                next_tick = now + TICK
            self.next_tick = next_tick
            await asyncio.sleep(next_tick - loop.time())

    async def close(self) -> None:
        self._streams.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class RtpStream:
    """One call's audio: `play(payload, payload_type)` queues G.711 bytes and resolves once
    they were sent."""

    def __init__(
        self, clock: MediaClock, host: str, *, label: str = "", ptime_ms: int = 20
    ) -> None:
        self.clock = clock
        self.label = label
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock, self._rtcp = bind_pair(family, host)
        self._sock.setblocking(False)
        self._rtcp.setblocking(False)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self.remote: tuple[str, int] | None = None
        self.packetizer: RtpPacketizer | None = None
        self.ptime = ptime_ms / 1000
        self.samples = ptime_ms * 8  # per packet; one byte per sample in G.711
        self._queue: deque[tuple[memoryview, int, asyncio.Future[None]]] = deque()
        self._offset = 0
        self._t0: float | None = None  # the time of slot 0
        self._ts0 = 0  # the timestamp of slot 0
        self._slot = 0  # the next slot to send
        self.due = 0.0  # the time of that slot (the clock skips the stream until then)
        self._held = False
        self.sent_packets = 0
        self.send_errors = 0
        self.received_packets = 0
        self.received_bytes = 0
        self._closed = False
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._sock.fileno(), self._read)
        self._loop.add_reader(self._rtcp.fileno(), self._read_rtcp)
        self.rtcp_packets = 0
        self.on_packet: Callable[[bytes], None] | None = None  # each RTP datagram received
        self.on_sent: Callable[[bytes, int], None] | None = None  # each payload sent, its law
        self.event_packets = 0

    def set_remote(
        self, remote: tuple[str, int] | None, payload_type: int, ptime_ms: int | None = None
    ) -> None:
        """Where to send (None: nowhere, audio is still paced), in which codec and packet
        time (10-60 ms; the queued audio changes codec from the next packet on)."""
        self.remote = remote
        if self.packetizer is None:
            self.packetizer = RtpPacketizer(payload_type)
            self._ts0 = self.packetizer.timestamp
        else:
            self.packetizer.payload_type = payload_type
        if ptime_ms is not None and ptime_ms * 8 != self.samples:
            if self._t0 is not None:  # slot numbering starts again at the next slot
                self._t0 += self._slot * self.ptime
                self._ts0 += self._slot * self.samples
                self._slot = 0
            self.ptime = ptime_ms / 1000
            self.samples = ptime_ms * 8

    @property
    def payload_type(self) -> int:
        return self.packetizer.payload_type if self.packetizer else 0

    def _slot_time(self, slot: int) -> float:
        assert self._t0 is not None
        return self._t0 + slot * self.ptime

    def play(self, payload: bytes, payload_type: int | None = None) -> asyncio.Future[None]:
        """Queue `payload`, encoded in `payload_type` (default: the stream's codec now)."""
        done: asyncio.Future[None] = self._loop.create_future()
        if self._closed or not payload:
            done.set_result(None)
            return done
        if not self._queue:
            now = self._loop.time()
            if self._t0 is None:
                self._t0, self._slot = self.clock.grid(now), 0
                if self.packetizer is not None:
                    self.packetizer.mark()
            elif now > self._slot_time(self._slot) + _EARLY:  # a pause: skip the slots missed
                self._slot = math.ceil((now - self._t0) / self.ptime - 1e-9)
                if self.packetizer is not None:
                    self.packetizer.mark()
        pt = self.payload_type if payload_type is None else payload_type
        self._queue.append((memoryview(payload), pt, done))
        self.due = self._slot_time(self._slot)
        self.clock.add(self)
        return done

    def tick(self, now: float) -> bool:
        """Send what is due; False when nothing is left to play."""
        queue = self._queue
        if not queue:
            return False
        t0, ptime = self._t0, self.ptime
        assert t0 is not None
        sent = 0
        while queue and t0 + self._slot * ptime <= now + _EARLY and sent < _MAX_BURST:
            if now - (t0 + self._slot * ptime) > _ON_TIME:
                self.clock.packets_late += 1
            else:
                self.clock.packets_on_time += 1
            self._send(self._take_chunk(), self._slot)
            sent += 1
            self._slot += 1
        if queue and t0 + self._slot * ptime < now - _MAX_BURST * ptime:
            # far behind (a stalled loop): resync to the clock instead of bursting
            self._slot = math.ceil((now - t0) / ptime - 1e-9)
            if self.packetizer is not None:
                self.packetizer.mark()
        self.due = t0 + self._slot * ptime
        return bool(queue)

    def _take_chunk(self) -> bytes:
        need = self.samples
        target = self.payload_type
        view, pt, done = self._queue[0]
        offset = self._offset
        if offset + need < len(view):  # the common case: a whole packet from one payload
            self._offset = offset + need
            piece = bytes(view[offset : offset + need])
            return piece if pt == target else piece.translate(transcode_table(pt, target))
        parts: list[bytes] = []
        while need and self._queue:
            view, pt, done = self._queue[0]
            piece = bytes(view[self._offset : self._offset + need])
            parts.append(piece if pt == target else piece.translate(transcode_table(pt, target)))
            need -= len(piece)
            self._offset += len(piece)
            if self._offset >= len(view):
                self._queue.popleft()
                self._offset = 0
                if not done.done():
                    done.set_result(None)
        if need:
            parts.append(silence(target, need))
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _send(self, chunk: bytes, slot: int) -> None:
        if self.packetizer is None or self.remote is None:
            self._held = True  # paced but not sent: the next packet sent starts a talkspurt
            return
        if self._held:
            self._held = False
            self.packetizer.mark()
        timestamp = self._ts0 + slot * self.samples
        if self.on_sent is not None:
            self.on_sent(chunk, self.packetizer.payload_type)
        try:
            self._sock.sendto(self.packetizer.packet(chunk, timestamp), self.remote)
            self.sent_packets += 1
        except OSError as exc:  # full buffer or ICMP unreachable: drop this packet only
            self.send_errors += 1
            if self.send_errors == 1:
                log.debug("call %s: RTP send to %s failed: %s", self.label, self.remote, exc)

    def flush(self) -> None:
        """Drop the audio queued to play (a bridge starts: the actions' audio stops now)."""
        while self._queue:
            _, _, done = self._queue.popleft()
            if not done.done():
                done.set_result(None)
        self._offset = 0
        self.clock.discard(self)

    def start_clock(self) -> None:
        """Start the sampling clock now if nothing was played yet, so `media_timestamp` and
        the audio played later follow on from packets forwarded meanwhile."""
        if self._t0 is None:
            self._t0, self._slot = self._loop.time(), 0
            self.due = self._t0

    def forward(self, payload: bytes, payload_type: int, timestamp: int, marker: bool) -> bool:
        """Send one packet at once, not paced (a relayed packet: its sender paced it), with
        this stream's SSRC and sequence numbers. Audio is shown to `on_sent` (recording)."""
        packetizer = self.packetizer
        if packetizer is None or self.remote is None or self._closed:
            return False
        if marker:
            packetizer.mark()
        saved = packetizer.payload_type
        packetizer.payload_type = payload_type
        data = packetizer.packet(payload, timestamp)
        packetizer.payload_type = saved
        if self.on_sent is not None and payload_type == saved:
            self.on_sent(payload, payload_type)
        try:
            self._sock.sendto(data, self.remote)
        except OSError:
            self.send_errors += 1
            return False
        self.sent_packets += 1
        return True

    def media_timestamp(self) -> int:
        """The RTP timestamp of the present moment on this stream's sampling clock."""
        if self._t0 is None:
            return self._ts0 if self.packetizer is None else self.packetizer.timestamp
        elapsed = max(0.0, self._loop.time() - self._t0)
        return (self._ts0 + int(elapsed * 8000)) & 0xFFFFFFFF

    async def send_events(self, packets: Sequence[EventLike], payload_type: int) -> None:
        """RFC 4733 telephone-events, each at its `offset_ms` from now (no audio meanwhile:
        the caller sends them between actions). Sequence numbers and SSRC are the stream's;
        the audio that follows starts a new talkspurt."""
        packetizer = self.packetizer
        if packetizer is None or self.remote is None or self._closed:
            return
        start = self._loop.time()
        for packet in packets:
            delay = start + packet.offset_ms / 1000 - self._loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._closed or self.remote is None:
                return
            saved = packetizer.payload_type
            packetizer.payload_type = payload_type
            if packet.marker:
                packetizer.mark()
            data = packetizer.packet(packet.payload, packet.timestamp)
            packetizer.payload_type = saved
            try:
                self._sock.sendto(data, self.remote)
                self.event_packets += 1
            except OSError:
                self.send_errors += 1
        packetizer.mark()
        if self._t0 is not None:  # the next audio goes on from now, after a pause
            self._slot = max(self._slot, math.ceil((self._loop.time() - self._t0) / self.ptime))

    def _read(self) -> None:
        for _ in range(64):
            try:
                data = self._sock.recv(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self.received_packets += 1
            self.received_bytes += len(data)
            if self.on_packet is not None:
                self.on_packet(data)

    def _read_rtcp(self) -> None:
        for _ in range(16):
            try:
                self._rtcp.recv(2048)
            except OSError:
                return
            self.rtcp_packets += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.clock.discard(self)
        self._loop.remove_reader(self._sock.fileno())
        self._loop.remove_reader(self._rtcp.fileno())
        self._sock.close()
        self._rtcp.close()
        while self._queue:
            _, _, done = self._queue.popleft()
            if not done.done():
                done.cancel()
