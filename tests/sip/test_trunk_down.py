"""Issue 16 item 2 on the wire: a raw-socket trunk goes silent (or refuses every INVITE with
503 itself), the telephony marks it down after the rule's faults in a row, sends nothing more
to it, probes it with OPTIONS, and takes it back when a probe is answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from outdial.clock import SystemClock
from outdial.domain.outcome import TRUNK_DOWN, HangupReason
from outdial.domain.trunk import TrunkRule
from outdial.engine.engine import Engine, EngineConfig
from outdial.metrics import SIP_TRUNK_UP
from outdial.services.container import Services
from outdial.services.dialing import DialingService
from outdial.storage.db import Database
from outdial.storage.tables import events
from outdial.telephony.sip import SipConfig, SipTelephony
from outdial.telephony.sip.errors import SipConfigError
from outdial.telephony.sip.message import SipMessage
from tests.sip import rawsip


class RawTrunk:
    """A trunk on a loopback UDP socket: `silent`, `refusing` (503 at once, no 100 Trying) or
    `up` (100 Trying, then 486 Busy Here to INVITEs; 200 to OPTIONS)."""

    def __init__(self) -> None:
        self.sock = rawsip.udp()
        self.port = self.sock.getsockname()[1]
        self.mode = "silent"
        self.invites: set[str] = set()  # Call-IDs
        self.options = 0
        self.options_answered = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RawTrunk:
        self._task = asyncio.get_running_loop().create_task(self._serve())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self.sock.close()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data, addr = await loop.sock_recvfrom(self.sock, 65536)
            msg = SipMessage.parse(data)
            if msg.method == "INVITE":
                self.invites.add(msg.call_id)
            elif msg.method == "OPTIONS":
                self.options += 1
            if self.mode == "silent" or msg.method not in ("INVITE", "OPTIONS"):
                continue
            if msg.method == "OPTIONS":
                if self.mode == "up":
                    self.options_answered += 1
                    self.sock.sendto(rawsip.reply(msg, 200), addr)
                continue
            if self.mode == "refusing":
                self.sock.sendto(rawsip.reply(msg, 503), addr)
            else:
                self.sock.sendto(rawsip.reply(msg, 100), addr)
                self.sock.sendto(rawsip.reply(msg, 486), addr)


@pytest.fixture
async def trunk() -> AsyncIterator[RawTrunk]:
    async with RawTrunk() as t:
        yield t


async def _until(check: object, within: float = 30.0) -> None:
    """Wait for a condition (a liveness guard, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("failure", ["silent", "refusing"])
async def test_trunk_goes_down_is_probed_and_comes_back(
    trunk: RawTrunk, kit: SimpleNamespace, tmp_path: Path, failure: str
) -> None:
    config = SipConfig(
        ("127.0.0.1", trunk.port), ("127.0.0.1", 0), "", "", 10,  # T1 10 ms: timer B 0.64 s
        cache_dir=tmp_path, network=kit.loopback,
        trunk_rule=TrunkRule(faults=3, window_s=60, probe_s=0.1),
    )  # fmt: skip
    tel = SipTelephony(config)
    await tel.start()
    try:
        trunk.mode = failure
        assert tel.health()["sip"]["trunk_state"]["state"] == "up"
        # three calls at once, each a fault: the one that tips the rule ends `trunk_down`
        outcomes = await asyncio.gather(
            *(tel.place_call(kit.call_request(kit.tel(f"+1555000000{n}")), kit.no_op)
              for n in range(3))
        )  # fmt: skip
        assert {o.reason for o in outcomes} == {HangupReason.FAILED}
        assert [o.detail for o in outcomes].count(TRUNK_DOWN) == 1
        assert len(trunk.invites) == 3
        assert tel.trunk_down() is not None
        assert tel.health()["sip"]["trunk_state"]["state"] == "down"
        assert SIP_TRUNK_UP._value.get() == 0

        # while it is down nothing is sent to it
        refused = await tel.place_call(kit.call_request(kit.tel("+15550000009")), kit.no_op)
        assert (refused.reason, refused.detail) == (HangupReason.FAILED, TRUNK_DOWN)
        assert len(trunk.invites) == 3

        # it is probed with OPTIONS; unanswered (or refused) probes keep it down
        await _until(lambda: trunk.options >= 2)
        assert tel.trunk_down() is not None

        trunk.mode = "up"
        await _until(lambda: tel.trunk_down() is None)
        assert trunk.options_answered >= 1
        assert tel.health()["sip"]["trunk_state"]["state"] == "up"
        assert SIP_TRUNK_UP._value.get() == 1
        back = await tel.place_call(kit.call_request(kit.tel("+15550000010")), kit.no_op)
        assert (back.reason, back.sip_code) == (HangupReason.BUSY, 486)
        assert len(trunk.invites) == 4
    finally:
        await tel.stop()


async def test_a_503_after_100_trying_is_the_far_end_not_the_trunk(
    kit: SimpleNamespace, tmp_path: Path
) -> None:
    """The test number plan's 503 numbers, relayed by a healthy trunk, never mark it down."""
    sock = rawsip.udp()  # a trunk answered by hand
    config = SipConfig(
        ("127.0.0.1", sock.getsockname()[1]), ("127.0.0.1", 0), "", "", 10,
        cache_dir=tmp_path, network=kit.loopback, trunk_rule=TrunkRule(faults=1),
    )  # fmt: skip
    tel = SipTelephony(config)
    await tel.start()
    try:
        call = asyncio.ensure_future(
            tel.place_call(kit.call_request(kit.tel("+15030000000")), kit.no_op)
        )
        invite, addr = await rawsip.recv_request(sock, "INVITE", within=10)
        sock.sendto(rawsip.reply(invite, 100), addr)
        sock.sendto(rawsip.reply(invite, 503), addr)
        outcome = await call
        assert (outcome.reason, outcome.sip_code) == (HangupReason.FAILED, 503)
        assert outcome.detail != TRUNK_DOWN
        assert tel.trunk_down() is None
    finally:
        await tel.stop()
        sock.close()


def test_rule_from_env() -> None:
    config = SipConfig.from_env(
        {
            "OUTDIAL_SIP_TRUNK_DOWN_AFTER": "7",
            "OUTDIAL_SIP_TRUNK_DOWN_WINDOW": "12.5",
            "OUTDIAL_SIP_TRUNK_PROBE": "2",
        }
    )
    assert config.trunk_rule == TrunkRule(7, 12.5, 2.0)
    assert SipConfig.from_env({}).trunk_rule == TrunkRule()


def test_rule_from_env_rejects_nonsense() -> None:
    with pytest.raises(SipConfigError, match="OUTDIAL_SIP_TRUNK_DOWN_AFTER"):
        SipConfig.from_env({"OUTDIAL_SIP_TRUNK_DOWN_AFTER": "0"})


async def test_engine_pauses_on_a_down_trunk_and_resumes(
    trunk: RawTrunk, kit: SimpleNamespace, tmp_path: Path, db: Database
) -> None:
    """End to end in one process: a campaign over a silent trunk; after the rule's faults the
    engine starts nothing, the attempts that failed because the trunk was down give their try
    back, and when the trunk answers a probe the campaign finishes."""
    services = Services.build(db, SystemClock())
    config = SipConfig(
        ("127.0.0.1", trunk.port), ("127.0.0.1", 0), "", "", 10,
        cache_dir=tmp_path, network=kit.loopback,
        trunk_rule=TrunkRule(faults=2, window_s=60, probe_s=0.1),
    )  # fmt: skip
    tel = SipTelephony(config)
    engine = Engine(
        DialingService(services.ctx), tel, services.ctx.clock,
        EngineConfig(tick_s=0.05, drain_timeout_s=1.0),
    )  # fmt: skip
    me = (await services.customers.create("trunk")).id
    plan = await services.outplans.create(
        me, {"dial_timeout": 5000, "try_interval": 0, "max_try_count_0": 1}
    )
    outdial = await services.outdials.create(me, {"name": "list"})
    for n in range(4):
        target = {"destination_0": {"type": "tel", "target": f"+1555000010{n}"}}
        await services.targets.create(me, outdial.id, target)
    campaign = await services.campaigns.create(
        me,
        {
            "outplan_id": str(plan.id),
            "outdial_id": str(outdial.id),
            "actions": [{"type": "hangup"}],
            "calls_per_second": 100,
        },
    )
    stop = asyncio.Event()
    await engine.open()
    runner = asyncio.create_task(engine.serve(stop))
    try:
        await services.campaigns.set_status(me, campaign.id, {"status": "run"})
        await _until(lambda: engine.trunk_paused)
        sent = len(trunk.invites)
        await _until(lambda: trunk.options >= 3)  # probed, unanswered: still paused
        assert len(trunk.invites) == sent and engine.trunk_paused
        trunk.mode = "up"
        await _until(lambda: not engine.trunk_paused)

        async def finished() -> bool:
            page = await services.targets.list(me, outdial.id, None, 100)
            return {t.status for t in page.items} == {"done"}

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not await finished():
            assert loop.time() < deadline, "campaign did not finish"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await runner
    calls = (await services.campaigncalls.list(me, None, 100, campaign_id=campaign.id)).items
    targets = (await services.targets.list(me, outdial.id, None, 100)).items
    # every target was tried exactly once where it counts; trunk_down attempts came on top
    assert all(t.try_counts[0] == 1 for t in targets)
    counted = [c for c in calls if c.hangup_detail != TRUNK_DOWN]
    assert len(counted) == 4
    assert {c.hangup_reason for c in counted} <= {"failed", "busy"}
    assert sum(c.hangup_reason == "busy" for c in counted) >= 2  # dialed after it came back
    assert all(c.hangup_reason == "failed" for c in calls if c.hangup_detail == TRUNK_DOWN)
    async with db.read() as conn:
        kinds = [
            row.type
            for row in await conn.execute(
                sa.select(events.c.type)
                .where(events.c.customer_id == me, events.c.type.in_(["trunk_down", "trunk_up"]))
                .order_by(events.c.id)
            )
        ]
    assert kinds == ["trunk_down", "trunk_up"]
