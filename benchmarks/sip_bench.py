"""SIP benchmark: outdial's SipTelephony against sipp as the far end, on loopback only.

Phases (each prints its figures):
  1. rate:    call set-ups per second sustained for --duration seconds (default 60) at --rate
              (default 100) against a sipp UAS; each answered call plays --hold-ms of audio
              (default 1000) over RTP, then hangs up.
  2. hold:    --concurrent answered calls at once (default 300), each playing --concurrent-hold-ms
              of audio (default 20000); a separate sink process counts the RTP each call's
              port delivered to the address in sipp's SDP answer. `--processes N` shares the
              calls among N outdial processes (as N `outdial engine`s on one host would), and
              `--media-priority` sets their priority (`outdial engine --media-priority`).
  3. sipp:    the same flow (INVITE, 200, ACK, pause, BYE) driven by `sipp -sn uac` at --rate
              for --duration seconds, for comparison (sipp sends no RTP here).
Misclassified = any outcome other than normal/200. CPU is this process's user+system time.

Usage: python -m benchmarks.sip_bench [--duration 60] [--rate 100] [--concurrent 300]
       python -m benchmarks.sip_bench --quick     (10 s, 100 calls at once: a smoke run)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from outdial.domain.address import Address, AddressType
from outdial.domain.netpolicy import NetworkPolicy
from outdial.domain.outcome import CallOutcome, HangupReason
from outdial.priority import MediaPriority
from outdial.priority import apply as apply_priority
from outdial.telephony.base import CallRequest
from outdial.telephony.sip import SipConfig, SipTelephony

HOST = "127.0.0.1"
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux: the kernel's arrival time
TIMESPEC = struct.Struct("@qq")
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
LOOPBACK = NetworkPolicy.from_text("127.0.0.0/8,::1/128")  # the far ends: loopback only


def free_port() -> int:
    """A port that was free a moment ago: only for processes started through `Sipp.start`,
    which starts them again on other ports if someone took this one meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def owns_udp_port(pid: int, port: int) -> bool:
    """Whether process `pid` itself holds a UDP socket on `port` (Linux: /proc)."""
    try:
        fd_dir = Path(f"/proc/{pid}/fd")
        links = {os.readlink(fd_dir / fd) for fd in os.listdir(fd_dir)}
    except OSError:
        return False
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and f"socket:[{fields[9]}]" in links:
            return True
    return False


def tcp_port_taken(port: int) -> bool:
    """Whether someone listens on TCP `port` (SIPp over TCP: its socket is not in /proc/net/udp)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return True
    return False


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_sink(port: int, out: str) -> None:
    """Child process mode: count RTP packets per source port until SIGTERM, then write JSON.

    It also times each packet against its slot: the arrival time less the RTP timestamp's
    time (timestamp / 8000), taken relative to the earliest packet of the call; so a packet
    that arrived 5 ms later than the stream's best packet is 5 ms off its 20 ms slot. The
    arrival time is the kernel's (SO_TIMESTAMPNS, stamped when the datagram reached the
    socket), so a sink that reads late on a busy machine does not count as lateness of the
    sender; where the option is missing it is the time of the read."""
    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    counts: Counter[int] = Counter()
    offsets: dict[int, list[float]] = {}
    clock = time.monotonic
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024 * 1024)
        with contextlib.suppress(OSError):  # root: past net.core.rmem_max, so that a sink the
            # machine's load keeps waiting loses no packet (64 MB: 3 s of 1,000 calls)
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 * 1024 * 1024)
        sock.bind((HOST, port))
        sock.settimeout(0.2)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            stamped = True
        except OSError:
            stamped = False
        space = socket.CMSG_SPACE(16)
        print("ready", sock.getsockname()[1], flush=True)
        while not stop:
            try:
                data, ancillary, _, addr = sock.recvmsg(2048, space)
            except (TimeoutError, InterruptedError):
                continue
            now = clock() if not stamped else -1.0
            for level, kind, cdata in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(cdata) >= 16:
                    seconds, nanoseconds = TIMESPEC.unpack_from(cdata)
                    now = seconds + nanoseconds / 1e9
            if now < 0:
                now = time.time()
            source = addr[1]
            counts[source] += 1
            ts = int.from_bytes(data[4:8], "big")
            offsets.setdefault(source, []).append(now - ts / 8000)
    within = total = 0
    devs: list[float] = []
    for values in offsets.values():
        base = min(values)  # (timestamps of one call do not wrap within a benchmark)
        for value in values:
            dev = value - base
            devs.append(dev)
            within += dev <= 0.005
            total += 1
    devs.sort()
    summary = {
        "counts": counts, "within_5ms": within, "total": total,
        "p99_ms": round(1000 * devs[int(0.99 * (len(devs) - 1))], 2) if devs else None,
        "max_ms": round(1000 * devs[-1], 2) if devs else None,
        "cpu_s": time.process_time(),
    }  # fmt: skip
    Path(out).write_text(json.dumps(summary))


class Sipp:
    """A sipp process on its own ports: `argv(port)` builds its command line for a SIP port."""

    def __init__(self, argv: Callable[[int], list[str]]) -> None:
        self.argv = argv
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.cpu = 0.0

    def start(self, tries: int = 5) -> int:
        """Start on a free port; on a conflict (sipp exits before it holds its port), start
        again on other ports. Returns the SIP port."""
        for _ in range(tries):
            self.port = free_port()
            argv = self.argv(self.port)
            self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            tcp = "t1" in argv
            deadline = time.monotonic() + 10
            while self.proc.poll() is None and time.monotonic() < deadline:
                if tcp_port_taken(self.port) if tcp else owns_udp_port(self.proc.pid, self.port):
                    return self.port
                time.sleep(0.02)
            if self.proc.poll() is None:
                break  # neither bound nor gone: not a port conflict
        raise RuntimeError(f"sipp did not start: {self.argv(self.port)}")

    def stop(self) -> int:
        assert self.proc is not None
        self.cpu = proc_cpu(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def sipp_uas(scenario: Path, workdir: Path, transport: str = "udp") -> Sipp:
    return Sipp(lambda port: [
        "sipp", "-sf", str(scenario), "-i", HOST, "-p", str(port), "-mp", str(free_port()),
        "-t", "t1" if transport == "tcp" else "u1",
        # a retransmitted INVITE (our timer A when the machine is busy) must not abort the
        # call in SIPp's strict scenario; larger socket buffers for bursts
        "-default_behaviors", "all,-abortunexp", "-buff_size", str(8 * 1024 * 1024),
        "-nostdin", "-cp", str(free_port()), "-timeout", "900s", "-max_recv_loops", "10000",
        "-trace_stat", "-stf", str(workdir / f"uas-{port}.csv"), "-fd", "1",
    ])  # fmt: skip


def sipp_stat(path: Path) -> dict[str, str]:
    """The last line of sipp's -trace_stat CSV as a dict."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    header = lines[0].split(";")
    return dict(zip(header, lines[-1].split(";"), strict=False))


@dataclass
class Tally:
    placed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    misclassified: int = 0
    errors: int = 0

    def add(self, outcome: CallOutcome | BaseException) -> None:
        if isinstance(outcome, BaseException):
            self.errors += 1
            return
        self.outcomes[f"{outcome.reason.value}/{outcome.sip_code}"] += 1
        if outcome.reason is not HangupReason.NORMAL or outcome.sip_code != 200:
            self.misclassified += 1

    @property
    def answered(self) -> int:
        return self.outcomes["normal/200"]


def request(port: int, hold_ms: int, transport: str = "udp") -> CallRequest:
    host = "localhost" if transport == "tls" else HOST
    params = "" if transport == "udp" else f";transport={transport}"
    return CallRequest(
        uuid.uuid4(), Address(AddressType.TEL, "+15550000000"),
        Address(AddressType.SIP, f"bench@{host}:{port}{params}"), 10_000,
        [{"type": "sleep", "option": {"duration": hold_ms}}] if hold_ms else [],
    )  # fmt: skip


async def no_op() -> None:
    return None


async def place_at_rate(
    tel: SipTelephony, port: int, rate: float, count: int, hold_ms: int, transport: str = "udp"
) -> tuple[Tally, list[CallRequest], float]:
    loop = asyncio.get_running_loop()
    tally = Tally()
    tasks: list[asyncio.Task[CallOutcome]] = []
    requests: list[CallRequest] = []
    start = loop.time()
    for i in range(count):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        req = request(port, hold_ms, transport)
        requests.append(req)
        tasks.append(loop.create_task(tel.place_call(req, no_op)))
        tally.placed += 1
    launch_seconds = loop.time() - start
    for result in await asyncio.gather(*tasks, return_exceptions=True):
        tally.add(result)
    return tally, requests, launch_seconds


class TlsPeer:
    """The far end for TLS (this SIPp has no TLS): outdial's own answering peer in a child
    process, with a certificate made by openssl for `localhost`."""

    def __init__(self, workdir: Path) -> None:
        key, cert = workdir / "peer.key", workdir / "peer.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
             "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost"],
            check=True, capture_output=True,
        )  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--tls-peer", str(workdir)], stdout=subprocess.PIPE
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self.cpu = 0.0

    def stop(self) -> None:
        self.cpu = proc_cpu(self.proc.pid)
        self.proc.terminate()
        self.proc.wait(10)


def run_tls_peer(workdir: str) -> None:
    import ssl

    from outdial.telephony.sip import SipAnsweringPeer

    async def serve() -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(Path(workdir, "peer.pem"), Path(workdir, "peer.key"))
        peer = SipAnsweringPeer(HOST, 0, ring_ms=100, tls=ctx)
        await peer.start()
        print(peer.tls_port, flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await peer.stop()

    asyncio.run(serve())


async def phase_rate(args: argparse.Namespace, scenario: Path, workdir: Path) -> dict[str, object]:
    transport = args.transport
    far: Sipp | TlsPeer
    if transport == "tls":
        far = TlsPeer(workdir)
        port = far.port
    else:
        far = sipp_uas(scenario, workdir, transport)
        port = far.start()
    config = SipConfig(
        None, (HOST, 0), "", "", cache_dir=workdir / "tts", network=LOOPBACK,
        tls_no_verify=frozenset({"localhost"}),
    )  # fmt: skip
    tel = SipTelephony(config)
    await tel.start()
    count = int(args.rate * args.duration)
    cpu0, wall0 = time.process_time(), time.monotonic()
    tally, _, launch = await place_at_rate(tel, port, args.rate, count, args.hold_ms, transport)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    connections = tel.transport.pool.opened
    await tel.stop()
    await asyncio.sleep(0.5)
    far.stop()
    stat = {} if transport == "tls" else sipp_stat(workdir / f"uas-{port}.csv")
    return {
        "phase": "rate", "transport": transport, "connections_opened": connections,
        "target_cps": args.rate, "duration_s": args.duration, "hold_ms": args.hold_ms,
        "placed": tally.placed, "answered": tally.answered, "misclassified": tally.misclassified,
        "errors": tally.errors, "outcomes": dict(tally.outcomes),
        "achieved_cps": round(tally.placed / launch, 1), "wall_s": round(wall, 1),
        "our_cpu_s": round(cpu, 1), "our_cpu_pct": round(100 * cpu / wall, 1),
        "cpu_ms_per_call": round(1000 * cpu / max(1, tally.placed), 2),
        "far_end_cpu_s": round(far.cpu, 1),
        "sipp_successful": stat.get("SuccessfulCall(C)"), "sipp_failed": stat.get("FailedCall(C)"),
    }  # fmt: skip


def start_sink(scenario: Path, workdir: Path) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """The RTP sink process, and a copy of the scenario whose SDP answer points at it."""
    sink_out = workdir / "sink.json"
    sink = subprocess.Popen(
        [sys.executable, __file__, "--rtp-sink", "0", "--sink-out", str(sink_out)],
        stdout=subprocess.PIPE,
    )
    assert sink.stdout is not None
    sink_port = int(sink.stdout.readline().split()[1])  # "ready PORT": it bound port 0
    held = workdir / "uas_answer_sink.xml"
    held.write_text(scenario.read_text().replace("[media_port]", str(sink_port)))
    return sink, sink_out, held


async def phase_hold(args: argparse.Namespace, scenario: Path, workdir: Path) -> dict[str, object]:
    sink, sink_out, held = start_sink(scenario, workdir)
    uas = sipp_uas(held, workdir)
    try:
        return await _hold(args, workdir, sink, sink_out, uas)
    finally:  # on any failure too: no sipp or sink left behind
        for proc in (sink, uas.proc):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


async def hold_calls(
    port: int, count: int, ramp_rate: float, hold_ms: int, workdir: Path
) -> dict[str, Any]:
    """One outdial process's part of the hold phase: `count` calls placed at `ramp_rate`
    against the SIPp on `port`, each playing `hold_ms` of audio. Returns what the process
    measured (sent packets per RTP port, the clock's on-time counts, its CPU)."""
    tel = SipTelephony(
        SipConfig(None, (HOST, 0), "", "", cache_dir=workdir / "tts", network=LOOPBACK)
    )
    await tel.start()
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, tel.calls_active)
            await asyncio.sleep(0.05)

    watcher = asyncio.get_running_loop().create_task(watch())
    cpu0, wall0 = time.process_time(), time.monotonic()
    tally, requests, _ = await place_at_rate(tel, port, ramp_rate, count, hold_ms)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    watcher.cancel()
    stats = [tel.media_stats(str(r.call_id)) for r in requests]
    await tel.stop()
    return {
        "answered": tally.answered, "misclassified": tally.misclassified,
        "errors": tally.errors, "peak": peak,
        "sent": {str(s.rtp_port): s.sent_packets for s in stats if s},
        "late_ticks": tel.clock.late_ticks, "on_time": tel.clock.packets_on_time,
        "late": tel.clock.packets_late, "cpu": cpu, "wall": wall,
    }  # fmt: skip


def start_hold_workers(
    args: argparse.Namespace, port: int, n: int, workdir: Path
) -> list[subprocess.Popen[bytes]]:
    """`--processes N`: N child processes, each one engine's share of the calls."""
    shares = [args.concurrent // n + (i < args.concurrent % n) for i in range(n)]
    return [
        subprocess.Popen(
            [sys.executable, __file__, "--hold-worker", str(port), "--concurrent", str(k),
             "--ramp-rate", str(args.ramp_rate / n),
             "--concurrent-hold-ms", str(args.concurrent_hold_ms),
             "--media-priority", args.media_priority, "--sink-out", str(workdir)]
            + (["--uvloop"] if args.uvloop else []),
            stdout=subprocess.PIPE,
        )
        for k in shares
    ]  # fmt: skip


def run_hold_worker(args: argparse.Namespace) -> None:
    """Child process mode (`--processes N`): one engine's share of the hold phase; prints its
    figures as one JSON line."""
    apply_priority(MediaPriority(args.media_priority))
    runner = asyncio.run
    if args.uvloop:
        import uvloop

        runner = uvloop.run
    result = runner(
        hold_calls(
            args.hold_worker, args.concurrent, args.ramp_rate, args.concurrent_hold_ms,
            Path(args.sink_out),
        )
    )  # fmt: skip
    print(json.dumps(result), flush=True)


async def _hold(
    args: argparse.Namespace,
    workdir: Path,
    sink: subprocess.Popen[bytes],
    sink_out: Path,
    uas: Sipp,
) -> dict[str, object]:
    port = uas.start()
    n = max(1, args.processes)
    parts: list[dict[str, Any]]
    if n == 1:
        parts = [
            await hold_calls(
                port, args.concurrent, args.ramp_rate, args.concurrent_hold_ms, workdir
            )
        ]
    else:  # N engines, each its share of the calls at its share of the ramp
        workers = start_hold_workers(args, port, n, workdir)
        outputs = await asyncio.gather(*(asyncio.to_thread(w.communicate) for w in workers))
        parts = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
    await asyncio.sleep(0.3)
    sink.terminate()
    sink.wait(10)
    uas.stop()
    summary = json.loads(await asyncio.to_thread(sink_out.read_text))
    counts = {int(k): v for k, v in summary["counts"].items()}
    expected = args.concurrent_hold_ms // 20
    sent_by_port = {int(p): v for part in parts for p, v in part["sent"].items()}
    sent = list(sent_by_port.values())
    got = [counts.get(p, 0) for p in sent_by_port]

    def total(name: str) -> int:
        return sum(int(part[name]) for part in parts)

    on_time, late = total("on_time"), total("late")
    cpu = sum(float(part["cpu"]) for part in parts)
    wall = max(float(part["wall"]) for part in parts)
    return {
        "phase": "hold", "processes": n, "media_priority": args.media_priority,
        "calls": args.concurrent, "peak_concurrent": total("peak"),
        "hold_ms": args.concurrent_hold_ms, "answered": total("answered"),
        "misclassified": total("misclassified"), "errors": total("errors"),
        "expected_packets_per_call": expected, "min_sent": min(sent, default=0),
        "min_received_by_far_end": min(got, default=0),
        "calls_with_all_packets_received": sum(1 for s, g in zip(sent, got, strict=True) if g >= s),
        "total_packets_received": sum(got),
        "late_ticks": total("late_ticks"),
        "sent_within_5ms_of_slot_pct": round(100 * on_time / max(1, on_time + late), 2),
        "received_within_5ms_of_slot_pct": round(
            100 * summary["within_5ms"] / max(1, summary["total"]), 2
        ),
        "slot_deviation_p99_ms": summary["p99_ms"], "slot_deviation_max_ms": summary["max_ms"],
        "cpu_ms_per_call_second": round(1000 * cpu / (args.concurrent * wall), 3),
        "wall_s": round(wall, 1), "our_cpu_s": round(cpu, 1),
        "our_cpu_pct": round(100 * cpu / wall, 1), "sipp_cpu_s": round(uas.cpu, 1),
        "sink_cpu_s": round(summary.get("cpu_s", 0.0), 1),
    }  # fmt: skip


def phase_sipp_uac(args: argparse.Namespace, scenario: Path, workdir: Path) -> dict[str, object]:
    uas = sipp_uas(scenario, workdir)
    port = uas.start()
    count = int(args.rate * args.duration)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall0 = time.monotonic()
    uac = subprocess.run(
        ["sipp", "-sn", "uac", f"{HOST}:{port}", "-i", HOST,  # no -p: any free port
         "-mp", str(free_port()), "-cp", str(free_port()), "-r", str(args.rate), "-m", str(count),
         "-d", str(args.hold_ms), "-nostdin", "-timeout", f"{args.duration + 60}s",
         "-trace_stat", "-stf", str(workdir / "uac.csv"), "-fd", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False,
    )  # fmt: skip
    wall = time.monotonic() - wall0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    uas.stop()
    stat = sipp_stat(workdir / "uac.csv")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "phase": "sipp-uac", "target_cps": args.rate, "calls": count, "rc": uac.returncode,
        "successful": stat.get("SuccessfulCall(C)"), "failed": stat.get("FailedCall(C)"),
        "wall_s": round(wall, 1), "sipp_uac_cpu_s": round(cpu, 1),
        "sipp_uac_cpu_pct": round(100 * cpu / wall, 1), "sipp_uas_cpu_s": round(uas.cpu, 1),
    }  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    scenario_ref = resources.files("outdial.telephony.sip") / "scenarios" / "uas_answer.xml"
    with tempfile.TemporaryDirectory(prefix="outdial-bench-") as tmp, resources.as_file(
        scenario_ref
    ) as scenario:  # fmt: skip
        workdir = Path(tmp)
        phases = args.phases.split(",")
        results: list[dict[str, object]] = []
        if "rate" in phases:
            results.append(await phase_rate(args, scenario, workdir))
            print(json.dumps(results[-1]), flush=True)
        if "hold" in phases:
            results.append(await phase_hold(args, scenario, workdir))
            print(json.dumps(results[-1]), flush=True)
        if "sipp" in phases:
            results.append(phase_sipp_uac(args, scenario, workdir))
            print(json.dumps(results[-1]), flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of the rate phase")
    parser.add_argument("--rate", type=float, default=100, help="call set-ups per second")
    parser.add_argument("--hold-ms", type=int, default=1000, help="audio per call, rate phase")
    parser.add_argument("--concurrent", type=int, default=300, help="calls at once, hold phase")
    parser.add_argument("--concurrent-hold-ms", type=int, default=20_000)
    parser.add_argument("--ramp-rate", type=float, default=100, help="cps to reach --concurrent")
    parser.add_argument("--phases", default="rate,hold,sipp")
    parser.add_argument("--quick", action="store_true", help="10 s rate phase, 100 held calls")
    parser.add_argument("--uvloop", action="store_true", help="run outdial on uvloop")
    parser.add_argument(
        "--transport",
        choices=["udp", "tcp", "tls"],
        default="udp",
        help="rate phase: SIPp over UDP/TCP, outdial's own peer over TLS",
    )
    parser.add_argument(
        "--media-priority",
        choices=[p.value for p in MediaPriority],
        default="normal",
        help="outdial's process priority, as `outdial engine --media-priority` sets it",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="hold phase: outdial processes sharing the calls (as N `outdial engine`s would)",
    )
    parser.add_argument("--hold-worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tls-peer", help=argparse.SUPPRESS)
    parser.add_argument("--rtp-sink", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sink-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.duration, args.concurrent, args.concurrent_hold_ms = 10, 100, 5000
    return args


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.rtp_sink is not None:
        run_sink(arguments.rtp_sink, arguments.sink_out)
    elif arguments.hold_worker is not None:
        run_hold_worker(arguments)
    elif arguments.tls_peer:
        run_tls_peer(arguments.tls_peer)
    else:
        apply_priority(MediaPriority(arguments.media_priority))  # the sink and SIPp start
        # normal (SCHED_RESET_ON_FORK)
        with contextlib.suppress(KeyboardInterrupt):
            if arguments.uvloop:
                import uvloop

                uvloop.run(main(arguments))
            else:
                asyncio.run(main(arguments))
