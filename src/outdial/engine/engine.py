"""The dialer loop. It owns its tasks: claiming, attempts, the ledger, heartbeat, recovery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from outdial.clock import Clock
from outdial.domain.address import DIALABLE_TYPES, Address, AddressType
from outdial.domain.outcome import CallOutcome, HangupReason
from outdial.domain.pacing import start_interval_us, starts_allowed
from outdial.domain.states import EndHandle
from outdial.engine.ledger import Ledger
from outdial.engine.outbound import BLOCKED, PlayGuard
from outdial.metrics import ATTEMPTS_STARTED, CALLS_IN_FLIGHT, CLAIM_SECONDS
from outdial.services.dialing import DialingService, Running
from outdial.storage.claim import Claimed
from outdial.storage.timeconv import to_us
from outdial.telephony.base import CallRequest, Telephony

log = logging.getLogger("outdial.engine")
NO_SOURCE = Address(AddressType.NONE, "")


@dataclass(frozen=True, slots=True)
class EngineConfig:
    tick_s: float = 0.1  # how often running campaigns are looked at
    max_batch: int = 200  # attempts started per claim transaction, at most
    heartbeat_s: float = 2.0
    stale_after_s: float = 10.0  # an engine silent this long is dead; its attempts are lost
    recover_every_s: float = 2.0
    max_call_s: float = 3600.0  # the longest answered call before the engine hangs up
    lease_grace_s: float = 60.0
    end_check_s: float = 1.0
    drain_timeout_s: float = 10.0  # on SIGTERM, how long calls in flight may go on
    # A claim that finds nothing due (every target cooling down, asleep until its calling
    # window opens, or in flight) walks the campaign's whole idle index: over a large list
    # that is tens of ms, ten times a second. After such an empty claim the campaign rests
    # rest_factor times as long as the claim took (so empty claims use at most about 1/20 of
    # the time), at most rest_max_s; cheap empty claims (small lists) bring no rest at all.
    rest_factor: float = 20.0
    rest_max_s: float = 2.0


class Engine:
    def __init__(
        self,
        dialing: DialingService,
        telephony: Telephony,
        clock: Clock,
        config: EngineConfig | None = None,
        engine_id: str | None = None,
    ) -> None:
        self.dialing = dialing
        self.telephony = telephony
        self.clock = clock
        self.config = config or EngineConfig()
        self.id = engine_id or f"engine-{uuid.uuid4()}"
        self.ledger = Ledger(dialing.attempts)
        self.attempts: set[asyncio.Task[None]] = set()
        self.started = 0
        self._last_end_check: dict[uuid.UUID, float] = {}
        self._rest: dict[uuid.UUID, float] = {}  # campaign -> rests until (clock seconds)
        self._side: list[asyncio.Task[None]] = []
        self.play_guard = PlayGuard(dialing.ctx.network)

    # ---- lifecycle -------------------------------------------------------------------------
    async def open(self) -> None:
        await self.telephony.start()
        await self.dialing.registry.register(self.id)
        self._side = [asyncio.create_task(self.ledger.run(), name="ledger")]
        log.info("engine %s started", self.id)

    async def close(self) -> None:
        """Drain: no new attempts; in-flight ones finish or are hung up and recorded."""
        if self.attempts:
            log.info("draining %d attempts", len(self.attempts))
            _, pending = await asyncio.wait(self.attempts, timeout=self.config.drain_timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self.ledger.flush()
        for task in self._side:
            task.cancel()
        await asyncio.gather(*self._side, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.dialing.registry.unregister(self.id)
        await self.telephony.stop()
        log.info("engine %s stopped", self.id)

    async def run(self, stop: asyncio.Event) -> None:
        """Open, dial until `stop` is set, then drain and close."""
        await self.open()
        await self.serve(stop)

    async def serve(self, stop: asyncio.Event) -> None:
        """Dial until `stop` is set, then drain and close (after `open`)."""
        loops = [
            asyncio.create_task(self._every(self.config.heartbeat_s, self._heartbeat, stop)),
            asyncio.create_task(self._every(self.config.recover_every_s, self.recover, stop)),
        ]
        try:
            await self._every(self.config.tick_s, self.step, stop)
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await self.close()

    async def _every(
        self, seconds: float, action: Callable[[], Awaitable[object]], stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            try:
                await action()
            except Exception:  # one failed round (database away) must not end the engine
                log.exception("engine round failed: %s", getattr(action, "__name__", action))
            sleeper = asyncio.create_task(self.clock.sleep(seconds))
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for task in (sleeper, stopper):
                task.cancel()

    async def _heartbeat(self) -> None:
        await self.dialing.registry.heartbeat(self.id)

    async def recover(self) -> int:
        return await self.dialing.attempts.recover(int(self.config.stale_after_s * 1_000_000))

    # ---- one round -------------------------------------------------------------------------
    async def step(self) -> int:
        """Look at every running campaign once; start what may start. Returns attempts started."""
        started = 0
        roster = await self.dialing.campaigns.running()
        if roster.broken:
            await self.dialing.campaigns.stop_broken(roster.broken)
        for run in roster.runnable:
            count = 0 if self._resting(run.campaign.id) else await self._dial(run)
            started += count
            if count == 0 and run.campaign.end_handle == EndHandle.STOP.value:
                await self._maybe_end(run)
        return started

    async def _dial(self, run: Running) -> int:
        campaign, plan = run.campaign, run.outplan
        step = start_interval_us(campaign.calls_per_second)
        lease_us = int(
            (plan.dial_timeout / 1000 + self.config.max_call_s + self.config.lease_grace_s)
            * 1_000_000
        )
        started = 0
        while True:
            now = to_us(self.clock.now())
            limit = starts_allowed(
                in_flight=run.in_flight,
                max_concurrent=campaign.max_concurrent_calls,
                calls_per_second=campaign.calls_per_second,
                pace_next_us=run.pace_next_us,
                now_us=now,
                window_s=self.config.tick_s,
                max_batch=self.config.max_batch,
            )
            if limit <= 0:
                return started
            began = time.perf_counter()
            claim = await self.dialing.attempts.claim(
                run, limit=limit, pace_step_us=step, lease_us=lease_us, engine_id=self.id
            )
            CLAIM_SECONDS.observe(time.perf_counter() - began)
            if claim is None:
                return started  # stopped, full or paced meanwhile
            if not (claim.attempts or claim.skipped):
                self._rest_after(campaign.id, time.perf_counter() - began)  # nothing due
                return started
            self._rest.pop(campaign.id, None)
            for attempt in claim.attempts:
                self._spawn(attempt, campaign.actions)
            started += len(claim.attempts)
            self.started += len(claim.attempts)
            ATTEMPTS_STARTED.inc(len(claim.attempts))
            if claim.attempts:
                run = replace(run, in_flight=claim.in_flight, pace_next_us=claim.pace_next_us)
            # targets the compliance rules put aside leave room for others in this round
            if len(claim.attempts) + claim.skipped < limit:
                return started

    def _resting(self, campaign_id: uuid.UUID) -> bool:
        return self.clock.now().timestamp() < self._rest.get(campaign_id, 0.0)

    def _rest_after(self, campaign_id: uuid.UUID, claim_s: float) -> None:
        length = min(self.config.rest_max_s, claim_s * self.config.rest_factor)
        if length <= self.config.tick_s:
            self._rest.pop(campaign_id, None)
            return
        self._rest[campaign_id] = self.clock.now().timestamp() + length

    async def _maybe_end(self, run: Running) -> None:
        now = self.clock.now().timestamp()
        last = self._last_end_check.get(run.campaign.id, 0.0)
        if now - last < self.config.end_check_s:
            return
        self._last_end_check[run.campaign.id] = now
        await self.dialing.campaigns.end_if_done(run)

    # ---- attempts --------------------------------------------------------------------------
    def _spawn(self, attempt: Claimed, actions: list[dict[str, Any]]) -> None:
        task = asyncio.create_task(
            self._attempt(attempt, actions), name=f"attempt-{attempt.campaigncall_id}"
        )
        self.attempts.add(task)
        CALLS_IN_FLIGHT.inc()
        task.add_done_callback(self._attempt_done)

    def _attempt_done(self, task: asyncio.Task[None]) -> None:
        self.attempts.discard(task)
        CALLS_IN_FLIGHT.dec()

    async def _attempt(self, attempt: Claimed, actions: list[dict[str, Any]]) -> None:
        ids = (
            f"campaign={attempt.campaign_id} target={attempt.target_id} "
            f"campaigncall={attempt.campaigncall_id}"
        )
        extra = {
            "campaign_id": attempt.campaign_id,
            "target_id": attempt.target_id,
            "campaigncall_id": attempt.campaigncall_id,
        }
        if attempt.destination.type not in DIALABLE_TYPES:
            log.info(
                "attempt failed: %s type %s cannot be dialed",
                ids,
                attempt.destination.type,
                extra=extra,
            )
            self.ledger.ended(
                attempt.campaigncall_id,
                CallOutcome(
                    HangupReason.FAILED, detail=f"{attempt.destination.type.value} not dialable"
                ),
            )
            return
        why = await self.play_guard.blocked(actions)
        if why is not None:
            log.warning("attempt failed: %s %s", ids, why, extra=extra)
            self.ledger.ended(
                attempt.campaigncall_id, CallOutcome(HangupReason.FAILED, detail=BLOCKED)
            )
            return
        request = CallRequest(
            call_id=attempt.reference_id,
            source=attempt.source or NO_SOURCE,
            destination=attempt.destination,
            dial_timeout_ms=attempt.dial_timeout_ms,
            actions=list(actions),
            sip_headers=attempt.sip_headers,
        )

        async def on_answer() -> None:
            self.ledger.answered(attempt.campaigncall_id)

        limit = attempt.dial_timeout_ms / 1000 + self.config.max_call_s
        try:
            async with asyncio.timeout(limit):
                outcome = await self.telephony.place_call(request, on_answer)
        except TimeoutError:
            outcome = CallOutcome(HangupReason.TIMEOUT, detail="longest call time reached")
        except asyncio.CancelledError:
            self.ledger.ended(
                attempt.campaigncall_id,
                CallOutcome(HangupReason.CANCEL, detail="engine shutting down"),
            )
            raise
        except Exception as exc:  # a crash in one call is that call's outcome
            log.exception("attempt crashed: %s", ids, extra=extra)
            outcome = CallOutcome(HangupReason.FAILED, detail=f"{type(exc).__name__}: {exc}")
        log.info(
            "attempt ended: %s reason=%s sip=%s",
            ids,
            outcome.reason.value,
            outcome.sip_code,
            extra=extra,
        )
        self.ledger.ended(attempt.campaigncall_id, outcome)

    async def settle(self) -> None:
        """Tests: wait for running attempts to be recorded (without the clock moving)."""
        await asyncio.sleep(0)
        await self.ledger.flush()
