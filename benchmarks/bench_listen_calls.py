"""Calls that listen, at scale: N concurrent answered SIP calls whose far ends talk back, each
analysed live (jitter buffer, AMD, in-band DTMF, RFC 4733 keys), while outdial keeps sending
its own audio. Loopback only.

The far end is the answering peer (SPEC 5 number plan) in a child process: a third of the
calls go to 777 (an answering machine: greeting, beep), a third to 778 (a person: "Hello?"),
a third to 776 (a person who presses the number's 4th digit as RFC 4733 events). Each call
runs `amd` (async) then `sleep` for --hold-ms, so outdial sends silence over RTP all along.

Printed: the calls answered, AMD results against the plan, the keys heard, the share of the
packets outdial sent within 5 ms of their 20 ms slot (its media clock's own count), the
listening tick's frames, this process's and the peer's CPU (user+system) and the load
average (the machine is shared: a loaded machine delays every process's packets).

Usage: python -m benchmarks.bench_listen_calls [--calls 300] [--hold-ms 10000] [--no-listen]
       python -m benchmarks.bench_listen_calls --calls 5 --hold-ms 4000   (a smoke run)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

from outdial.domain.address import Address, AddressType
from outdial.domain.netpolicy import NetworkPolicy
from outdial.domain.numberplan import listening_for
from outdial.telephony.base import CallRequest
from outdial.telephony.sip import SipAnsweringPeer, SipConfig, SipTelephony

HOST = "127.0.0.1"
LOOPBACK = NetworkPolicy.from_text("127.0.0.0/8")


async def run_peer() -> None:
    """Child mode: the answering peer, its port on stdout, until stdin closes."""
    peer = SipAnsweringPeer(HOST, 0, ring_ms=200)
    await peer.start()
    print(peer.port, flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await peer.stop()


def numbers(calls: int) -> list[str]:
    out = []
    for i in range(calls):
        prefix = ("777", "778", "776")[i % 3]
        out.append(f"+{prefix}{(i % 10)}{i:06d}")
    return out


def child_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a running child, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def switch_off_listening() -> None:
    """Baseline: the same calls with no analysis (packets received and dropped, no ticks)."""
    from outdial.telephony.sip import listening

    listening.Ears.add = lambda self, ear: None  # type: ignore[method-assign]
    listening.CallEar.on_packet = lambda self, data: None  # type: ignore[method-assign]


async def run(calls: int, hold_ms: int) -> dict[str, object]:
    child = subprocess.Popen(  # noqa: ASYNC220 - the far end, started once before the calls
        [sys.executable, "-m", "benchmarks.bench_listen_calls", "--peer"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        config = SipConfig((HOST, port), (HOST, 0), "", "", 500, network=LOOPBACK)
        tel = SipTelephony(config)
        await tel.start()
        actions = [
            {"type": "amd", "option": {"machine_handle": "continue", "async": True}},
            {"type": "sleep", "option": {"duration": hold_ms}},
        ]

        async def answered() -> None:
            return None

        dialed = numbers(calls)
        requests = [
            CallRequest(
                uuid.uuid4(),
                Address(AddressType.TEL, "+15550000000"),
                Address(AddressType.TEL, n),
                30_000,
                actions,
            )
            for n in dialed
        ]
        cpu0, wall0, peer_cpu0 = cpu(), time.monotonic(), child_cpu(child.pid)
        outcomes = await asyncio.gather(*(tel.place_call(r, answered) for r in requests))
        cpu_s, wall_s = cpu() - cpu0, time.monotonic() - wall0
        peer_cpu_s = child_cpu(child.pid) - peer_cpu0
        clock, ears = tel.clock, tel.env.ears if tel.env else None
        await tel.stop()
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=30)
    amd = Counter()
    keys_ok = keys_total = 0
    for number, outcome in zip(dialed, outcomes, strict=True):
        plan = listening_for(number)
        amd[(plan.amd, outcome.amd_result)] += 1
        if plan.key:
            keys_total += 1
            keys_ok += outcome.digits == plan.key
    sent = clock.packets_on_time + clock.packets_late
    correct = sum(n for (want, got), n in amd.items() if want == got)
    return {
        "calls": calls,
        "answered": sum(o.answered for o in outcomes),
        "amd_correct": correct,
        "amd_matrix": {f"{want}->{got or 'none'}": n for (want, got), n in sorted(amd.items())},
        "keys_heard": f"{keys_ok}/{keys_total}",
        "sent_packets": sent,
        "sent_within_5ms_pct": round(100 * clock.packets_on_time / sent, 2) if sent else None,
        "listen_frames": ears.frames if ears else 0,
        "listen_ticks": ears.ticks if ears else 0,
        "cpu_s": round(cpu_s, 2),
        "peer_cpu_s": round(peer_cpu_s, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "wall_s": round(wall_s, 2),
        "cpu_ms_per_call_second": round(1000 * cpu_s / (calls * max(wall_s, 1e-9)), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--hold-ms", type=int, default=10_000)
    parser.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-listen", action="store_true", help="baseline: no analysis")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.peer:
        asyncio.run(run_peer())
        return
    if args.no_listen:
        switch_off_listening()
    result = asyncio.run(run(args.calls, args.hold_ms))
    print(json.dumps({"phase": "baseline" if args.no_listen else "listen", **result}))


if __name__ == "__main__":
    main()
