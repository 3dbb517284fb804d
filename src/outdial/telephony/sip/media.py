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
import heapq
import logging
import math
import socket
import struct
from collections import deque
from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol

from outdial.telephony.sip.g711 import silence, transcode_table
from outdial.telephony.sip.rtp import RtpPacketizer

log = logging.getLogger("outdial.telephony.sip.media")
_MAX_BURST = 5  # packets sent at once to catch up after a late tick
_EARLY = 0.001  # a packet this close to its slot goes in this tick
TICK = 0.001  # the clock's grid; packet times (10-60 ms) are multiples of it
_SPREAD = 5  # a stream starts on the least busy of this many ticks from now
_pack_header = struct.Struct("!BBHII").pack_into  # the RTP header (rtp.py)
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
    """Sends every playing stream's packets at their slots, from one task.

    Streams wait in a timing wheel: one bucket per 1 ms tick holding the streams whose next
    slot falls on it. The task sleeps until the earliest non-empty bucket, sends those
    streams' packets and files each stream again under the tick of its next slot, so a tick
    costs only the streams due in it (not a scan of all of them) and the packets of 1,000
    calls leave in twenty small bursts per 20 ms instead of four large ones. A stream starts
    on the least busy of the next few ticks (`grid`), so calls answered in one burst still
    spread their packets over the 20 ms."""

    def __init__(self) -> None:
        self._streams: set[RtpStream] = set()
        self._wheel: dict[int, list[RtpStream]] = {}  # tick number -> streams due then
        self._keys: list[int] = []  # heap of the wheel's tick numbers
        self._task: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None  # the task's sleep, to cut short
        self._sleeping_until = math.inf  # the tick number the task sleeps until
        self.epoch = 0.0  # the time of tick 0
        self.late_ticks = 0
        self.packets_on_time = 0  # sent within 5 ms of their slot
        self.packets_late = 0  # sent later than that (a busy or stalled loop)
        self.packets_within_1ms = 0  # of the on-time ones, within 1 ms
        self.next_tick = 0.0

    def _running(self) -> bool:
        return self._task is not None and not self._task.done()

    def add(self, stream: RtpStream) -> None:
        if not self._running():
            loop = asyncio.get_running_loop()
            self.epoch = self.next_tick = loop.time()
            self._wheel.clear()
            self._keys.clear()
            self._streams.clear()
            self._sleeping_until = math.inf
            self._task = loop.create_task(self._run())
        if stream in self._streams:
            return
        self._streams.add(stream)
        self._file(stream)

    def _tick_of(self, at: float) -> int:
        return math.ceil((at - self.epoch) / TICK - 1e-6)

    def _file(self, stream: RtpStream, earliest: int | None = None) -> None:
        key = self._tick_of(stream.due)
        if earliest is not None and key < earliest:
            key = earliest  # still behind after a burst: more at the next tick
        stream.wheel_key = key
        bucket = self._wheel.get(key)
        if bucket is None:
            self._wheel[key] = [stream]
            heapq.heappush(self._keys, key)
            waiter = self._waiter
            if key < self._sleeping_until and waiter is not None and not waiter.done():
                waiter.set_result(None)  # due before the task would wake
        else:
            bucket.append(stream)

    def discard(self, stream: RtpStream) -> None:
        self._streams.discard(stream)
        stream.wheel_key = None  # left in its bucket, skipped there

    def grid(self, now: float) -> float:
        """The tick a stream starting now has its slots on: the least busy of the next
        `_SPREAD` ticks (the earliest of equals; `now` itself when the clock is idle), so
        packets wait for no tick and calls answered together do not all send at once."""
        if not self._running():
            return now
        first = self._tick_of(now)
        phases = max(1, round(0.02 / TICK))
        load = [0] * _SPREAD
        for key, bucket in self._wheel.items():
            offset = (key - first) % phases
            if offset < _SPREAD:
                load[offset] += len(bucket)
        best = min(range(_SPREAD), key=load.__getitem__)
        return self.epoch + (first + best) * TICK

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        wheel, keys, streams = self._wheel, self._keys, self._streams
        while streams:
            now = loop.time()
            last = math.floor((now - self.epoch) / TICK + 1e-6)
            while keys and keys[0] <= last:
                key = heapq.heappop(keys)
                bucket = wheel.pop(key)
                if last - key > 1:
                    self.late_ticks += 1
                for stream in bucket:
                    if stream.wheel_key != key:
                        continue  # discarded, or filed again elsewhere
                    if stream.tick(now):
                        self._file(stream, last + 1)
                    else:
                        stream.wheel_key = None
                        streams.discard(stream)
            if not keys:
                break
            self._sleeping_until = keys[0]
            self.next_tick = self.epoch + keys[0] * TICK
            if self.next_tick > loop.time():
                waiter = self._waiter = loop.create_future()
                timer = loop.call_at(self.next_tick, _wake, waiter)
                try:
                    await waiter
                finally:
                    timer.cancel()
                    self._waiter = None
            else:
                await asyncio.sleep(0)  # late: let the loop read and write meanwhile
            self._sleeping_until = math.inf
        streams.clear()

    async def close(self) -> None:
        self._streams.clear()
        self._wheel.clear()
        self._keys.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


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
        self.wheel_key: int | None = None  # the clock's tick this stream waits for
        self._buffer = bytearray(12 + self.samples)  # the packet being sent, reused
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
        t0, ptime, clock = self._t0, self.ptime, self.clock
        assert t0 is not None
        sent = 0
        slot = self._slot
        limit = now + _EARLY
        at = t0 + slot * ptime
        while queue and at <= limit and sent < _MAX_BURST:
            late = now - at
            if late > _ON_TIME:
                clock.packets_late += 1
            else:
                clock.packets_on_time += 1
                if late <= 0.001:
                    clock.packets_within_1ms += 1
            self._send_next(slot)
            sent += 1
            slot += 1
            at = t0 + slot * ptime
        self._slot = slot
        if queue and at < now - _MAX_BURST * ptime:
            # far behind (a stalled loop): resync to the clock instead of bursting
            self._slot = math.ceil((now - t0) / ptime - 1e-9)
            if self.packetizer is not None:
                self.packetizer.mark()
        self.due = t0 + self._slot * ptime
        return bool(queue)

    def _send_next(self, slot: int) -> None:
        """The next packet's audio into the send buffer, its header before it, and out: no
        new bytes per packet in the usual case (a whole packet from one payload, no codec
        change, nothing recording it)."""
        need = self.samples
        buffer = self._buffer
        if len(buffer) != 12 + need:
            buffer = self._buffer = bytearray(12 + need)
        view, pt, _ = self._queue[0]
        offset = self._offset
        packetizer = self.packetizer
        if offset + need < len(view) and packetizer is not None and pt == packetizer.payload_type:
            self._offset = offset + need
            buffer[12:] = view[offset : offset + need]
        else:
            buffer[12:] = self._take_chunk()
        remote = self.remote
        if packetizer is None or remote is None:
            self._held = True  # paced but not sent: the next packet sent starts a talkspurt
            return
        if self._held:
            self._held = False
            packetizer.mark()
        # RtpPacketizer.pack_into, inlined: this runs 50,000 times a second at 1,000 calls
        timestamp = (self._ts0 + slot * need) & 0xFFFFFFFF
        sequence = packetizer.sequence
        if packetizer._marker:
            packetizer._marker = False
            _pack_header(
                buffer,
                0,
                0x80,
                packetizer.payload_type | 0x80,
                sequence,
                timestamp,
                packetizer.ssrc,
            )
        else:
            _pack_header(
                buffer, 0, 0x80, packetizer.payload_type, sequence, timestamp, packetizer.ssrc
            )
        packetizer.sequence = (sequence + 1) & 0xFFFF
        packetizer.timestamp = (timestamp + need) & 0xFFFFFFFF
        packetizer.packets += 1
        if self.on_sent is not None:
            self.on_sent(bytes(buffer[12:]), packetizer.payload_type)
        try:
            self._sock.sendto(buffer, remote)
            self.sent_packets += 1
        except OSError as exc:  # full buffer or ICMP unreachable: drop this packet only
            self.send_errors += 1
            if self.send_errors == 1:
                log.debug("call %s: RTP send to %s failed: %s", self.label, self.remote, exc)

    def _take_chunk(self) -> bytes:
        need = self.samples
        target = self.payload_type
        view, pt, done = self._queue[0]
        offset = self._offset
        if offset + need < len(view):  # a whole packet from one payload
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

    # forward's send buffers, one per packet size, shared by every stream: the header and
    # payload are written into one and sent at once (the socket copies them), no new bytes
    _forward_buffers: ClassVar[dict[int, bytearray]] = {}

    def forward(self, payload: bytes, payload_type: int, timestamp: int, marker: bool) -> bool:
        """Send one packet at once, not paced (a relayed packet: its sender paced it), with
        this stream's SSRC and sequence numbers. Audio is shown to `on_sent` (recording)."""
        packetizer = self.packetizer
        remote = self.remote
        if packetizer is None or remote is None or self._closed:
            return False
        # RtpPacketizer.packet with this payload type, inlined into a reused buffer
        size = 12 + len(payload)
        buffer = self._forward_buffers.get(size)
        if buffer is None:
            buffer = self._forward_buffers[size] = bytearray(size)
        buffer[12:] = payload
        timestamp &= 0xFFFFFFFF
        sequence = packetizer.sequence
        if marker or packetizer._marker:
            packetizer._marker = False
            _pack_header(buffer, 0, 0x80, payload_type | 0x80, sequence, timestamp, packetizer.ssrc)
        else:
            _pack_header(buffer, 0, 0x80, payload_type, sequence, timestamp, packetizer.ssrc)
        packetizer.sequence = (sequence + 1) & 0xFFFF
        packetizer.timestamp = (timestamp + size - 12) & 0xFFFFFFFF
        packetizer.packets += 1
        if self.on_sent is not None and payload_type == packetizer.payload_type:
            self.on_sent(payload, payload_type)
        try:
            self._sock.sendto(buffer, remote)
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
