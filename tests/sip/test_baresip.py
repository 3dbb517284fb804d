"""Interop with baresip (Debian's baresip-core), an independent user agent, as an auto-answering
far end over UDP, TCP and TLS: the call is answered, audio flows both ways, and either side
hangs up."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from outdial.domain.outcome import HangupReason

pytestmark = pytest.mark.baresip
SLEEP = [{"type": "sleep", "option": {"duration": 800}}]


def free_pair() -> int:
    """A port p with p and p+1 free for UDP and TCP (baresip listens TLS on p+1)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port > 65000:
            continue
        try:
            for p in (port, port + 1):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    with socket.socket(socket.AF_INET, kind) as s:
                        s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair")


class Baresip:
    def __init__(self, workdir: Path, tls: SimpleNamespace | None) -> None:
        self.dir = workdir
        self.port = free_pair()
        self.tls_port = self.port + 1
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.ctrl_port = int(probe.getsockname()[1])
        self.log = workdir / "baresip.log"
        self.proc: asyncio.subprocess.Process | None = None
        lines = [
            f"sip_listen 127.0.0.1:{self.port}", "net_interface 127.0.0.1",
            "module_path /usr/lib/baresip/modules", "module g711.so", "module ausine.so",
            "module aubridge.so", "module account.so", "module menu.so", "module ctrl_tcp.so",
            f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}", "audio_player aubridge,x",
            "audio_source ausine,440", "ausrc_srate 48000", "ausrc_channels 2",
        ]  # fmt: skip
        if tls is not None:
            bundle = workdir / "cert-and-key.pem"
            bundle.write_text(Path(tls.cert).read_text() + Path(tls.key).read_text())
            lines.append(f"sip_certificate {bundle}")
        (workdir / "config").write_text("\n".join(lines) + "\n")
        (workdir / "accounts").write_text(
            "<sip:far@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA\n"
        )

    async def start(self, binary: str) -> None:
        with self.log.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                binary, "-f", str(self.dir), "-v", stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=log,
            )  # fmt: skip
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while "baresip is ready" not in self.text():
            if self.proc.returncode is not None or loop.time() > deadline:
                raise RuntimeError(f"baresip did not start: {self.text()}")
            await asyncio.sleep(0.05)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def command(self, command: str) -> str:
        """A ctrl_tcp command (a JSON netstring), e.g. `hangup`; the reply's text."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.ctrl_port)
        body = json.dumps({"command": command, "token": "t"}).encode()
        writer.write(str(len(body)).encode() + b":" + body + b",")
        await writer.drain()
        reply = b""
        with contextlib.suppress(TimeoutError, ValueError, asyncio.IncompleteReadError):
            length = await asyncio.wait_for(reader.readuntil(b":"), 2)
            body = await asyncio.wait_for(reader.readexactly(int(length[:-1]) + 1), 2)
            reply = length + body
        writer.close()
        await writer.wait_closed()
        return reply.decode(errors="replace")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@pytest.fixture
async def baresip(kit: SimpleNamespace, tmp_path: Path) -> AsyncIterator:
    started: list[Baresip] = []

    async def start(tls: SimpleNamespace | None = None) -> Baresip:
        far = Baresip(tmp_path, tls)
        started.append(far)
        await far.start(kit.need_binary("baresip"))
        return far

    yield start
    for far in started:
        await far.stop()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_baresip_answers_and_hears_us(
    baresip, telephony, kit: SimpleNamespace, transport: str
) -> None:
    far = await baresip()
    tel = await telephony()
    request = kit.call_request(
        kit.sip(f"far@127.0.0.1:{far.port};transport={transport}"), actions=SLEEP
    )
    outcome = await tel.place_call(request, kit.no_op)
    assert (outcome.reason, outcome.answered, outcome.sip_code) == (
        HangupReason.NORMAL, True, 200,
    ), far.text()  # fmt: skip
    stats = tel.media_stats(str(request.call_id))
    assert stats is not None and stats.sent_packets >= 35 and stats.received_packets >= 20
    await asyncio.sleep(0.3)
    log = far.text()
    assert f"sipsess connect via {transport.upper()}" in log
    assert "incoming rtp for 'audio' established" in log  # baresip heard our RTP
    assert "sip:+15550000000@127.0.0.1: session closed" in log  # by our BYE


async def test_baresip_over_tls(baresip, telephony, kit: SimpleNamespace, tls_files) -> None:
    far = await baresip(tls=tls_files)
    tel = await telephony(tls_ca_file=tls_files.ca)
    request = kit.call_request(
        kit.sip(f"far@localhost:{far.tls_port};transport=tls"), actions=SLEEP
    )
    outcome = await tel.place_call(request, kit.no_op)
    assert (outcome.reason, outcome.answered) == (HangupReason.NORMAL, True), far.text()
    await asyncio.sleep(0.3)
    assert "sipsess connect via TLS" in far.text()
    assert "incoming rtp for 'audio' established" in far.text()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_baresip_hangs_up(baresip, telephony, kit: SimpleNamespace, transport) -> None:
    far = await baresip()
    tel = await telephony()
    answered = asyncio.Event()

    async def on_answer() -> None:
        answered.set()

    long_sleep = [{"type": "sleep", "option": {"duration": 30_000}}]
    request = kit.call_request(
        kit.sip(f"far@127.0.0.1:{far.port};transport={transport}"), actions=long_sleep
    )
    call = asyncio.create_task(tel.place_call(request, on_answer))
    await asyncio.wait_for(answered.wait(), 5)
    await asyncio.sleep(0.3)
    await far.command("hangup")
    outcome = await asyncio.wait_for(call, 5)
    assert (outcome.reason, outcome.detail) == (HangupReason.NORMAL, "the far end hung up")


async def test_baresip_agent_bridged_to_a_callee(
    baresip, telephony, peer, kit: SimpleNamespace
) -> None:
    """Issue 13: baresip auto-answers as the agent and outdial bridges it to the callee (the
    answering peer's 778, which talks all along): RTP from the callee reaches baresip and
    baresip's reaches the callee, through outdial, until baresip hangs up; then the callee
    gets BYE. Outdial plays nothing during a bridge, so every packet counted is relayed."""
    far = await baresip()
    tel = await telephony()
    agent = {"type": "sip", "target": f"far@127.0.0.1:{far.port}"}
    connect = {"type": "connect", "option": {"destinations": [agent]}}
    request = kit.call_request(kit.sip(f"7781000@{peer.address}"), actions=[connect])
    call = asyncio.create_task(tel.place_call(request, kit.no_op))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while "Call established" not in far.text():
        assert loop.time() < deadline and not call.done(), far.text()
        await asyncio.sleep(0.05)
    await asyncio.sleep(2.5)
    debug = json.loads(_netstring(await far.command("audio_debug")))["data"]
    await far.command("hangup")
    outcome = await asyncio.wait_for(call, 5)
    assert (outcome.reason, outcome.answered, outcome.sip_code) == (
        HangupReason.NORMAL, True, 200,
    ), far.text()  # fmt: skip
    heard = re.search(r"rcvd=(\d+)", debug)  # baresip's RTCP member: packets received
    sent = re.search(r"TX: packets=(\d+)", debug)
    assert heard and sent, debug
    callee = peer.calls[str(request.call_id)]
    await asyncio.wait_for(callee.done.wait(), 3)
    assert callee.bye_received  # the agent hung up: outdial hung the callee up
    assert callee.stream is None  # closed at the BYE; its counters were kept
    # ~2.5 s of 20 ms packets each way (125; 60 leaves room for a loaded machine): the
    # callee's reached baresip, baresip's the callee
    assert int(heard.group(1)) >= 60, debug
    assert int(sent.group(1)) >= 60 and callee.rtp_packets >= 60, (debug, callee.rtp_packets)


def _netstring(reply: str) -> str:
    """The JSON inside a ctrl_tcp netstring reply (`<length>:<json>,`)."""
    return reply[reply.index(":") + 1 : reply.rindex(",")]
