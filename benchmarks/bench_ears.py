"""CPU of the listening path and of the relay path, per call, without the network around them.

What `bench_relay` and `sip_bench --phases hold` spend outside the kernel, measured as the
process's CPU time (`time.process_time`), so other processes on a shared machine slow the
figures down less than they slow a wall-clock benchmark:

- listening: N calls' `CallEar`s fed one RTP packet each per 20 ms (or none), then one
  `Ears.tick` over all of them in chunks of 20, as the 20 ms task does; after a warm-up of
  4 s of audio (AMD has decided by then). The far end: `never` (sends nothing: the
  one-way calls of `sip_bench`), `silence` (packets of G.711 silence), `stamped` (packets of
  `bench_relay`'s kind: a 16-byte stamp, silence after it), `noise` (random codes);
- relay: one relayed packet through `Direction.relay` and `RtpStream.forward` to a UDP
  socket on loopback (the send included; the receive is not).

Prints µs of CPU per call per 20 ms and the share of one core N calls take. It asserts
nothing. Usage: python -m benchmarks.bench_ears [--calls 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import struct
import time

import numpy as np

from outdial.telephony.sip.listening import CallEar, Ears
from outdial.telephony.sip.media import MediaClock, RtpStream
from outdial.telephony.sip.relay import Direction
from outdial.telephony.sip.rtp import RtpPacketizer

STEP = 0.02
WARM = 200  # frames (4 s): AMD has decided
KINDS = ("never", "silence", "stamped", "noise")


def payloads(kind: str, calls: int, frames: int) -> list[list[bytes]] | None:
    if kind == "never":
        return None
    if kind == "silence":
        return [[b"\xff" * 160] * calls for _ in range(frames)]
    if kind == "stamped":
        return [
            [b"ODRB" + struct.pack("!Iq", i, 10**18 + k) + b"\xff" * 144 for i in range(calls)]
            for k in range(frames)
        ]
    rng = np.random.default_rng(1)
    return [[bytes(rng.integers(0, 256, 160, dtype=np.uint8)) for _ in range(calls)]
            for _ in range(frames)]  # fmt: skip


async def listening(kind: str, calls: int, frames: int) -> tuple[float, float]:
    """CPU seconds in `CallEar.on_packet` and in `Ears.tick` over the measured frames."""
    data = payloads(kind, calls, WARM + frames)
    now = [0.0]
    ears = [CallEar(lambda _: None, label=str(i)) for i in range(calls)]
    for ear in ears:
        ear._time = lambda: now[0]
        ear.started_at = 0.0
    packetizers = [RtpPacketizer(0, ssrc=i + 1) for i in range(calls)]
    packets = [
        [packetizers[i].packet(p) for i, p in enumerate(row)] for row in (data or [])
    ]  # built before the clock runs
    tick = Ears()
    receive = analyse = 0.0
    for k in range(WARM + frames):
        now[0] = k * STEP + 0.001
        if k == WARM:
            receive = analyse = 0.0
        t0 = time.process_time()
        if packets:
            for ear, datagram in zip(ears, packets[k], strict=True):
                ear.on_packet(datagram)
        t1 = time.process_time()
        for start in range(0, calls, 20):
            tick.tick(ears[start : start + 20], now[0])
        t2 = time.process_time()
        receive += t1 - t0
        analyse += t2 - t1
    for ear in ears:
        ear.close()
    return receive, analyse


async def relaying(count: int) -> float:
    """CPU seconds of `count` packets through `Direction.relay` (the send included)."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setblocking(False)
    stream = RtpStream(MediaClock(), "127.0.0.1")
    stream.set_remote(sink.getsockname(), 0)
    stream.start_clock()
    way = Direction(stream, 101, 101)
    source = RtpPacketizer(0, ssrc=77)
    datagrams = [source.packet(b"\x55" * 160) for _ in range(1000)]
    spent = 0.0
    for _ in range(0, count, 1000):
        t0 = time.process_time()
        for data in datagrams:
            way.relay(data)
        spent += time.process_time() - t0
        while True:  # empty the sink (not measured)
            try:
                sink.recv(2048)
            except BlockingIOError:
                break
    stream.close()
    sink.close()
    return spent


async def main(calls: int, seconds: float) -> None:
    frames = int(seconds / STEP)
    print(f"calls: {calls}, measured: {frames} frames each ({seconds:g} s of audio), "
          f"load average (1 min) {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    per = calls * frames
    for kind in KINDS:
        receive, analyse = await listening(kind, calls, frames)
        print(f"listening, far end {kind:8s}: receive {1e6 * receive / per:6.2f} µs, "
              f"tick {1e6 * analyse / per:6.2f} µs per call-frame; {calls} calls: "
              f"{100 * (receive + analyse) / seconds:5.1f} % of one core")  # fmt: skip
    count = 50_000
    spent = await relaying(count)
    print(f"relay: {1e6 * spent / count:.2f} µs per packet (send included); {calls} bridged "
          f"calls (2 x 50 packets/s each): {100 * spent / count * calls * 100:.1f} % of one "
          f"core")  # fmt: skip
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.seconds))


if __name__ == "__main__":
    cli()
