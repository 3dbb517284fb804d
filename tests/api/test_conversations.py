"""Issue 12 over the API: the campaign's `opt_out` setting, the campaigncall's new fields and
the recordings resource (`/v1.0/recordings`), with retention."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.domain.outcome import CallOutcome, HangupReason, RecordingFile
from outdial.services.container import Services
from outdial.services.dialing import DialingService
from outdial.services.recordings import RecordingService
from outdial.settings import RecordingSettings
from outdial.storage.tables import events
from tests.api.helpers import (
    CAMPAIGNCALL_FIELDS,
    NIL,
    SENTINEL,
    error,
    insert_campaigncall,
    make_campaign,
    make_outdial,
    make_outplan,
)
from tests.api.test_media import wav
from tests.conftest import Tenant

RECORDING_FIELDS = [
    "id",
    "customer_id",
    "activeflow_id",
    "reference_type",
    "reference_id",
    "status",
    "format",
    "on_end_flow_id",
    "tm_start",
    "tm_end",
    "tm_create",
    "tm_update",
    "tm_delete",
    "campaign_id",
    "campaigncall_id",
    "channels",
    "duration_ms",
    "detail",
]


async def _dnclist(t: Tenant) -> str:
    made = await t.ok("POST", "/v1.0/dnclists", json={"name": "opted out"})
    return str(made["id"])


async def test_opt_out_setting_is_validated_and_stored(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await _dnclist(tenant)
    theirs = await _dnclist(other_tenant)
    setting = {"key": "#", "dnclist_id": mine, "confirmation": "Removed. Goodbye."}
    created = await make_campaign(tenant, opt_out=setting)
    assert created["opt_out"] == setting
    got = await tenant.ok("GET", f"/v1.0/campaigns/{created['id']}")
    assert got["opt_out"] == setting
    plain = await make_campaign(tenant)
    assert plain["opt_out"] is None
    path = f"/v1.0/campaigns/{created['id']}"
    # a PUT without opt_out keeps it; null turns it off
    assert (await tenant.ok("PUT", path, json={"name": "x"}))["opt_out"] == setting
    assert (await tenant.ok("PUT", path, json={"opt_out": None}))["opt_out"] is None
    changed = await tenant.ok("PUT", path, json={"opt_out": {"key": "9", "dnclist_id": mine}})
    assert changed["opt_out"] == {"key": "9", "dnclist_id": mine, "confirmation": ""}
    for bad, field in (
        ({"key": "x", "dnclist_id": mine}, "opt_out.key"),
        ({"key": "12", "dnclist_id": mine}, "opt_out.key"),
        ({"key": "1"}, "opt_out.dnclist_id"),
        ({"key": "1", "dnclist_id": NIL}, "opt_out.dnclist_id"),
        ({"key": "1", "dnclist_id": theirs}, "opt_out.dnclist_id"),
        ({"key": "1", "dnclist_id": str(uuid.uuid4())}, "opt_out.dnclist_id"),
        ({"key": "1", "dnclist_id": mine, "confirmation": 5}, "opt_out.confirmation"),
    ):
        err = error(
            await tenant.call("POST", "/v1.0/campaigns", json={"opt_out": bad}),
            400,
            "INVALID_ARGUMENT",
        )
        assert field in err["message"], err
        err = error(await tenant.call("PUT", path, json={"opt_out": bad}), 400, "INVALID_ARGUMENT")
        assert field in err["message"], err


async def test_unknown_action_type_is_a_400_naming_the_action(tenant: Tenant) -> None:
    actions = [{"type": "talk", "option": {"text": "hi"}}, {"type": "bogus_type"}]
    err = error(
        await tenant.call("POST", "/v1.0/campaigns", json={"actions": actions}),
        400,
        "INVALID_ARGUMENT",
    )
    assert "actions[1].type" in err["message"]
    created = await make_campaign(tenant)
    bad = [{"type": "amd", "option": {"machine_handle": "drop"}}]
    err = error(
        await tenant.call("PUT", f"/v1.0/campaigns/{created['id']}/actions", json={"actions": bad}),
        400,
        "INVALID_ARGUMENT",
    )
    assert "actions[0].option.machine_handle" in err["message"]


async def _ended_call(
    services: Services, tenant: Tenant, outcome: CallOutcome
) -> tuple[dict[str, Any], str]:
    outplan = await make_outplan(tenant)
    outdial = await make_outdial(tenant)
    campaign = await make_campaign(tenant, outplan_id=outplan["id"], outdial_id=outdial["id"])
    call_id = await insert_campaigncall(
        services, tenant.customer_id, campaign, status="progressing"
    )
    await DialingService(services.ctx).attempts.record([], [(uuid.UUID(call_id), outcome)])
    return campaign, call_id


def _file(path: Path, rec_id: uuid.UUID, status: str = "ended") -> RecordingFile:
    return RecordingFile(
        rec_id,
        str(path),
        "wav",
        2,
        500,
        status,
        "" if status == "ended" else "recording is off (no OUTDIAL_RECORDINGS_DIR)",
        "2026-01-05 12:00:01.000000" if status == "ended" else "",
        "2026-01-05 12:00:01.500000" if status == "ended" else "",
    )


async def test_campaigncall_shows_what_the_call_heard(services: Services, tenant: Tenant) -> None:
    outcome = CallOutcome(
        HangupReason.AMD, answered=True, amd_result="machine", amd_ms=2750, digits="12#"
    )
    _, call_id = await _ended_call(services, tenant, outcome)
    call = await tenant.ok("GET", f"/v1.0/campaigncalls/{call_id}")
    assert list(call) == CAMPAIGNCALL_FIELDS
    assert (call["result"], call["hangup_reason"]) == ("fail", "amd")
    assert (call["amd_result"], call["amd_ms"], call["digits"], call["opted_out"]) == (
        "machine",
        2750,
        "12#",
        False,
    )


async def test_recordings_list_get_stream_delete(
    services: Services, tenant: Tenant, other_tenant: Tenant, tmp_path: Path
) -> None:
    data = wav(0.5, 8000, 2)
    good_id, failed_id = uuid.uuid4(), uuid.uuid4()
    path = tmp_path / f"{good_id}.wav"
    path.write_bytes(data)
    outcome = CallOutcome(
        HangupReason.NORMAL,
        answered=True,
        sip_code=200,
        recordings=(_file(path, good_id), _file(Path(""), failed_id, "failed")),
    )
    campaign, call_id = await _ended_call(services, tenant, outcome)
    page = await tenant.ok("GET", "/v1.0/recordings")
    assert sorted(r["id"] for r in page["result"]) == sorted([str(good_id), str(failed_id)])
    assert page["next_page_token"]
    one = await tenant.ok("GET", f"/v1.0/recordings/{good_id}")
    assert list(one) == RECORDING_FIELDS
    assert (one["campaigncall_id"], one["campaign_id"]) == (call_id, campaign["id"])
    assert (one["status"], one["format"], one["channels"], one["duration_ms"]) == (
        "ended",
        "wav",
        2,
        500,
    )
    assert (one["reference_type"], one["tm_start"], one["tm_delete"]) == (
        "call",
        "2026-01-05 12:00:01.000000",
        SENTINEL,
    )
    assert "path" not in one and str(tmp_path) not in str(one)
    filtered = await tenant.ok("GET", f"/v1.0/recordings?campaigncall_id={call_id}&page_size=1")
    assert len(filtered["result"]) == 1
    streamed = await tenant.call("GET", f"/v1.0/recordings/{good_id}/file")
    assert streamed.status_code == 200
    assert streamed.headers["content-type"] == "audio/wav"
    assert streamed.content == data
    failed = await tenant.ok("GET", f"/v1.0/recordings/{failed_id}")
    assert (failed["status"], failed["tm_start"]) == ("failed", "")
    assert "OUTDIAL_RECORDINGS_DIR" in failed["detail"]
    error(await tenant.call("GET", f"/v1.0/recordings/{failed_id}/file"), 404, "NOT_FOUND")
    # another customer sees nothing
    assert (await other_tenant.ok("GET", "/v1.0/recordings"))["result"] == []
    for method, suffix in (("GET", ""), ("GET", "/file"), ("DELETE", "")):
        r = await other_tenant.call(method, f"/v1.0/recordings/{good_id}{suffix}")
        error(r, 404, "NOT_FOUND", "RECORDING_NOT_FOUND")
    error(await tenant.call("GET", "/v1.0/recordings/nope"), 400, "INVALID_ARGUMENT", "INVALID_ID")
    # the end of the attempt wrote one event per recording
    assert sorted(await _recording_events(services, "recording_finished")) == sorted(
        [str(good_id), str(failed_id)]
    )
    # delete: the row stays readable, the file is gone
    deleted = await tenant.ok("DELETE", f"/v1.0/recordings/{good_id}")
    assert deleted["tm_delete"] != SENTINEL
    assert not path.exists()
    assert (await tenant.ok("GET", f"/v1.0/recordings/{good_id}"))["tm_delete"] != SENTINEL
    error(await tenant.call("GET", f"/v1.0/recordings/{good_id}/file"), 404, "NOT_FOUND")
    listed = await tenant.ok("GET", "/v1.0/recordings")
    assert [r["id"] for r in listed["result"]] == [str(failed_id)]
    again = await tenant.ok("DELETE", f"/v1.0/recordings/{good_id}")
    assert again["tm_delete"] == deleted["tm_delete"]
    assert await _recording_events(services, "recording_deleted") == [str(good_id)]


async def _recording_events(services: Services, kind: str) -> list[str]:
    async with services.ctx.db.read() as conn:
        found = await conn.execute(sa.select(events.c.data).where(events.c.type == kind))
        return [json.loads(row.data)["id"] for row in found.all()]


async def test_retention_deletes_old_recordings(
    services: Services, clock: FakeClock, tenant: Tenant, tmp_path: Path
) -> None:
    old_id = uuid.uuid4()
    old_path = tmp_path / "old.wav"
    old_path.write_bytes(wav())
    await _ended_call(
        services,
        tenant,
        CallOutcome(HangupReason.NORMAL, answered=True, recordings=(_file(old_path, old_id),)),
    )
    await clock.advance(timedelta(days=3).total_seconds())
    new_id = uuid.uuid4()
    new_path = tmp_path / "new.wav"
    new_path.write_bytes(wav())
    await _ended_call(
        services,
        tenant,
        CallOutcome(HangupReason.NORMAL, answered=True, recordings=(_file(new_path, new_id),)),
    )
    service = RecordingService(services.ctx)
    assert await service.prune(0) == 0  # 0 days: kept until deleted
    assert await service.prune(2) == 1
    assert not old_path.exists() and new_path.exists()
    listed = await tenant.ok("GET", "/v1.0/recordings")
    assert [r["id"] for r in listed["result"]] == [str(new_id)]
    assert await service.prune(2) == 0


def test_recording_settings_from_the_environment() -> None:
    assert RecordingSettings.from_env({}) == RecordingSettings("", 0.0)
    env = {"OUTDIAL_RECORDINGS_DIR": "/srv/rec", "OUTDIAL_RECORDINGS_RETENTION_DAYS": "90"}
    assert RecordingSettings.from_env(env) == RecordingSettings("/srv/rec", 90.0)
    for bad in ("x", "-1"):
        with pytest.raises(ValueError, match="RETENTION"):
            RecordingSettings.from_env({"OUTDIAL_RECORDINGS_RETENTION_DAYS": bad})
