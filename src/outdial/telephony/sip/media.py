"""RTP streams paced in real time by one shared 20 ms clock.

Each call owns an `RtpStream` (its own UDP socket, which also receives and counts the far
end's RTP). Instead of one timer per call, a single `MediaClock` task wakes every 20 ms and
sends each playing stream the packets that are due, so 300 calls cost one wake-up per tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque

from outdial.telephony.sip.g711 import silence
from outdial.telephony.sip.rtp import PACKET_SECONDS, SAMPLES_PER_PACKET, RtpPacketizer

log = logging.getLogger("outdial.telephony.sip.media")
_MAX_BURST = 5  # packets sent at once to catch up after a late tick


class MediaClock:
    def __init__(self) -> None:
        self._streams: set[RtpStream] = set()
        self._task: asyncio.Task[None] | None = None
        self.late_ticks = 0

    def add(self, stream: RtpStream) -> None:
        self._streams.add(stream)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def discard(self, stream: RtpStream) -> None:
        self._streams.discard(stream)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while self._streams:
            now = loop.time()
            for stream in list(self._streams):
                if not stream.tick(now):
                    self._streams.discard(stream)
            next_tick += PACKET_SECONDS
            if next_tick < now:
                self.late_ticks += 1
                next_tick = now + PACKET_SECONDS
            await asyncio.sleep(next_tick - loop.time())

    async def close(self) -> None:
        self._streams.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class RtpStream:
    """One call's audio: `play(payload)` queues G.711 bytes and resolves once they were sent."""

    def __init__(self, clock: MediaClock, host: str, *, label: str = "") -> None:
        self.clock = clock
        self.label = label
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self._sock.bind((host, 0))
            self._sock.setblocking(False)
        except OSError:
            self._sock.close()
            raise
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self.remote: tuple[str, int] | None = None
        self.packetizer: RtpPacketizer | None = None
        self._queue: deque[tuple[memoryview, asyncio.Future[None]]] = deque()
        self._offset = 0
        self._next_due = 0.0
        self._last_sent = 0.0
        self.sent_packets = 0
        self.send_errors = 0
        self.received_packets = 0
        self.received_bytes = 0
        self._closed = False
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._sock.fileno(), self._read)

    def set_remote(self, remote: tuple[str, int] | None, payload_type: int) -> None:
        """Where to send (None: nowhere, audio is still paced) and in which codec."""
        self.remote = remote
        if self.packetizer is None:
            self.packetizer = RtpPacketizer(payload_type)
        else:
            self.packetizer.payload_type = payload_type

    @property
    def payload_type(self) -> int:
        return self.packetizer.payload_type if self.packetizer else 0

    def play(self, payload: bytes) -> asyncio.Future[None]:
        done: asyncio.Future[None] = self._loop.create_future()
        if self._closed or not payload:
            done.set_result(None)
            return done
        if not self._queue:
            now = self._loop.time()
            if self.packetizer is not None and self._last_sent and now > self._next_due:
                gap = int((now - self._last_sent) / PACKET_SECONDS) - 1
                if gap > 0:
                    self.packetizer.skip(gap * SAMPLES_PER_PACKET)
            self._next_due = max(now, self._next_due)
        self._queue.append((memoryview(payload), done))
        self.clock.add(self)
        return done

    def tick(self, now: float) -> bool:
        """Send what is due; False when nothing is left to play."""
        sent = 0
        while self._queue and self._next_due <= now + 0.001 and sent < _MAX_BURST:
            chunk = self._take_chunk()
            self._send(chunk)
            sent += 1
            self._next_due += PACKET_SECONDS
        if self._next_due < now - _MAX_BURST * PACKET_SECONDS:
            self._next_due = now  # far behind (a stalled loop): resync instead of bursting
        return bool(self._queue)

    def _take_chunk(self) -> bytes:
        parts: list[bytes] = []
        need = SAMPLES_PER_PACKET
        while need and self._queue:
            view, done = self._queue[0]
            piece = view[self._offset : self._offset + need]
            parts.append(bytes(piece))
            need -= len(piece)
            self._offset += len(piece)
            if self._offset >= len(view):
                self._queue.popleft()
                self._offset = 0
                if not done.done():
                    done.set_result(None)
        if need:
            parts.append(silence(self.payload_type, need))
        return b"".join(parts)

    def _send(self, chunk: bytes) -> None:
        self._last_sent = self._loop.time()
        if self.packetizer is None or self.remote is None:
            return
        try:
            self._sock.sendto(self.packetizer.packet(chunk), self.remote)
            self.sent_packets += 1
        except OSError as exc:  # full buffer or ICMP unreachable: drop this packet only
            self.send_errors += 1
            if self.send_errors == 1:
                log.debug("call %s: RTP send to %s failed: %s", self.label, self.remote, exc)

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

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.clock.discard(self)
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        while self._queue:
            _, done = self._queue.popleft()
            if not done.done():
                done.cancel()
