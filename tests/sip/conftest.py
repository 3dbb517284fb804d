"""Fixtures for the SIP tests: sipp and Kamailio far ends, free ports, telephony instances.

Tests marked `sipp` or `kamailio` skip when the binary is missing, except with CI=true, where a
missing binary fails them (CI must install sip-tester and kamailio).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from outdial.domain.address import Address, AddressType
from outdial.domain.netpolicy import NetworkPolicy
from outdial.telephony.base import CallRequest
from outdial.telephony.sip import SipAnsweringPeer, SipConfig, SipTelephony

SCENARIOS = resources.files("outdial.telephony.sip") / "scenarios"
# The far ends of these tests are all on loopback, which the default policy refuses.
LOOPBACK = NetworkPolicy.from_text("127.0.0.0/8,::1/128")
AUTH_USER = "outdial"
AUTH_PASSWORD = "s3cret"


def need_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{name} is required in CI but is not installed")
        pytest.skip(f"{name} is not installed")
    return path


@pytest.fixture(autouse=True)
def _binaries(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("sipp"):
        need_binary("sipp")
    if request.node.get_closest_marker("kamailio"):
        need_binary("kamailio")
    if request.node.get_closest_marker("baresip"):
        need_binary("baresip")


def free_udp_port() -> int:
    """A port that was free a moment ago: only for a far end started with `start_far_end`,
    which starts it again on another port if someone else took this one meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def owns_udp_port(pid: int, port: int) -> bool:
    """Whether process `pid` itself holds a UDP socket on `port` (Linux: /proc)."""
    try:
        fd_dir = Path(f"/proc/{pid}/fd")
        links = {os.readlink(fd_dir / fd) for fd in os.listdir(fd_dir)}
    except OSError:
        return False
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and f"socket:[{fields[9]}]" in links:
                return True
    return False


class PortTaken(RuntimeError):
    """The far end exited before it bound its port (another process had taken it)."""


async def wait_bound(port: int, proc: asyncio.subprocess.Process, within: float = 10) -> None:
    """Until `proc` holds UDP `port` itself (a wait, not a bound on speed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not owns_udp_port(proc.pid, port):
        if proc.returncode is not None:
            raise PortTaken(f"far end exited (rc {proc.returncode}) before binding UDP {port}")
        if loop.time() > deadline:
            raise RuntimeError(f"far end did not bind UDP port {port}")
        await asyncio.sleep(0.02)


async def start_far_end(start: Callable[[], Awaitable[None]], tries: int = 5) -> None:
    """Run `start` (which picks its ports with free_udp_port and raises PortTaken when its
    process lost one to another process) until it binds: retry on conflict."""
    for attempt in range(tries):
        try:
            await start()
            return
        except PortTaken:
            if attempt == tries - 1:
                raise


def tel(number: str) -> Address:
    return Address(AddressType.TEL, number)


def sip(target: str) -> Address:
    return Address(AddressType.SIP, target)


def call_request(
    destination: Address,
    *,
    dial_timeout_ms: int = 5000,
    actions: list[dict[str, Any]] | None = None,
) -> CallRequest:
    return CallRequest(
        uuid.uuid4(), tel("+15550000000"), destination, dial_timeout_ms, actions or []
    )


class SippUas:
    """One sipp UAS process running a scenario for `calls` calls, with a message trace."""

    def __init__(self, scenario: str, workdir: Path, extra: list[str], calls: int) -> None:
        self.scenario = scenario
        self.workdir = workdir
        self.port = self.media_port = 0
        self.trace = self.errors = workdir
        self.extra = extra
        self.calls = calls
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        await start_far_end(self._start)

    async def _start(self) -> None:
        await self.stop()
        self.port, self.media_port = free_udp_port(), free_udp_port()
        self.trace = self.workdir / f"{self.scenario}.{self.port}.msg.log"
        self.errors = self.workdir / f"{self.scenario}.{self.port}.err.log"
        with resources.as_file(SCENARIOS / self.scenario) as path:
            argv = [
                need_binary("sipp"), "-sf", str(path), "-i", "127.0.0.1", "-p", str(self.port),
                "-mp", str(self.media_port), "-m", str(self.calls), "-nostdin",
                "-timeout", "30s", "-timeout_error", "-trace_msg", "-message_file",
                str(self.trace), "-trace_err", "-error_file", str(self.errors), *self.extra,
            ]  # fmt: skip
            self.proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
            )
        await wait_bound(self.port, self.proc)

    async def wait(self, within: float = 20) -> int:
        assert self.proc is not None
        try:
            await asyncio.wait_for(self.proc.wait(), within)
        except TimeoutError:
            self.proc.terminate()
            await self.proc.wait()
        return int(self.proc.returncode or 0)

    def messages(self) -> list[str]:
        """The flow as sipp saw it: `<INVITE` received, `>100` sent, ..."""
        if not self.trace.exists():
            return []
        flow: list[str] = []
        lines = self.trace.read_text(errors="replace").splitlines()
        for i, line in enumerate(lines):
            if "message received" in line or "message sent" in line:
                arrow = "<" if "received" in line else ">"
                start = next((x.strip() for x in lines[i + 1 : i + 4] if x.strip()), "")
                word = start.split(" ")[1] if start.startswith("SIP/2.0") else start.split(" ")[0]
                flow.append(arrow + word)
        return flow

    def text(self) -> str:
        parts = [p.read_text(errors="replace") for p in (self.trace, self.errors) if p.exists()]
        return "\n".join(parts)[-6000:]

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 5)
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()


SippFactory = Callable[..., Awaitable[SippUas]]


@pytest.fixture
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="outdial-sip-") as tmp:
        yield Path(tmp)


@pytest.fixture
async def sipp_uas(workdir: Path) -> AsyncIterator[SippFactory]:
    started: list[SippUas] = []

    async def start(scenario: str, *extra: str, calls: int = 1) -> SippUas:
        uas = SippUas(scenario, workdir, list(extra), calls)
        started.append(uas)
        await uas.start()
        return uas

    yield start
    for uas in started:
        await uas.stop()


TelephonyFactory = Callable[..., Awaitable[SipTelephony]]


@pytest.fixture
async def telephony(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TelephonyFactory]:
    started: list[SipTelephony] = []
    cache = tmp_path_factory.getbasetemp() / "tts-cache"

    async def make(
        trunk: tuple[str, int] | None = None, *, t1_ms: int = 500, username: str = "",
        password: str = "", network: NetworkPolicy = LOOPBACK, realms: tuple[str, ...] = (),
        **extra: Any,
    ) -> SipTelephony:  # fmt: skip
        config = SipConfig(
            trunk, ("127.0.0.1", 0), username, password, t1_ms, cache_dir=cache,
            network=network, realms=realms, **extra,
        )  # fmt: skip
        tel = SipTelephony(config)
        await tel.start()
        started.append(tel)
        return tel

    yield make
    for tel in started:
        await tel.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A CA and a server certificate for `localhost` / 127.0.0.1 signed by it (openssl)."""
    openssl = need_binary("openssl")
    d = tmp_path_factory.mktemp("tls")
    ext = d / "ext.cnf"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    steps = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
         "-days", "2", "-subj", "/CN=outdial test CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
         "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", str(ext)],
    ]  # fmt: skip
    for step in steps:
        subprocess.run([openssl, *step], cwd=d, check=True, capture_output=True)
    return SimpleNamespace(ca=d / "ca.pem", cert=d / "server.pem", key=d / "server.key", dir=d)


def server_context(files: SimpleNamespace) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(files.cert, files.key)
    return ctx


@pytest.fixture
async def peer() -> AsyncIterator[SipAnsweringPeer]:
    answering = SipAnsweringPeer(ring_ms=50)
    await answering.start()
    yield answering
    await answering.stop()


async def no_op() -> None:
    return None


@pytest.fixture
def kit() -> SimpleNamespace:
    """Small helpers for the test modules (fixtures, so no test imports conftest)."""
    return SimpleNamespace(
        tel=tel, sip=sip, call_request=call_request, no_op=no_op, free_udp_port=free_udp_port,
        auth_user=AUTH_USER, auth_password=AUTH_PASSWORD, wait_bound=wait_bound,
        need_binary=need_binary, scenarios=SCENARIOS, loopback=LOOPBACK,
        server_context=server_context, start_far_end=start_far_end, port_taken=PortTaken,
    )  # fmt: skip


@pytest.fixture
async def peers() -> AsyncIterator[Callable[..., Any]]:
    """Answering peers on loopback (`await peers(...)`, SipAnsweringPeer's options; `kind` a
    subclass started with exactly the options given), stopped after the test."""
    started: list[SipAnsweringPeer] = []

    async def make(kind: type[SipAnsweringPeer] = SipAnsweringPeer, **kw: Any) -> Any:
        peer = kind(**kw) if kind is not SipAnsweringPeer else kind(ring_ms=50, **kw)
        await peer.start()
        started.append(peer)
        return peer

    yield make
    for peer in started:
        await peer.stop()


def record_results(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[Any]:
    """Every result the coroutine function `owner.name` returns from now on, in order."""
    seen: list[Any] = []
    real = getattr(owner, name)

    async def recording(*args: Any) -> Any:
        result = await real(*args)
        seen.append(result)
        return result

    monkeypatch.setattr(owner, name, recording)
    return seen
