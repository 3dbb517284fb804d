"""CPU per RTP packet of the media clock's sending and of the relay (issues 11 and 13).

Two measurements, both in this one process on loopback, both in CPU time (`time.process_time`,
so a machine shared with other work gives the same figure; wall-clock timing is not the point):

- `send`: --streams RtpStreams (default 1000) each play 20 ms PCMU packets for --seconds on the
  real `MediaClock` in a running event loop, to one sink socket nobody reads (the kernel drops
  what overflows its buffer, as cheaply for every version of the code). Prints the process's
  CPU per packet sent (the whole loop: clock wake-ups, scheduling, packet building, `sendto`),
  and the share of packets the clock sent within 5 ms and within 1 ms of their slot.
- `relay`: two RtpStreams bridged by an `RtpRelay`; --packets RTP datagrams are handed to the
  first leg's `on_packet` (what the socket reader calls) and relayed out of the second.
  Prints CPU per packet relayed (header rewrite, timestamp mapping, `sendto`).

- `tick`: the send path alone (`RtpStream.tick` called at made-up times for 100 streams, no
  clock task), for an instruction count under callgrind (run it with two --packets values and
  divide the difference by the packets between them).

Usage: python -m benchmarks.bench_rtp_cpu [--mode send|relay|both|tick] [--streams 1000]
       [--seconds 10] [--packets 200000] [--uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

HOST = "127.0.0.1"


def _sink() -> socket.socket:
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind((HOST, 0))
    return sink


async def bench_send(streams_n: int, seconds: float) -> dict[str, Any]:
    from outdial.telephony.sip.media import MediaClock, RtpStream

    sink = _sink()
    clock = MediaClock()
    streams = [RtpStream(clock, HOST, label=str(i)) for i in range(streams_n)]
    payload = b"\xff" * int(8000 * (seconds + 2))
    for stream in streams:
        stream.set_remote(sink.getsockname(), 0)
    loop = asyncio.get_running_loop()
    # started over 20 ms at random-ish moments, as answered calls are
    for i, stream in enumerate(streams):
        stream.play(payload)
        if i % max(1, streams_n // 20) == 0:
            await asyncio.sleep(0.001)
    await asyncio.sleep(1.0)  # settle
    sent0 = sum(s.sent_packets for s in streams)
    on0, late0 = clock.packets_on_time, clock.packets_late
    near0 = getattr(clock, "packets_within_1ms", None)
    cpu0, wall0 = time.process_time(), loop.time()
    await asyncio.sleep(seconds)
    cpu1, wall1 = time.process_time(), loop.time()
    sent = sum(s.sent_packets for s in streams) - sent0
    on, late = clock.packets_on_time - on0, clock.packets_late - late0
    near = getattr(clock, "packets_within_1ms", None)
    for stream in streams:
        stream.close()
    await clock.close()
    sink.close()
    out: dict[str, Any] = {
        "streams": streams_n,
        "packets_sent": sent,
        "cpu_s": round(cpu1 - cpu0, 3),
        "wall_s": round(wall1 - wall0, 3),
        "cpu_us_per_packet": round(1e6 * (cpu1 - cpu0) / max(1, sent), 2),
        "core_share_pct": round(100 * (cpu1 - cpu0) / (wall1 - wall0), 1),
        "sent_within_5ms_pct": round(100 * on / max(1, on + late), 2),
    }
    if near is not None and near0 is not None:
        out["sent_within_1ms_pct"] = round(100 * (near - near0) / max(1, on + late), 2)
    return out


async def bench_relay(packets: int) -> dict[str, Any]:
    from outdial.telephony.sip.media import MediaClock, RtpStream
    from outdial.telephony.sip.relay import RtpRelay

    sink = _sink()
    clock = MediaClock()
    a, b = RtpStream(clock, HOST, label="a"), RtpStream(clock, HOST, label="b")
    a.set_remote(sink.getsockname(), 0)
    b.set_remote(sink.getsockname(), 0)
    relay = RtpRelay(a, 101, b, 101)
    relay.start()
    head = struct.Struct("!BBHII")
    payload = b"\xff" * 160
    datagrams = [
        head.pack(0x80, 0, i & 0xFFFF, (i * 160) & 0xFFFFFFFF, 0x1234) + payload
        for i in range(1000)
    ]
    on_packet = a.on_packet
    assert on_packet is not None
    cpu0 = time.process_time()
    for i in range(packets):
        on_packet(datagrams[i % 1000])
    cpu1 = time.process_time()
    forwarded = relay.a_to_b.forwarded
    relay.stop()
    a.close()
    b.close()
    await clock.close()
    sink.close()
    return {
        "packets": packets,
        "forwarded": forwarded,
        "cpu_s": round(cpu1 - cpu0, 3),
        "cpu_us_per_packet": round(1e6 * (cpu1 - cpu0) / max(1, packets), 2),
    }


async def bench_tick(streams_n: int, packets: int) -> dict[str, Any]:
    """The send path alone, no clock task: each stream's `tick` called at its slots on a
    made-up time, so a run's instruction count (callgrind) is the same on any machine."""
    from outdial.telephony.sip.media import MediaClock, RtpStream

    sink = _sink()
    clock = MediaClock()
    streams = [RtpStream(clock, HOST) for _ in range(streams_n)]
    for stream in streams:
        stream.set_remote(sink.getsockname(), 0)
        stream.play(b"\xff" * (160 * (packets // streams_n + 2)))
    await clock.close()  # the task is not needed: ticks are driven below
    t0 = min(stream.due for stream in streams)
    cpu0 = time.process_time()
    for n in range(packets // streams_n):
        now = t0 + 0.02 * n + 0.0001
        for stream in streams:
            stream.tick(now)
    cpu1 = time.process_time()
    sent = sum(s.sent_packets for s in streams)
    for stream in streams:
        stream.close()
    sink.close()
    return {
        "packets_sent": sent,
        "cpu_us_per_packet": round(1e6 * (cpu1 - cpu0) / max(1, sent), 2),
    }


async def main(mode: str, streams: int, seconds: float, packets: int) -> None:
    print(f"load average (1 min): {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if mode == "tick":
        print("tick:", await bench_tick(min(streams, 100), packets))
    if mode in ("send", "both"):
        print("send:", await bench_send(streams, seconds))
    if mode in ("relay", "both"):
        print("relay:", await bench_relay(packets))


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["send", "relay", "both", "tick"], default="both")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--packets", type=int, default=200_000)
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args()
    runner: Callable[..., Any] = asyncio.run
    if args.uvloop:
        import uvloop

        runner = uvloop.run
    runner(main(args.mode, args.streams, args.seconds, args.packets))


if __name__ == "__main__":
    cli()
