"""Calls through Kamailio acting as the trunk: 407 digest challenge and Record-Route."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from outdial.domain.outcome import HangupReason
from outdial.telephony.sip.config import sip_values
from tests.sip.conftest import PortTaken

pytestmark = [pytest.mark.sipp, pytest.mark.kamailio]
REALM = "trunk.test"


class Kamailio:
    def __init__(self, workdir: Path, port: int, uas_port: int, log: Path) -> None:
        self.workdir, self.port, self.uas_port, self.log = workdir, port, uas_port, log
        self.proc: asyncio.subprocess.Process | None = None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def wait_ready(self, within: float = 10) -> None:
        """Until it answers an OPTIONS with 200."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            me = sock.getsockname()[1]
            probe = (
                f"OPTIONS sip:127.0.0.1:{self.port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bKprobe;rport\r\n"
                "Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\n"
                "To: <sip:127.0.0.1>\r\nCall-ID: probe\r\nCSeq: 1 OPTIONS\r\n"
                "Content-Length: 0\r\n\r\n"
            ).encode()
            sock.settimeout(0.1)
            while loop.time() < deadline:
                assert self.proc is not None
                if self.proc.returncode is not None:
                    text = self.log_text()
                    if "Address already in use" in text:  # its TCP/TLS port was taken: retry
                        raise PortTaken(f"kamailio lost a port to another process: {text[-300:]}")
                    raise RuntimeError(f"kamailio exited {self.proc.returncode}: {text}")
                sock.sendto(probe, ("127.0.0.1", self.port))
                try:
                    if sock.recv(4096).startswith(b"SIP/2.0 200"):
                        return
                except TimeoutError:
                    await asyncio.sleep(0.05)
        raise RuntimeError(f"kamailio did not answer OPTIONS: {self.log_text()}")


@pytest.fixture
async def kamailio(kit: SimpleNamespace, workdir: Path) -> AsyncIterator:
    started: list[Kamailio] = []

    async def start(uas_port: int, template: str = "kamailio-trunk.cfg", **more: str) -> Kamailio:
        kams: list[Kamailio] = []

        async def launch() -> None:
            port = kit.free_udp_port()
            text = (kit.scenarios / template).read_text()
            values = {"@LISTEN_PORT@": str(port), "@UAS_PORT@": str(uas_port), "@REALM@": REALM,
                      "@USER@": kit.auth_user, "@PASSWORD@": kit.auth_password}  # fmt: skip
            values.update({f"@{k.upper()}@": v for k, v in more.items()})
            for key, value in values.items():
                text = text.replace(key, value)
            cfg = workdir / f"kamailio-{port}.cfg"
            cfg.write_text(text)
            run = workdir / f"run-{port}"
            run.mkdir()
            kam = Kamailio(workdir, port, uas_port, workdir / f"kamailio-{port}.log")
            started.append(kam)
            kams.append(kam)
            argv = [kit.need_binary("kamailio"), "-f", str(cfg), "-DD", "-E", "-Y", str(run),
                    "-P", str(run / "kamailio.pid"), "-m", "32", "-M", "4"]  # fmt: skip
            with kam.log.open("wb") as log:
                kam.proc = await asyncio.create_subprocess_exec(
                    *argv, stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL
                )
            await kit.wait_bound(port, kam.proc)  # PortTaken: start again on another port
            await kam.wait_ready()

        await kit.start_far_end(launch)
        return kams[-1]

    yield start
    for kam in started:
        if kam.proc is not None and kam.proc.returncode is None:
            kam.proc.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(kam.proc.wait(), 5)
            if kam.proc.returncode is None:
                kam.proc.kill()
                await kam.proc.wait()


async def test_call_through_kamailio_with_407_and_record_route(
    sipp_uas, kamailio, telephony, kit: SimpleNamespace
) -> None:
    uas = await sipp_uas("uas_answer.xml")
    kam = await kamailio(uas.port)
    tel = await telephony(("127.0.0.1", kam.port), username=kit.auth_user,
                          password=kit.auth_password)  # fmt: skip
    actions = [{"type": "sleep", "option": {"duration": 200}}]
    request = kit.call_request(kit.tel("+15557654321"), actions=actions)
    outcome = await tel.place_call(request, kit.no_op)
    assert (outcome.reason, outcome.sip_code, outcome.answered) == (
        HangupReason.NORMAL,
        200,
        True,
    ), "\n".join(
        x for x in kam.log_text().splitlines() if "auth" in x.lower() or "digest" in x.lower()
    )
    assert await uas.wait() == 0, uas.text()
    assert uas.messages() == ["<INVITE", ">180", ">200", "<ACK", "<BYE", ">200"]
    assert "Record-Route: <sip:127.0.0.1:" in uas.text()
    log = kam.log_text()
    assert "challenging INVITE" in log
    # loose_route() only succeeds when the request carries our Route header to Kamailio
    assert "in-dialog ACK" in log and "in-dialog BYE" in log, log


async def test_cancel_through_kamailio(sipp_uas, kamailio, telephony, kit: SimpleNamespace) -> None:
    uas = await sipp_uas("uas_noanswer.xml")
    kam = await kamailio(uas.port)
    tel = await telephony(("127.0.0.1", kam.port), username=kit.auth_user,
                          password=kit.auth_password)  # fmt: skip
    request = kit.call_request(kit.tel("+14085550000"), dial_timeout_ms=400)
    outcome = await tel.place_call(request, kit.no_op)
    assert (outcome.reason, outcome.sip_code) == (HangupReason.DIALOUT, 487), (
        uas.text() + kam.log_text()
    )
    assert await uas.wait() == 0, uas.text()


async def test_kamailio_rejects_bad_credentials(
    sipp_uas, kamailio, telephony, kit: SimpleNamespace
) -> None:
    uas = await sipp_uas("uas_answer.xml")
    kam = await kamailio(uas.port)
    tel = await telephony(("127.0.0.1", kam.port), username=kit.auth_user, password="nope")
    outcome = await tel.place_call(kit.call_request(kit.tel("+15550001111")), kit.no_op)
    assert (outcome.reason, outcome.sip_code) == (HangupReason.FAILED, 407)
    assert "rejected" in outcome.detail


def _tls_cfg(workdir: Path, tls_files: SimpleNamespace) -> str:
    cfg = workdir / "kamailio-tls.cfg"
    cfg.write_text(
        "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\n"
        f"require_certificate = no\nprivate_key = {tls_files.key}\n"
        f"certificate = {tls_files.cert}\n\n[client:default]\nmethod = TLSv1.2+\n"
        "verify_certificate = no\nrequire_certificate = no\n"
    )
    return str(cfg)


@pytest.mark.parametrize("transport", ["tls", "tcp"])
async def test_register_with_kamailio_then_call_through_it(
    sipp_uas, kamailio, telephony, kit: SimpleNamespace, workdir: Path, tls_files, transport
) -> None:
    """Kamailio as registrar and proxy: outdial REGISTERs (401 answered), then dials through
    it (407 answered, over the same TLS or TCP connection); Kamailio refuses calls from
    accounts that are not registered, so the call itself proves the registration."""
    uas = await sipp_uas("uas_answer.xml")
    tls_port = kit.free_udp_port()
    kam = await kamailio(uas.port, "kamailio-registrar.cfg", tls_port=str(tls_port),
                         tls_cfg=_tls_cfg(workdir, tls_files))  # fmt: skip
    if transport == "tls":
        trunk = f"sips:localhost:{tls_port}"
    else:
        trunk = f"sip:127.0.0.1:{kam.port};transport=tcp"
    values = sip_values(trunk=trunk, register=True, tls_ca_file=str(tls_files.ca), realm=REALM)
    tel = await telephony(values.pop("trunk"), username=kit.auth_user,
                          password=kit.auth_password, **values)  # fmt: skip
    request = kit.call_request(kit.tel("+15557654321"), actions=[
        {"type": "sleep", "option": {"duration": 200}}
    ])  # fmt: skip
    outcome = await tel.place_call(request, kit.no_op)
    log = kam.log_text()
    assert (outcome.reason, outcome.sip_code) == (HangupReason.NORMAL, 200), log[-3000:]
    proto = transport
    scheme = "sips" if transport == "tls" else "sip"
    assert "challenging REGISTER" in log and f"registered {scheme}:{kit.auth_user}@" in log
    assert f"challenging INVITE {request.call_id} over {proto}" in log
    assert f"relaying INVITE {request.call_id} over {proto}" in log
    assert f"in-dialog BYE {request.call_id} over {proto}" in log
    assert await uas.wait() == 0, uas.text()
    assert tel.health()["sip"]["registration"]["state"] == "registered"
    assert tel.transport.pool.opened == 1  # REGISTER, INVITE, ACK, BYE: one connection
