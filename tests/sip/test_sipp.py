"""SipTelephony.place_call against sipp UAS scenarios: the outcome and sipp's own verdict."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from outdial.domain.outcome import HangupReason

pytestmark = pytest.mark.sipp


@pytest.mark.parametrize(
    ("scenario", "reason", "code", "flow"),
    [
        ("uas_486.xml", HangupReason.BUSY, 486, ["<INVITE", ">100", ">486", "<ACK"]),
        ("uas_480.xml", HangupReason.NOANSWER, 480, ["<INVITE", ">100", ">480", "<ACK"]),
        ("uas_603.xml", HangupReason.BUSY, 603, ["<INVITE", ">100", ">603", "<ACK"]),
        ("uas_503.xml", HangupReason.FAILED, 503, ["<INVITE", ">100", ">503", "<ACK"]),
    ],
)
async def test_rejected_calls_are_acked(
    sipp_uas, telephony, kit: SimpleNamespace, scenario, reason, code, flow
) -> None:
    uas = await sipp_uas(scenario)
    tel = await telephony()
    outcome = await tel.place_call(
        kit.call_request(kit.sip(f"5551@127.0.0.1:{uas.port}")), kit.no_op
    )
    assert (outcome.reason, outcome.sip_code, outcome.answered) == (reason, code, False)
    assert await uas.wait() == 0, uas.text()
    assert uas.messages() == flow


TALK = {"type": "talk", "option": {"text": "Hello from outdial.", "language": "en-US"}}


async def test_answered_call_plays_and_hangs_up(sipp_uas, telephony, kit: SimpleNamespace) -> None:
    uas = await sipp_uas("uas_answer.xml", "-rtp_echo")
    tel = await telephony()
    answered: list[bool] = []

    async def on_answer() -> None:
        answered.append(True)

    actions = [{"type": "sleep", "option": {"duration": 400}}]
    request = kit.call_request(kit.sip(f"alice@127.0.0.1:{uas.port}"), actions=actions)
    outcome = await tel.place_call(request, on_answer)
    assert (outcome.reason, outcome.sip_code, outcome.answered) == (HangupReason.NORMAL, 200, True)
    assert answered == [True]
    assert await uas.wait() == 0, uas.text()
    assert uas.messages() == ["<INVITE", ">180", ">200", "<ACK", "<BYE", ">200"]
    stats = tel.media_stats(str(request.call_id))
    assert stats is not None and stats.payload_type == 0
    assert stats.sent_packets == 20  # 400 ms of 20 ms packets
    assert stats.received_packets >= 15  # sipp echoed our RTP back: it arrived


async def test_tel_destination_goes_to_the_trunk(sipp_uas, telephony, kit: SimpleNamespace) -> None:
    uas = await sipp_uas("uas_answer.xml")
    tel = await telephony(("127.0.0.1", uas.port))
    outcome = await tel.place_call(kit.call_request(kit.tel("+15551230000")), kit.no_op)
    assert outcome.reason is HangupReason.NORMAL
    assert await uas.wait() == 0, uas.text()
    assert f"INVITE sip:+15551230000@127.0.0.1:{uas.port} SIP/2.0" in uas.text()


async def test_ringing_call_is_cancelled_after_dial_timeout(
    sipp_uas, telephony, kit: SimpleNamespace
) -> None:
    uas = await sipp_uas("uas_noanswer.xml")
    tel = await telephony()
    request = kit.call_request(kit.sip(f"4081@127.0.0.1:{uas.port}"), dial_timeout_ms=300)
    outcome = await tel.place_call(request, kit.no_op)
    assert (outcome.reason, outcome.sip_code) == (HangupReason.DIALOUT, 487)
    assert await uas.wait() == 0, uas.text()
    assert uas.messages() == ["<INVITE", ">100", ">180", "<CANCEL", ">200", ">487", "<ACK"]


async def test_digest_401_is_answered(sipp_uas, telephony, kit: SimpleNamespace) -> None:
    uas = await sipp_uas("uas_auth.xml")
    tel = await telephony(("127.0.0.1", uas.port), username=kit.auth_user,
                          password=kit.auth_password)  # fmt: skip
    outcome = await tel.place_call(
        kit.call_request(kit.sip(f"bob@127.0.0.1:{uas.port}")), kit.no_op
    )
    assert (outcome.reason, outcome.sip_code) == (HangupReason.NORMAL, 200)
    assert await uas.wait() == 0, uas.text()
    assert uas.messages() == [
        "<INVITE",
        ">401",
        "<ACK",
        "<INVITE",
        ">180",
        ">200",
        "<ACK",
        "<BYE",
        ">200",
    ]


async def test_digest_with_a_wrong_password_fails(
    sipp_uas, telephony, kit: SimpleNamespace
) -> None:
    uas = await sipp_uas("uas_auth.xml")
    tel = await telephony(("127.0.0.1", uas.port), username=kit.auth_user, password="wrong")
    outcome = await tel.place_call(
        kit.call_request(kit.sip(f"bob@127.0.0.1:{uas.port}")), kit.no_op
    )
    assert (outcome.reason, outcome.sip_code) == (HangupReason.FAILED, 403)
    await uas.wait()
    assert uas.messages() == ["<INVITE", ">401", "<ACK", "<INVITE", ">403", "<ACK"]


async def test_far_end_hangs_up(sipp_uas, telephony, kit: SimpleNamespace) -> None:
    uas = await sipp_uas("uas_bye.xml")
    tel = await telephony()
    actions = [{"type": "sleep", "option": {"duration": 5000}}]
    request = kit.call_request(kit.sip(f"carol@127.0.0.1:{uas.port}"), actions=actions)
    outcome = await tel.place_call(request, kit.no_op)
    assert (outcome.reason, outcome.answered, outcome.sip_code) == (HangupReason.NORMAL, True, 200)
    assert "far end" in outcome.detail
    assert await uas.wait() == 0, uas.text()
    assert uas.messages() == ["<INVITE", ">180", ">200", "<ACK", ">BYE", "<200"]


async def test_re_invite_is_answered_with_our_sdp(
    sipp_uas, telephony, kit: SimpleNamespace
) -> None:
    uas = await sipp_uas("uas_reinvite.xml")
    tel = await telephony()
    actions = [{"type": "sleep", "option": {"duration": 600}}]
    request = kit.call_request(kit.sip(f"dave@127.0.0.1:{uas.port}"), actions=actions)
    outcome = await tel.place_call(request, kit.no_op)
    assert outcome.reason is HangupReason.NORMAL
    assert await uas.wait() == 0, uas.text()
    assert uas.messages() == [
        "<INVITE",
        ">180",
        ">200",
        "<ACK",
        ">INVITE",
        "<200",
        ">ACK",
        "<BYE",
        ">200",
    ]


async def test_builtin_uas_with_upper_case_transport_param(
    telephony, kit: SimpleNamespace, workdir
) -> None:
    """sipp's built-in UAS puts `;transport=UDP` in its Contact: BYE must still work."""
    import asyncio

    procs: list[asyncio.subprocess.Process] = []
    ports: list[int] = []

    async def launch() -> None:
        port = kit.free_udp_port()
        argv = [kit.need_binary("sipp"), "-sn", "uas", "-i", "127.0.0.1", "-p", str(port),
                "-m", "1", "-nostdin", "-timeout", "20s", "-timeout_error"]  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        procs.append(proc)
        ports.append(port)
        await kit.wait_bound(port, proc)  # PortTaken: start again on another port

    try:
        await kit.start_far_end(launch)
        proc, port = procs[-1], ports[-1]
        tel = await telephony()
        outcome = await tel.place_call(kit.call_request(kit.sip(f"x@127.0.0.1:{port}")), kit.no_op)
        assert outcome.reason is HangupReason.NORMAL
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()


async def test_prack_and_early_media_with_sipp(sipp_uas, telephony, kit: SimpleNamespace) -> None:
    uas = await sipp_uas("uas_prack.xml")
    tel = await telephony()
    actions = [{"type": "sleep", "option": {"duration": 300}}]
    request = kit.call_request(kit.sip(f"early@127.0.0.1:{uas.port}"), actions=actions)
    outcome = await tel.place_call(request, kit.no_op)
    assert (outcome.reason, outcome.sip_code) == (HangupReason.NORMAL, 200), outcome
    assert await uas.wait() == 0, uas.text()
    assert uas.messages() == [
        "<INVITE", ">183", "<PRACK", ">200", ">200", "<ACK", "<BYE", ">200",
    ]  # fmt: skip
    stats = tel.media_stats(str(request.call_id))
    assert stats is not None and stats.payload_type == 8  # the 183's answer: PCMA


async def test_session_timer_refresh_with_sipp(sipp_uas, telephony, kit: SimpleNamespace) -> None:
    uas = await sipp_uas("uas_timer.xml")
    tel = await telephony()
    actions = [{"type": "sleep", "option": {"duration": 1500}}]  # one refresh after 1 s
    request = kit.call_request(kit.sip(f"timer@127.0.0.1:{uas.port}"), actions=actions)
    outcome = await tel.place_call(request, kit.no_op)
    assert outcome.reason is HangupReason.NORMAL, outcome
    assert await uas.wait() == 0, uas.text()
    assert uas.messages() == ["<INVITE", ">200", "<ACK", "<UPDATE", ">200", "<BYE", ">200"]


async def test_update_offer_from_sipp_is_answered(
    sipp_uas, telephony, kit: SimpleNamespace
) -> None:
    uas = await sipp_uas("uas_update.xml")
    tel = await telephony()
    actions = [{"type": "sleep", "option": {"duration": 600}}]
    request = kit.call_request(kit.sip(f"upd@127.0.0.1:{uas.port}"), actions=actions)
    outcome = await tel.place_call(request, kit.no_op)
    assert outcome.reason is HangupReason.NORMAL
    assert await uas.wait() == 0, uas.text()
    assert uas.messages() == ["<INVITE", ">200", "<ACK", ">UPDATE", "<200", "<BYE", ">200"]
    stats = tel.media_stats(str(request.call_id))
    assert stats is not None and stats.payload_type == 8


async def test_srv_failover_between_two_sipp(sipp_uas, telephony, kit: SimpleNamespace) -> None:
    from tests.sip.dnsserver import DnsZone

    busy = await sipp_uas("uas_503.xml")
    good = await sipp_uas("uas_answer.xml")
    zone = DnsZone()
    await zone.start()
    try:
        zone.srv("_sip._udp.trunk.test", "sbc1.trunk.test", busy.port, priority=10)
        zone.srv("_sip._udp.trunk.test", "sbc2.trunk.test", good.port, priority=20)
        zone.a("sbc1.trunk.test", "127.0.0.1")
        zone.a("sbc2.trunk.test", "127.0.0.1")
        tel = await telephony(("trunk.test", 0), dns_servers=(("127.0.0.1", zone.port),))
        outcome = await tel.place_call(kit.call_request(kit.tel("+15550001")), kit.no_op)
        assert (outcome.reason, outcome.sip_code) == (HangupReason.NORMAL, 200)
        assert await busy.wait() == 0, busy.text()
        assert await good.wait() == 0, good.text()
        assert busy.messages() == ["<INVITE", ">100", ">503", "<ACK"]
        assert good.messages() == ["<INVITE", ">180", ">200", "<ACK", "<BYE", ">200"]
    finally:
        zone.stop()
