"""Issue 5: webhook delivery to a receiver on 127.0.0.1: signed, in order per resource,
retried with backoff, every attempt recorded, replayable."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from outdial.clock import FakeClock
from outdial.domain.netpolicy import NetworkPolicy
from outdial.engine.webhooks import WebhookConfig, WebhookWorker, backoff_s
from outdial.services.container import Services
from outdial.services.webhooks import WebhookService
from outdial.signatures import SignatureError, verify
from outdial.storage.tables import customers, webhook_deliveries
from tests.receiver import Receiver


async def _customer_with_hook(services: Services, url: str) -> tuple[uuid.UUID, str]:
    me = (await services.customers.create("hooked")).id
    out = await services.events.set_webhook(me, me, {"webhook_uri": url})
    assert out["webhook_method"] == "POST"
    return me, out["webhook_secret"]


def _worker(services: Services, clock: FakeClock) -> WebhookWorker:
    return WebhookWorker(WebhookService(services.ctx), clock, WebhookConfig(timeout_s=2.0))


async def _drive(worker: WebhookWorker, rounds: int = 3) -> None:
    async with worker.connected():
        for _ in range(rounds):
            await worker.round()


async def test_events_are_signed_and_in_order(services: Services, clock: FakeClock) -> None:
    async with Receiver() as hook:
        me, secret = await _customer_with_hook(services, hook.url)
        outdial = await services.outdials.create(me, {"name": "a"})
        for n in range(5):
            await services.outdials.update(me, outdial.id, {"name": f"n{n}"})
        await _drive(_worker(services, clock))
        bodies = [r.json() for r in hook.received]
        assert [b["type"] for b in bodies] == ["outdial_created"] + ["outdial_updated"] * 5
        assert [b["data"]["name"] for b in bodies[1:]] == [f"n{n}" for n in range(5)]
        ids = [b["id"] for b in bodies]
        assert ids == sorted(ids)
        now = clock.now().timestamp()
        for r in hook.received:
            header = r.headers["x-outdial-signature"]
            assert header.startswith(f"t={int(now)},v1=") and header.count("v1=") == 1
            assert verify(header, r.body, secret, now=now) == int(now)
            assert r.method == "POST"
        with pytest.raises(SignatureError):  # another body, or too old, does not verify
            verify(hook.received[0].headers["x-outdial-signature"], b"{}", secret, now=now)
        with pytest.raises(SignatureError):
            verify(header, hook.received[-1].body, secret, now=now + 301)


async def test_failures_are_retried_with_backoff_and_recorded(
    services: Services, clock: FakeClock
) -> None:
    failing = {"on": True}
    async with Receiver(status=lambda _r: 503 if failing["on"] else 200) as hook:
        me, _ = await _customer_with_hook(services, hook.url)
        await services.outdials.create(me, {"name": "a"})
        worker = _worker(services, clock)
        await _drive(worker, rounds=1)
        assert len(hook.received) == 1
        await _drive(worker, rounds=2)  # backoff not over: nothing sent
        assert len(hook.received) == 1
        await clock.advance(backoff_s(1) + 0.1)
        await _drive(worker, rounds=1)
        assert len(hook.received) == 2
        failing["on"] = False
        await clock.advance(backoff_s(2) + 0.1)
        await _drive(worker, rounds=2)
        assert len(hook.received) == 3
        async with services.ctx.db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(webhook_deliveries)
                    .where(webhook_deliveries.c.customer_id == me)
                    .order_by(webhook_deliveries.c.id)
                )
            ).all()
        assert [(r.attempt, r.ok, r.status_code) for r in rows] == [
            (1, False, 503),
            (2, False, 503),
            (3, True, 200),
        ]
    assert sum(backoff_s(n) for n in range(1, WebhookConfig().max_attempts)) > 3600


async def test_a_failing_resource_does_not_reorder_its_events(
    services: Services, clock: FakeClock
) -> None:
    first_try = {"done": False}

    def status(r: object) -> int:
        if not first_try["done"]:
            first_try["done"] = True
            return 500
        return 200

    async with Receiver(status=status) as hook:
        me, _ = await _customer_with_hook(services, hook.url)
        outdial = await services.outdials.create(me, {"name": "a"})
        await services.outdials.update(me, outdial.id, {"name": "b"})
        worker = _worker(services, clock)
        await _drive(worker, rounds=1)
        await clock.advance(2)
        await _drive(worker, rounds=2)
        names = [r.json()["data"]["name"] for r in hook.received]
        assert names == ["a", "a", "b"]  # the update never overtakes the failed create


async def test_replay_sends_again_from_an_event_id(services: Services, clock: FakeClock) -> None:
    async with Receiver() as hook:
        me, _ = await _customer_with_hook(services, hook.url)
        for n in range(3):
            await services.outdials.create(me, {"name": f"o{n}"})
        worker = _worker(services, clock)
        await _drive(worker)
        ids = [r.json()["id"] for r in hook.received]
        assert len(ids) == 3
        await services.events.replay(me, ids[1])
        await _drive(worker)
        assert [r.json()["id"] for r in hook.received] == [*ids, *ids[1:]]


async def test_unreachable_receiver_counts_as_failure(services: Services, clock: FakeClock) -> None:
    me = (await services.customers.create("x")).id
    await services.events.set_webhook(me, me, {"webhook_uri": "http://127.0.0.1:9/hook"})
    await services.outdials.create(me, {"name": "a"})
    await _drive(_worker(services, clock), rounds=1)
    async with services.ctx.db.read() as conn:
        row = (
            await conn.execute(
                sa.select(webhook_deliveries).where(webhook_deliveries.c.customer_id == me)
            )
        ).one()
    # a short kind, never the remote's error text (which would be a port-scan oracle)
    assert (row.ok, row.status_code, row.error) == (False, None, "connect_failed")


async def _deliveries(services: Services, me: uuid.UUID) -> list[Any]:
    async with services.ctx.db.read() as conn:
        return list(
            (
                await conn.execute(
                    sa.select(webhook_deliveries)
                    .where(webhook_deliveries.c.customer_id == me)
                    .order_by(webhook_deliveries.c.id)
                )
            ).all()
        )


async def test_a_receiver_slower_than_the_timeout_fails_the_attempt(
    services: Services, clock: FakeClock
) -> None:
    async with Receiver(delay_s=1.0) as hook:
        me, _ = await _customer_with_hook(services, hook.url)
        await services.outdials.create(me, {"name": "a"})
        config = WebhookConfig(timeout_s=0.2)
        worker = WebhookWorker(WebhookService(services.ctx), clock, config)
        await _drive(worker, rounds=1)
    (row,) = await _deliveries(services, me)
    assert (row.ok, row.status_code, row.error) == (False, None, "timeout")


async def test_redirects_are_not_followed(services: Services, clock: FakeClock) -> None:
    """A 3xx is the receiver's answer, recorded as a failure; the event never goes elsewhere."""
    async with Receiver(status=lambda _r: 307) as hook:
        me, _ = await _customer_with_hook(services, hook.url)
        await services.outdials.create(me, {"name": "a"})
        await _drive(_worker(services, clock), rounds=1)
        assert len(hook.received) == 1
    (row,) = await _deliveries(services, me)
    assert (row.ok, row.status_code, row.error) == (False, 307, "http_3xx")


async def test_a_rotated_secret_signs_beside_the_new_one_for_24_hours(
    services: Services, clock: FakeClock
) -> None:
    async with Receiver() as hook:
        me, old = await _customer_with_hook(services, hook.url)
        rotated = await services.accounts.rotate_webhook_secret(me, me)
        new = rotated["webhook_secret"]
        assert new != old and len(new) == 64
        await services.outdials.create(me, {"name": "a"})
        worker = _worker(services, clock)
        await _drive(worker, rounds=1)
        first = hook.received[-1]
        header = first.headers["x-outdial-signature"]
        assert header.count("v1=") == 2
        now = clock.now().timestamp()
        verify(header, first.body, new, now=now)
        verify(header, first.body, old, now=now)
        await clock.advance(24 * 3600 + 1)
        await services.outdials.create(me, {"name": "b"})
        await _drive(worker, rounds=1)
        last = hook.received[-1]
        header = last.headers["x-outdial-signature"]
        assert header.count("v1=") == 1
        now = clock.now().timestamp()
        verify(header, last.body, new, now=now)
        with pytest.raises(SignatureError):
            verify(header, last.body, old, now=now)


async def test_deliveries_to_blocked_addresses_are_recorded_and_never_sent(
    services: Services, clock: FakeClock
) -> None:
    """With the default policy (nothing private open) a receiver on loopback is never
    reached: neither as a literal nor through a name that resolves to it."""
    async with Receiver() as hook:
        me, _ = await _customer_with_hook(services, hook.url)
        await services.outdials.create(me, {"name": "a"})
        closed = WebhookConfig(timeout_s=2.0, network=NetworkPolicy())
        worker = WebhookWorker(WebhookService(services.ctx), clock, closed)
        await _drive(worker, rounds=1)
        async with services.ctx.db.write() as conn:  # as if the name resolved elsewhere at PUT
            await conn.execute(
                sa.update(customers)
                .where(customers.c.id == me)
                .values(webhook_uri=f"http://localhost:{hook.port}/hook")
            )
        await clock.advance(backoff_s(1) + 0.1)
        await _drive(worker, rounds=1)
        assert hook.received == []
    rows = await _deliveries(services, me)
    assert [(r.ok, r.status_code, r.error) for r in rows] == [(False, None, "blocked")] * 2


def _verified(secret: str, body: bytes, header: str, now: float) -> bool:
    """The receiver's check, as docs/events.md gives it (`outdial.signatures.verify`)."""
    try:
        verify(header, body, secret, now=now)
    except SignatureError:
        return False
    return True


async def test_a_signature_holds_only_for_its_own_secret_and_body(
    services: Services, clock: FakeClock
) -> None:
    """Negative cases of the documented check: another customer's secret, a changed body, a
    different algorithm's label or another event's signature never verify."""
    async with Receiver() as hook_a, Receiver() as hook_b:
        me, secret = await _customer_with_hook(services, hook_a.url)
        other, other_secret = await _customer_with_hook(services, hook_b.url)
        assert secret != other_secret
        await services.outdials.create(me, {"name": "a"})
        await services.outdials.create(me, {"name": "b"})
        await services.outdials.create(other, {"name": "c"})
        worker = _worker(services, clock)
        await _drive(worker)
        first, second = hook_a.received
        (theirs,) = hook_b.received
        now = clock.now().timestamp()
        for got in (first, second):
            header = got.headers["x-outdial-signature"]
            assert _verified(secret, got.body, header, now)
            assert not _verified(other_secret, got.body, header, now)
            tampered = got.body.replace(b"outdial_created", b"outdial_deleted")
            assert tampered != got.body and not _verified(secret, tampered, header, now)
            assert not _verified(secret, got.body + b" ", header, now)
            assert not _verified(secret, got.body, header.replace("v1=", "v0="), now)
        assert not _verified(secret, second.body, first.headers["x-outdial-signature"], now)
        assert not _verified(secret, theirs.body, theirs.headers["x-outdial-signature"], now)
        assert _verified(other_secret, theirs.body, theirs.headers["x-outdial-signature"], now)
