"""Guarded state changes (issue 15, item 5), on both databases: the campaign's type and its start
are checked by the write itself, so a change that lands between a read and the write is seen;
giving back more slots than `in_flight` counts is logged and counted, not hidden."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from outdial.domain.errors import FailedPrecondition, InvalidArgument
from outdial.domain.states import CampaignStatus
from outdial.metrics import IN_FLIGHT_DRIFT
from outdial.services import campaign_rules
from outdial.services import campaigns as campaign_service
from outdial.services.container import Services
from outdial.storage import repo
from outdial.storage.attempt_end import release
from outdial.storage.tables import campaigns

C = campaigns


async def _campaign(services: Services) -> tuple[uuid.UUID, uuid.UUID]:
    s = services
    me = (await s.customers.create("guards")).id
    outplan = await s.outplans.create(me, {"max_try_count_0": 1})
    outdial = await s.outdials.create(me, {"name": "list"})
    campaign = await s.campaigns.create(
        me,
        {
            "name": "c",
            "outplan_id": str(outplan.id),
            "outdial_id": str(outdial.id),
            "actions": [{"type": "talk", "option": {"text": "hi"}}],
        },
    )
    return me, campaign.id


async def _row(services: Services, campaign_id: uuid.UUID) -> Any:
    async with services.ctx.db.read() as conn:
        return await repo.get(conn, C, campaign_id)


async def test_the_type_changes_only_while_stopped(services: Services) -> None:
    me, cid = await _campaign(services)
    running = await services.campaigns.set_status(me, cid, {"status": "run"})
    assert running.status is CampaignStatus.RUN  # domain values hold the enum, not a string
    with pytest.raises(FailedPrecondition, match="type of a running campaign"):
        await services.campaigns.update(me, cid, {"type": "flow"}, part="basic")
    same = await services.campaigns.update(me, cid, {"type": "call", "name": "x"}, part="basic")
    assert (same.type, same.name) == ("call", "x")
    await services.campaigns.set_status(me, cid, {"status": "stop"})
    assert (await services.campaigns.update(me, cid, {"type": "flow"}, part="basic")).type == "flow"


async def test_a_start_between_the_read_and_the_type_change_wins(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row read says stop; the campaign starts before the write: the write refuses."""
    me, cid = await _campaign(services)
    real_owned = campaign_service.owned

    async def owned_then_started(conn: Any, *args: Any) -> Any:
        row = await real_owned(conn, *args)
        await conn.execute(sa.update(C).where(C.c.id == cid).values(status="run"))
        return row

    monkeypatch.setattr(campaign_service, "owned", owned_then_started)
    with pytest.raises(FailedPrecondition, match="type of a running campaign"):
        await services.campaigns.update(me, cid, {"type": "flow"}, part="basic")
    monkeypatch.undo()
    assert (await _row(services, cid)).type == "call"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"outdial_id": uuid.UUID(int=0)}, "INVALID_REFERENCE"),
        ({"tm_delete": 1}, "CAMPAIGN_DELETED"),
    ],
)
async def test_a_change_between_the_read_and_the_start_is_seen(
    services: Services, change: dict[str, Any], reason: str
) -> None:
    """`start` is handed the row as read; the campaign changes before the write: no start."""
    _, cid = await _campaign(services)
    async with services.ctx.db.write() as conn:
        stale = await repo.get(conn, C, cid)
        await conn.execute(sa.update(C).where(C.c.id == cid).values(**change))
        with pytest.raises(InvalidArgument) as raised:
            await campaign_rules.start(conn, stale, 5)
        assert raised.value.reason == reason
    assert (await _row(services, cid)).status == "stop"


async def test_release_logs_and_counts_a_drift(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    _, cid = await _campaign(services)
    async with services.ctx.db.write() as conn:
        await conn.execute(sa.update(C).where(C.c.id == cid).values(in_flight=3, status="run"))
        assert await release(conn, cid, 2, 10) is None  # the common case: no drift, no stop
    row = await _row(services, cid)
    assert (row.in_flight, row.status) == (1, "run")
    before = IN_FLIGHT_DRIFT._value.get()
    with caplog.at_level(logging.WARNING, logger="outdial.engine"):
        async with services.ctx.db.write() as conn:
            await conn.execute(sa.update(C).where(C.c.id == cid).values(status="stopping"))
            stopped = await release(conn, cid, 3, 20)  # 3 ended, 1 counted: a drift of 2
            assert stopped is not None and stopped.status == "stop"
    row = await _row(services, cid)
    assert (row.in_flight, row.status, row.tm_update) == (0, "stop", 20)
    assert IN_FLIGHT_DRIFT._value.get() == before + 2
    [record] = [r for r in caplog.records if "in_flight drift" in r.getMessage()]
    assert record.campaign_id == str(cid)  # type: ignore[attr-defined]
