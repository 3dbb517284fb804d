"""Issue 5 over the API: campaign stats, customers' webhook settings, replay, metrics."""

from __future__ import annotations

import json
import logging
import uuid

from outdial.clock import FakeClock
from outdial.engine.webhooks import WebhookConfig, WebhookWorker
from outdial.logs import JsonFormatter
from outdial.services.container import Services
from outdial.services.webhooks import WebhookService
from tests.api.helpers import error
from tests.conftest import Tenant
from tests.engine.harness import Harness
from tests.receiver import Receiver


async def test_campaign_stats(services: Services, clock: FakeClock, tenant: Tenant) -> None:
    async with Harness(services, clock) as h:
        h.customer_id = tenant.customer_id
        _, _, campaign = await h.setup(
            ["+15550000001", "+4865550002", "+4805550003", "+4085550004"],
            outplan={"max_try_count_0": 1, "try_interval": 0, "dial_timeout": 3000},
            calls_per_second=100,
        )
        await h.run(campaign.id)
        await h.tick(0.1, rounds=3)
        live = await tenant.ok("GET", f"/v1.0/campaigns/{campaign.id}/stats")
        assert live["calls_in_flight"] >= 1
        assert live["targets_by_status"]["progressing"] == live["calls_in_flight"]
        await h.tick(1.0, rounds=5)
        stats = await tenant.ok("GET", f"/v1.0/campaigns/{campaign.id}/stats")
    assert stats["status"] == "stop"
    assert stats["targets_by_status"] == {"idle": 0, "progressing": 0, "done": 4}
    assert stats["attempts_total"] == stats["attempts_finished"] == 4
    assert stats["attempts_by_result"] == {"success": 1, "fail": 3}
    assert stats["attempts_by_hangup_reason"] == {
        "normal": 1,
        "busy": 1,
        "noanswer": 1,
        "dialout": 1,
    }
    assert stats["calls_in_flight"] == 0
    assert stats["answer_rate"] == 0.25
    minutes = stats["calls_per_minute"]
    assert len(minutes) == 60
    assert sum(m["count"] for m in minutes) == 4
    assert minutes[-1]["minute"].endswith(":00.000000")


async def test_stats_of_another_customers_campaign_is_404(
    services: Services, tenant: Tenant, other_tenant: Tenant
) -> None:
    campaign = await tenant.ok("POST", "/v1.0/campaigns", json={"name": "c"})
    r = await other_tenant.call("GET", f"/v1.0/campaigns/{campaign['id']}/stats")
    theirs = error(r, 404, "NOT_FOUND", "CAMPAIGN_NOT_FOUND")
    nobody = str(uuid.uuid4())
    missing = await other_tenant.call("GET", f"/v1.0/campaigns/{nobody}/stats")
    absent = error(missing, 404, "NOT_FOUND", "CAMPAIGN_NOT_FOUND")
    # the same answer as for a campaign that does not exist
    assert theirs["message"].replace(campaign["id"], "ID") == absent["message"].replace(
        nobody, "ID"
    )
    mine = await tenant.ok("GET", f"/v1.0/campaigns/{campaign['id']}/stats")
    assert mine["status"] == "stop" and mine["attempts_total"] == 0


async def test_customer_webhook_settings(tenant: Tenant, other_tenant: Tenant) -> None:
    me = str(tenant.customer_id)
    got = await tenant.ok("GET", f"/v1.0/customers/{me}")
    assert got["webhook_uri"] == "" and got["id"] == me
    put = await tenant.ok(
        "PUT",
        f"/v1.0/customers/{me}",
        json={"webhook_uri": "http://127.0.0.1:9999/hook", "webhook_method": "post"},
    )
    assert put["webhook_method"] == "POST"
    assert len(put["webhook_secret"]) == 64
    again = await tenant.ok("GET", f"/v1.0/customers/{me}")
    assert again["webhook_uri"] == "http://127.0.0.1:9999/hook"
    assert "webhook_secret" not in again
    r = await other_tenant.call("PUT", f"/v1.0/customers/{me}", json={"webhook_uri": "http://x"})
    error(r, 404, "NOT_FOUND")
    r = await other_tenant.call("GET", f"/v1.0/customers/{me}")
    error(r, 404, "NOT_FOUND")
    r = await tenant.call("PUT", f"/v1.0/customers/{me}", json={"webhook_uri": "ftp://x"})
    assert "webhook_uri" in error(r, 400, "INVALID_ARGUMENT")["message"]
    r = await tenant.call("PUT", f"/v1.0/customers/{me}", json={"webhook_method": "GET"})
    assert "webhook_method" in error(r, 400, "INVALID_ARGUMENT")["message"]
    # neither the other customer's attempt nor the refused changes touched the settings
    assert await tenant.ok("GET", f"/v1.0/customers/{me}") == again
    theirs = await other_tenant.ok("GET", f"/v1.0/customers/{other_tenant.customer_id}")
    assert theirs["webhook_uri"] == ""


async def test_the_caller_reads_its_own_customer_without_knowing_its_id(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await tenant.ok("GET", "/v1.0/customer")
    assert mine == await tenant.ok("GET", f"/v1.0/customers/{tenant.customer_id}")
    theirs = await other_tenant.ok("GET", "/v1.0/customer")
    assert theirs["id"] == str(other_tenant.customer_id) != mine["id"]


async def test_replay(
    services: Services, clock: FakeClock, tenant: Tenant, other_tenant: Tenant
) -> None:
    r = await other_tenant.call("POST", "/v1.0/events/replay", json={"from_event_id": 1})
    error(r, 400, "INVALID_ARGUMENT", "WEBHOOK_NOT_CONFIGURED")  # no webhook configured
    me = str(tenant.customer_id)
    worker = WebhookWorker(WebhookService(services.ctx), clock, WebhookConfig(timeout_s=5.0))
    async with Receiver() as hook:
        await tenant.ok("PUT", f"/v1.0/customers/{me}", json={"webhook_uri": hook.url})
        for n in range(3):
            await tenant.ok("POST", "/v1.0/outdials", json={"name": f"o{n}"})
        async with worker.connected():
            await worker.round()
            sent = [r.json()["id"] for r in hook.received]
            assert len(sent) == 3
            out = await tenant.ok("POST", "/v1.0/events/replay", json={"from_event_id": sent[1]})
            assert out == {"customer_id": me, "from_event_id": sent[1]}
            await worker.round()
            assert [r.json()["id"] for r in hook.received] == [*sent, *sent[1:]]
            r = await tenant.call("POST", "/v1.0/events/replay", json={"from_event_id": -1})
            assert "from_event_id" in error(r, 400, "INVALID_ARGUMENT")["message"]
            await worker.round()
            assert len(hook.received) == 5  # the refused replay moved nothing


async def test_metrics(tenant: Tenant) -> None:
    await tenant.ok("GET", "/v1.0/campaigns")
    r = await tenant.client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    for name in (
        "outdial_attempts_started_total",
        "outdial_attempts_finished_total",
        "outdial_calls_in_flight",
        "outdial_claim_seconds_bucket",
        "outdial_webhook_delivery_failures_total",
    ):
        assert name in text or name.removesuffix("_total") in text, name
    assert (
        'outdial_api_request_seconds_count{method="GET",route="/v1.0/campaigns",status="200"}'
        in text
    )


def test_json_log_lines_carry_the_ids() -> None:
    record = logging.LogRecord(
        "outdial.engine", logging.INFO, __file__, 1, "ended %s", ("x",), None
    )
    record.campaign_id = "c1"
    record.campaigncall_id = "cc1"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "ended x"
    assert line["level"] == "INFO" and line["logger"] == "outdial.engine"
    assert line["campaign_id"] == "c1" and line["campaigncall_id"] == "cc1"
    assert "target_id" not in line and "time" in line
