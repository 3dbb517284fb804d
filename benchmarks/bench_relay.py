"""RTP relay benchmark (issue 13): N calls bridged to agents at once through outdial, on loopback.

This process runs outdial's SipTelephony and places --calls calls (default 200), each to a
callee whose first action is `connect` to an agent. A second process (this file with --peer)
answers both legs over SIP (`SipAnsweringPeer`) and is the RTP far end of all of them: every
callee and every agent sends one 172-byte PCMU packet every 20 ms (phases spread over the 20 ms,
as independent phones would be), each carrying its send time. Every packet the peer receives
came through outdial's relay from the other leg (outdial plays nothing during a bridge); its
delay is the kernel's receive timestamp (SO_TIMESTAMPNS) minus the send time, both taken in
the peer process: two loopback hops plus outdial's queueing and forwarding, not the peer's own
scheduling. Packets sent in the steady window (all calls connected, --seconds long) count.

Prints the delay distribution (p50/p90/p99/p99.9/max), the share within 5 ms, packets lost,
and outdial's CPU time. It measures and prints; it asserts nothing.

`--processes N` shares the calls among N outdial processes (as N `outdial engine`s on one host
would share a campaign's calls); CPU is the sum over them.

Usage: python -m benchmarks.bench_relay [--calls 200] [--seconds 20] [--media-priority realtime]
       [--processes 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

HOST = "127.0.0.1"
MAGIC = b"ODRB"
_STAMP = struct.Struct("!4sIq")  # magic, call index, send time (ns, CLOCK_REALTIME)
PTIME = 0.02
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; Python 3.11 lacks the name
SPREAD_TICK = 0.002  # the sender wakes every 2 ms and sends the streams whose phase is due


# -- the peer process ---------------------------------------------------------------------


async def peer_main(seconds: float, calls: int) -> None:
    from outdial.telephony.sip import SipAnsweringPeer
    from outdial.telephony.sip.peer import PeerCall

    loop = asyncio.get_running_loop()
    streams: list[tuple[PeerCall, socket.socket, tuple[str, int], int]] = []
    delays: list[tuple[int, int]] = []  # (send ns, delay ns)
    sent_at: dict[int, int] = {}  # per stream index: packets sent in the window
    window: list[int] = [0, 0]  # ns: start, end of the steady window (0: not yet)
    connected = asyncio.Event()

    def reader(sock: socket.socket) -> None:
        for _ in range(64):
            try:
                data, anc, _, _ = sock.recvmsg(2048, 64)
            except (BlockingIOError, InterruptedError):
                return
            if len(data) < 12 + _STAMP.size or data[12:16] != MAGIC:
                continue
            arrived = 0
            for level, kind, value in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", value[:16])
                    arrived = sec * 1_000_000_000 + nsec
            _, _, sent = _STAMP.unpack_from(data, 12)
            if window[0] and window[0] <= sent <= window[1]:
                delays.append((sent, (arrived or time.time_ns()) - sent))

    class Peer(SipAnsweringPeer):
        async def _talk(self, call: PeerCall) -> None:
            stream = call.stream
            if stream is None or stream.remote is None:
                return
            sock = stream._sock  # the benchmark takes the socket over: its own reader
            loop.remove_reader(sock.fileno())
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            loop.add_reader(sock.fileno(), reader, sock)
            streams.append((call, sock, stream.remote, len(streams)))
            if len(streams) == 2 * calls:
                connected.set()

    peer = Peer(HOST, 0, ring_ms=20, t1_ms=500)
    await peer.start()
    print(json.dumps({"port": peer.port}), flush=True)

    async def send_all() -> None:
        filler = b"\xff" * (160 - _STAMP.size)
        due: dict[int, float] = {}  # per stream: when its next packet is due (loop time)
        sequence: dict[int, int] = {}
        phases = int(PTIME / SPREAD_TICK)
        while True:
            now = loop.time()
            for call, sock, remote, index in streams:
                if call.bye_received:
                    continue
                at = due.get(index)
                if at is None:  # a new stream: its phase in the 20 ms
                    at = now + (index % phases) * SPREAD_TICK
                if at > now + 0.0005:
                    due[index] = at
                    continue
                due[index] = at + PTIME if at + PTIME > now else now + PTIME
                seq = sequence.get(index, 0)
                sequence[index] = seq + 1
                stamp = time.time_ns()
                head = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF,
                                   index + 1)  # fmt: skip
                try:
                    sock.sendto(head + _STAMP.pack(MAGIC, index, stamp) + filler, remote)
                except OSError:
                    continue
                if window[0] and window[0] <= stamp <= window[1]:
                    sent_at[index] = sent_at.get(index, 0) + 1
            await asyncio.sleep(SPREAD_TICK)

    sender = loop.create_task(send_all())
    await asyncio.wait_for(connected.wait(), 120)
    await asyncio.sleep(1.0)  # settle after the set-up burst
    window[0] = time.time_ns()
    window[1] = window[0] + int(seconds * 1e9)
    await asyncio.sleep(seconds + 0.5)
    print(json.dumps({"connected": len(streams)}), flush=True)
    sent_total = sum(sent_at.values())
    print(json.dumps(_stats([d for _, d in delays], sent_total)), flush=True)
    sender.cancel()
    # the main process hangs up; wait for the BYEs before closing
    await asyncio.sleep(float(os.environ.get("BENCH_RELAY_LINGER", "3")))
    await peer.stop()


def _stats(delays_ns: list[int], sent: int) -> dict[str, Any]:
    if not delays_ns:
        return {"received": 0, "sent": sent}
    ordered = sorted(delays_ns)
    n = len(ordered)

    def pct(p: float) -> float:
        return round(ordered[min(n - 1, int(p / 100 * n))] / 1e6, 3)

    within = sum(1 for d in ordered if d <= 5_000_000)
    return {
        "sent": sent, "received": n, "lost": max(0, sent - n),
        "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99), "p99_9_ms": pct(99.9),
        "max_ms": round(ordered[-1] / 1e6, 3), "within_5ms_pct": round(100 * within / n, 3),
    }  # fmt: skip


# -- outdial ------------------------------------------------------------------------------


async def bridge_calls(port: int, first: int, count: int) -> tuple[Any, list[Any]]:
    """One outdial process's calls: `count` calls from index `first`, each bridged to an agent
    at the peer on `port`. Returns the telephony and the calls' tasks."""
    from outdial.domain.address import Address, AddressType
    from outdial.domain.netpolicy import NetworkPolicy
    from outdial.telephony.base import CallRequest
    from outdial.telephony.sip import SipConfig, SipTelephony

    config = SipConfig(None, (HOST, 0), "", "", 500,
                       network=NetworkPolicy.from_text("127.0.0.0/8"))  # fmt: skip
    tel = SipTelephony(config)
    await tel.start()

    async def one(i: int) -> Any:
        agent = {"type": "sip", "target": f"5552{i:04d}@{HOST}:{port}"}
        request = CallRequest(
            uuid.uuid4(), Address(AddressType.TEL, "+15550000000"),
            Address(AddressType.SIP, f"5551{i:04d}@{HOST}:{port}"), 30_000,
            [{"type": "connect", "option": {"destinations": [agent]}}],
        )  # fmt: skip
        return await tel.place_call(request, _nothing)

    return tel, [asyncio.create_task(one(i)) for i in range(first, first + count)]


async def worker_main(port: int, first: int, count: int) -> None:
    """`--processes N`: one more outdial process's share of the calls; it hangs them up when
    its standard input closes and prints its CPU seconds."""
    logging.basicConfig(level=logging.WARNING)
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    tel, tasks = await bridge_calls(port, first, count)
    await asyncio.to_thread(sys.stdin.read)  # until the parent closes it
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await tel.stop()
    cpu = (usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime)
    print(json.dumps({"cpu": cpu}), flush=True)


async def main(
    calls: int, seconds: float, processes: int = 1, media_priority: str = "normal"
) -> None:
    logging.basicConfig(level=logging.WARNING)
    env = {**os.environ, "BENCH_RELAY_LINGER": str(2 + calls / 50)}  # for the BYEs
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.bench_relay", "--peer", "--calls", str(calls),
        "--seconds", str(seconds), stdout=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    port = json.loads(await proc.stdout.readline())["port"]
    n = max(1, processes)
    shares = [calls // n + (i < calls % n) for i in range(n)]
    firsts = [sum(shares[:i]) for i in range(n)]
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.bench_relay",
            "--worker",
            str(port),
            "--first",
            str(firsts[i]),
            "--calls",
            str(shares[i]),
            "--media-priority",
            media_priority,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        for i in range(1, n)
    ]
    load0 = os.getloadavg()[0]
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    wall0 = time.perf_counter()
    tel, tasks = await bridge_calls(port, 0, shares[0])
    lines = [await proc.stdout.readline() for _ in range(2)]
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    wall1 = time.perf_counter()
    for task in tasks:
        task.cancel()  # ends both legs of every call (BYE)
    worker_cpu = 0.0
    for worker in workers:
        out, _ = await worker.communicate(b"")
        worker_cpu += float(json.loads(out.decode().strip().splitlines()[-1])["cpu"])
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    await tel.stop()
    await asyncio.wait_for(proc.wait(), 30)
    connected = json.loads(lines[0])["connected"]
    stats = json.loads(lines[1])
    cpu = (usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime) + worker_cpu
    failed = [o for o in outcomes if not isinstance(o, asyncio.CancelledError)]
    print(f"bridged calls: {calls} in {n} outdial process(es), priority {media_priority} "
          f"(legs answered and sending: {connected}/{2 * calls}); "
          f"calls that ended early: {len(failed)}")  # fmt: skip
    print(f"steady window: {seconds:g} s; packets sent {stats.get('sent')}, "
          f"relayed and received {stats.get('received')}, lost {stats.get('lost')}")  # fmt: skip
    print("forwarding delay (sender's send to receiver's kernel, through outdial), ms: "
          f"p50 {stats.get('p50_ms')}  p90 {stats.get('p90_ms')}  p99 {stats.get('p99_ms')}  "
          f"p99.9 {stats.get('p99_9_ms')}  max {stats.get('max_ms')}")  # fmt: skip
    print(f"within 5 ms: {stats.get('within_5ms_pct')} %")
    load1 = os.getloadavg()[0]
    print(f"machine load average (1 min) at the start / end: {load0:.1f} / {load1:.1f} "
          f"on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"outdial CPU: {cpu:.1f} s over {wall1 - wall0:.1f} s wall "
          f"({100 * cpu / (wall1 - wall0):.0f} % of one core, all its processes, set-up "
          "included)")  # fmt: skip


async def _nothing() -> None:
    return None


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--media-priority",
        choices=["normal", "high", "realtime"],
        default="normal",
        help="outdial's process priority, as `outdial engine --media-priority` sets it "
        "(the peer it starts runs at normal priority)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="outdial processes sharing the calls (as N `outdial engine`s on one host would)",
    )
    parser.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    runner: Callable[..., Any] = asyncio.run
    try:
        import uvloop  # the service's loop when installed

        runner = uvloop.run
    except ImportError:
        pass
    if args.peer:
        runner(peer_main(args.seconds, args.calls))
    else:
        from outdial.priority import MediaPriority, apply

        apply(MediaPriority(args.media_priority))
        if args.worker is not None:
            runner(worker_main(args.worker, args.first, args.calls))
        else:
            runner(main(args.calls, args.seconds, args.processes, args.media_priority))


if __name__ == "__main__":
    cli()
