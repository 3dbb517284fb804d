"""Interop with baresip (Debian's baresip-core), an independent user agent, as an auto-answering
far end over UDP, TCP and TLS: the call is answered, audio flows both ways, and either side
hangs up."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import socket
import uuid
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from outdial.domain.outcome import HangupReason
from outdial.telephony.bridge import nailed_address
from outdial.telephony.sip import SipAnsweringPeer, nailed

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
    def __init__(self, workdir: Path, tls: SimpleNamespace | None, *, dump: bool = False) -> None:
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
        if dump:  # what baresip hears (decoded) and sends, as WAV files in workdir (sndfile)
            lines += ["module sndfile.so", f"snd_path {workdir}"]
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

    async def start(tls: SimpleNamespace | None = None, *, dump: bool = False) -> Baresip:
        far = Baresip(tmp_path, tls, dump=dump)
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


class NailedDesk:
    """The engine desk's part (engine/desk.py): `queue_join` bridges the callee to the agent's
    nailed-up leg, `nailed:<agent id>`."""

    def __init__(self, agent_id: uuid.UUID) -> None:
        self.agent_id = agent_id

    async def run(self, kind: str, option: dict[str, Any], media: Any) -> bool:
        result = await media.bridge(nailed_address(self.agent_id), 15_000)
        return bool(result.connected)


def voiced_spans(workdir: Path) -> list[tuple[float, float]]:
    """(start s, end s) of the stretches with sound in what baresip heard (its one `-dec` WAV
    file: 20 ms frames above -40 dBFS; gaps under 200 ms joined)."""
    (wav,) = workdir.glob("dump-*-dec.wav")
    with wave.open(str(wav)) as w:
        rate, channels = w.getframerate(), w.getnchannels()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    mono = pcm.reshape(-1, channels)[:, 0].astype(np.float64)
    frame = rate // 50
    spans: list[tuple[float, float]] = []
    for n in range(len(mono) // frame):
        rms = float(np.sqrt(np.mean(mono[n * frame : (n + 1) * frame] ** 2)))
        if rms < 327:  # -40 dBFS
            continue
        start = n * 0.02
        if spans and start - spans[-1][1] < 0.2:
            spans[-1] = (spans[-1][0], start + 0.02)
        else:
            spans.append((start, start + 0.02))
    return spans


async def test_baresip_as_a_nailed_up_agent(
    baresip, telephony, kit: SimpleNamespace, tmp_path: Path
) -> None:
    """Issue 13, nailed-up agents over SIP (sip/nailed.py): outdial calls baresip once and
    keeps the leg; two callees in a row (the answering peer's 778: "Hello?" 0.4-1.1 s after
    the answer, hanging up at 1.5 s) are connected to it without a new INVITE, each one's
    voice reaching baresip on that one leg (baresip's own recording of what it heard, between
    them silence); baresip's hang-up ends the leg and outdial notices."""
    far = await baresip(dump=True)
    callees = SipAnsweringPeer(ring_ms=50, hangup_after_ms=1500)
    await callees.start()
    try:
        tel = await telephony()
        agent_id = uuid.uuid4()
        leg = await tel.open_leg(agent_id, kit.sip(f"far@127.0.0.1:{far.port}"))
        assert leg is not None, far.text()
        await asyncio.sleep(0.5)
        for _ in range(2):
            request = dataclasses.replace(
                kit.call_request(kit.sip(f"7781000@{callees.address}"),
                                 actions=[{"type": "queue_join", "option": {}}]),
                connector=NailedDesk(agent_id),
            )  # fmt: skip
            outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 10)
            assert outcome.detail == "the far end hung up", outcome
            callee = callees.calls[str(request.call_id)]
            assert callee.rtp_packets >= 30  # baresip's tone, relayed to the callee
            assert not leg.ended.done()
        await asyncio.sleep(0.5)
        assert leg.conversations == 2
        await far.command("hangup")
        assert await asyncio.wait_for(asyncio.shield(leg.ended), 5) == nailed.AGENT_BYE
        assert tel.nailed == {}
    finally:
        await callees.stop()
    log = far.text()
    assert log.count("Call established") == 1, log  # one INVITE for both callees
    await asyncio.sleep(0.3)  # the recording is closed with the call
    spans = voiced_spans(tmp_path)
    # the two "Hello?" (in 0.7 s each, about 1.5 s apart), nothing else: silence between calls
    assert len(spans) == 2, spans
    assert all(0.2 <= end - start <= 1.2 for start, end in spans), spans
    assert 1.2 <= spans[1][0] - spans[0][0] <= 3.0, spans
