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
from outdial.domain.destinations import DestinationRule
from outdial.domain.errors import Unavailable
from outdial.domain.ids import NIL_UUID
from outdial.domain.models import Campaign
from outdial.domain.outcome import CallOutcome, HangupReason
from outdial.domain.pacing import start_interval_us, starts_allowed
from outdial.domain.rules import ring_limit_ms
from outdial.domain.states import CampaignType, EndHandle
from outdial.engine.desk import AgentDesk, queue_actions
from outdial.engine.flowrun import FlowRunner, HttpSender, WebhookSender
from outdial.engine.ledger import Ledger
from outdial.engine.outbound import BLOCKED, PlayGuard
from outdial.metrics import (
    ASYNCIO_TASKS,
    ATTEMPTS_STARTED,
    CALLS_IN_FLIGHT,
    CLAIM_SECONDS,
    DATABASE_UP,
    ENGINE_FENCED,
    TRUNK_PAUSED,
)
from outdial.services.dialing import DialingService, Running
from outdial.storage.claim import Claimed
from outdial.storage.timeconv import to_us
from outdial.telephony.base import CallRequest, Telephony

log = logging.getLogger("outdial.engine")
NO_SOURCE = Address(AddressType.NONE, "")
AGENT_SWEEP_S = 60.0  # how often agents left `ringing` by a dead engine are looked for


def call_variables(attempt: Claimed, campaign: Campaign, target: Any = None) -> dict[str, str]:
    """The flow variables a call starts with (VoIPBIN's `voipbin.*` names), for `branch`,
    `condition_variable` and `${...}` in texts; `target`: the target's name, detail, data."""
    return {
        "voipbin.outdial_target.name": getattr(target, "name", "") or "",
        "voipbin.outdial_target.detail": getattr(target, "detail", "") or "",
        "voipbin.outdial_target.data": getattr(target, "data", "") or "",
        "voipbin.campaign.id": str(campaign.id),
        "voipbin.campaigncall.id": str(attempt.campaigncall_id),
        "voipbin.outdial_target.id": str(attempt.target_id),
        "voipbin.outdial_target.destination_index": str(attempt.destination_index),
        "voipbin.outdial_target.try_count": str(attempt.try_count),
        "voipbin.call.id": str(attempt.reference_id),
        "voipbin.call.destination.target": attempt.destination.target,
        "voipbin.call.source.target": attempt.source.target if attempt.source else "",
    }


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
    # The database away: reconnect attempts back off from reconnect_min_s, doubling, up to
    # reconnect_max_s (kept under stale_after_s, so other engines see us beat again in time).
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 5.0
    # No claims while this many attempt updates wait to be written (a slow or absent database).
    max_held: int = 20_000


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
        # The engine's id is its lease token: attempts carry it, and every write to them is
        # guarded by it. Fenced (declared dead while cut off), the engine rejoins under a new
        # one: the same base and the next generation (`engine-...`, then `engine-....2`).
        self.base_id = engine_id or f"engine-{uuid.uuid4()}"
        self.generation = 1
        self.id = self.base_id
        self.ledger = Ledger(dialing.attempts)
        self.ledger.owner = self.id
        self._rejoining = asyncio.Lock()
        self.attempts: set[asyncio.Task[None]] = set()
        self.started = 0
        self._last_end_check: dict[uuid.UUID, float] = {}
        self._rest: dict[uuid.UUID, float] = {}  # campaign -> rests until (clock seconds)
        self._side: list[asyncio.Task[None]] = []
        self.play_guard = PlayGuard(dialing.ctx.network)
        self.flow_sender: WebhookSender = HttpSender(dialing.ctx.network)
        self.flows = FlowRunner(self.flow_sender, clock)
        self.trunk_paused = False  # the trunk is down and that has been announced
        # The database away (docs/operations.md): when it went (clock seconds), the next
        # reconnect attempt and its back-off, and no lost-attempt sweep before recover_after.
        self.db_down_since: float | None = None
        self._reconnect_at = 0.0
        self._reconnect_delay = 0.0
        self._recover_after = 0.0
        self._calls: dict[asyncio.Task[None], uuid.UUID] = {}  # attempt task -> campaigncall
        self.desk = AgentDesk(dialing.desk, clock)  # agents and their pacing (issue 13)
        opener = getattr(telephony, "open_leg", None)  # nailed-up agent legs (sim and SIP)
        if opener is not None:
            self.desk.leg_opener = opener
        self.agent_rule = DestinationRule(dialing.ctx.network)
        self._agents_swept = 0.0  # when agents left ringing by a dead engine were last freed

    # ---- lifecycle -------------------------------------------------------------------------
    async def open(self) -> None:
        await self.telephony.start()
        await self.dialing.registry.register(self.id)
        DATABASE_UP.set(1)
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
        await self.flows.drain()
        await self.desk.close()
        await self.ledger.flush()
        if isinstance(self.flow_sender, HttpSender):
            await self.flow_sender.close()
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
            await self.run_round(action)
            sleeper = asyncio.create_task(self.clock.sleep(seconds))
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for task in (sleeper, stopper):
                task.cancel()

    async def run_round(self, action: Callable[[], Awaitable[object]] | None = None) -> None:
        """One round of `action` (default: `step`) as the loops run it: a failure is logged
        and the next round tries again; the database away pauses claiming (see `step`)."""
        action = action or self.step
        try:
            await action()
        except Unavailable as exc:  # the database is away: stop claiming, keep calls going
            self._database_lost(exc)
        except Exception:  # one failed round must not end the engine
            log.exception("engine round failed: %s", getattr(action, "__name__", action))

    async def _heartbeat(self) -> None:
        ASYNCIO_TASKS.set(len(asyncio.all_tasks()))
        if self.db_down_since is None:  # while it is away, step() probes with the heartbeat
            await self._beat()

    async def _beat(self) -> None:
        """Beat, and when the beat is refused (fenced), give up the old id: `_rejoin`."""
        beating = self.id
        if not await self.dialing.registry.heartbeat(beating):
            async with self._rejoining:  # the heartbeat loop and step() may both find out
                if self.id == beating:
                    await self._rejoin()

    async def _rejoin(self) -> None:
        """This engine was fenced: while it was cut off (its network, or its database link),
        another engine recovered its attempts as `lost`, and their targets may be dialed
        again. Its calls are not its own any more: hang them all up (their ends are refused
        by the fence, logged and counted), and go on under a new id with no lease."""
        old = self.id
        ENGINE_FENCED.inc()
        self.generation += 1
        new = f"{self.base_id}.{self.generation}"
        await self.dialing.registry.register(new)  # live before it claims anything
        # From here on claims carry the new id, and writes for the old id's attempts are
        # refused; every call running now is one of the old id's.
        self.id = self.ledger.owner = new
        calls = list(self.attempts)
        log.warning(
            "engine %s lost its leases: another engine recovered its attempts while it was "
            "cut off; hanging up its %d calls (their ends are not written) and rejoining as %s",
            old,
            len(calls),
            self.id,
            extra={"action": "engine_fenced", "engine_id": old},
        )
        for task in calls:  # not awaited: a hangup may wait for its BYE's answer, and the
            task.cancel()  # new id must beat meanwhile (the tasks clean up after themselves)
        with contextlib.suppress(Exception):
            await self.dialing.registry.unregister(old)

    async def recover(self) -> int:
        if self.db_down_since is not None or self._now() < self._recover_after:
            return 0  # just back: give every engine time to beat before judging them dead
        if self._now() >= self._agents_swept + AGENT_SWEEP_S:
            self._agents_swept = self._now()
            stale_us = int((self.config.max_call_s + self.config.lease_grace_s) * 1_000_000)
            freed = await self.dialing.desk.release_stale(stale_us)
            if freed:
                log.warning("%d agents left ringing by a lost call are available again", freed)
        return await self.dialing.attempts.recover(
            int(self.config.stale_after_s * 1_000_000), by=self.id
        )

    # ---- the database away -----------------------------------------------------------------
    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _database_lost(self, exc: Unavailable) -> None:
        now = self._now()
        if self.db_down_since is None:
            self.db_down_since = now
            self._reconnect_delay = self.config.reconnect_min_s
            DATABASE_UP.set(0)
            log.warning(
                "database unavailable (%s): no new attempts; %d calls go on, their results are "
                "held until it is back",
                exc.message,
                len(self.attempts),
            )
        else:
            self._reconnect_delay = min(self.config.reconnect_max_s, self._reconnect_delay * 2)
        self._reconnect_at = now + self._reconnect_delay

    async def _reconnected(self) -> bool:
        """While the database is away: whether it is back. Tries (the heartbeat) when the
        back-off allows; once back, writes the held results first, closes this engine's
        attempts that no task runs (a claim whose COMMIT went through unseen) and resumes."""
        if self.db_down_since is None:
            return True
        if self._now() < self._reconnect_at:
            return False
        await self._beat()  # raises Unavailable while it is still away
        down_for = self._now() - self.db_down_since
        self.ledger.wake()
        await self.ledger.flush()
        # a call may end between the flush and this: its end, still queued, is not an orphan
        live = set(self._calls.values()) | self.ledger.ending
        orphans = await self.dialing.attempts.close_orphans(self.id, live)
        self.db_down_since = None
        self._recover_after = self._now() + self.config.stale_after_s
        DATABASE_UP.set(1)
        log.warning(
            "database back after %.1f s: held results written, %d unplaced attempts closed; "
            "attempts resume",
            down_for,
            orphans,
        )
        return True

    # ---- one round -------------------------------------------------------------------------
    async def step(self) -> int:
        """Look at every running campaign once; start what may start. Returns attempts started."""
        if not await self._reconnected() or self.ledger.held > self.config.max_held:
            return 0
        if await self._trunk_is_down():
            return 0
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

    async def _trunk_is_down(self) -> bool:
        """While the telephony's trunk is down no attempt starts (they would fail and burn
        tries); the change is logged, counted and announced (`trunk_down`, `trunk_up`)."""
        why = self.telephony.trunk_down()
        down = why is not None
        if down != self.trunk_paused:
            told = await self.dialing.campaigns.trunk_event(self.id, down, why or "")
            self.trunk_paused = down
            TRUNK_PAUSED.set(int(down))
            if down:
                log.warning("trunk down (%s): no new attempts until it answers", why)
            else:
                log.warning("trunk up: attempts resume")
            log.info("trunk event sent to %d customers", told)
        return down

    async def _dial(self, run: Running) -> int:
        campaign, plan = run.campaign, run.outplan
        step = start_interval_us(campaign.calls_per_second)
        lease_us = int(
            (
                ring_limit_ms(plan.dial_timeout) / 1000
                + self.config.max_call_s
                + self.config.lease_grace_s
            )
            * 1_000_000
        )
        started = 0
        agents = await self.desk.limit(campaign)  # None: no agents involved
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
            if agents is not None:
                limit = min(limit, agents - started)
            if limit <= 0:
                return started
            began = time.perf_counter()
            claim = await self.dialing.attempts.claim(
                run, limit=limit, pace_step_us=step, lease_us=lease_us, engine_id=self.id
            )
            took = time.perf_counter() - began
            CLAIM_SECONDS.observe(took)
            if claim is None:
                return started  # stopped, full or paced meanwhile
            if took > self.config.stale_after_s and claim.attempts:
                # The answer came so late (this host was cut off?) that other engines may
                # have judged us dead and recovered these attempts: beat first, and place
                # none of them when we turn out to be fenced (they are closed as `lost`).
                owner = self.id
                await self._beat()
                if self.id != owner:
                    return started
            if not (claim.attempts or claim.skipped):
                self._rest_after(campaign.id, time.perf_counter() - began)  # nothing due
                return started
            self._rest.pop(campaign.id, None)
            data = await self._target_data(claim.attempts)
            for attempt in claim.attempts:
                self._spawn(attempt, campaign, data.get(attempt.target_id))
            started += len(claim.attempts)
            self.started += len(claim.attempts)
            if agents is not None:
                self.desk.placed(campaign.id, len(claim.attempts))
            ATTEMPTS_STARTED.inc(len(claim.attempts))
            if claim.attempts:
                run = replace(run, in_flight=claim.in_flight, pace_next_us=claim.pace_next_us)
            # targets the compliance rules put aside leave room for others in this round
            if len(claim.attempts) + claim.skipped < limit:
                return started

    async def _target_data(self, attempts: list[Claimed]) -> dict[uuid.UUID, Any]:
        """The claimed targets' name/detail/data; without them (database away) the calls
        still go, with those variables empty."""
        try:
            return await self.dialing.attempts.target_data([a.target_id for a in attempts])
        except Exception:
            log.exception("could not read the data of %d claimed targets", len(attempts))
            return {}

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
    def _spawn(self, attempt: Claimed, campaign: Campaign, target: Any = None) -> None:
        task = asyncio.create_task(
            self._attempt(attempt, campaign, call_variables(attempt, campaign, target)),
            name=f"attempt-{attempt.campaigncall_id}",
        )
        self.attempts.add(task)
        self._calls[task] = attempt.campaigncall_id
        CALLS_IN_FLIGHT.inc()
        task.add_done_callback(self._attempt_done)

    def _attempt_done(self, task: asyncio.Task[None]) -> None:
        self.attempts.discard(task)
        self._calls.pop(task, None)
        CALLS_IN_FLIGHT.dec()

    async def _attempt(
        self, attempt: Claimed, campaign: Campaign, variables: dict[str, str]
    ) -> None:
        actions = campaign.actions
        ids = (
            f"campaign={attempt.campaign_id} target={attempt.target_id} "
            f"campaigncall={attempt.campaigncall_id}"
        )
        extra = {
            "campaign_id": attempt.campaign_id,
            "target_id": attempt.target_id,
            "campaigncall_id": attempt.campaigncall_id,
        }
        if campaign.type == CampaignType.FLOW.value:
            await self._flow_attempt(attempt, campaign, variables, ids, extra)
            return
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
        actions = queue_actions(campaign)
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
            dial_timeout_ms=ring_limit_ms(attempt.dial_timeout_ms),  # 0: the system default
            actions=list(actions),
            sip_headers=attempt.sip_headers,
            opt_out_key=campaign.opt_out.key if campaign.opt_out else "",
            opt_out_confirmation=campaign.opt_out.confirmation if campaign.opt_out else "",
            variables=variables,
            recordings_dir=self.dialing.ctx.recordings_dir,
            connector=self.desk.connector(campaign, attempt.campaigncall_id, self.agent_rule),
        )
        began = to_us(self.clock.now())
        with_agents = campaign.queue_id != NIL_UUID
        rang = False

        async def on_answer() -> None:
            nonlocal rang
            self.ledger.answered(attempt.campaigncall_id)
            if with_agents:
                rang = True
                ring_us = to_us(self.clock.now()) - began
                self.desk.ring_ended(campaign.id, ring_us, answered=True)

        limit = request.dial_timeout_ms / 1000 + self.config.max_call_s
        try:
            await self._to_the_end(
                attempt,
                lambda: self.telephony.place_call(request, on_answer),
                limit,
                "attempt",
                ids,
                extra,
            )
        finally:
            if with_agents and not rang:
                ring_us = to_us(self.clock.now()) - began
                self.desk.ring_ended(campaign.id, ring_us, answered=False)

    async def _flow_attempt(
        self,
        attempt: Claimed,
        campaign: Campaign,
        variables: dict[str, str],
        ids: str,
        extra: dict[str, Any],
    ) -> None:
        """A flow campaign's attempt: no call; the actions run with the target's variables
        (engine/flowrun.py), dialing -> progressing -> done like VoIPBIN's flow calls."""
        self.ledger.answered(attempt.campaigncall_id)
        await self._to_the_end(
            attempt,
            lambda: self.flows.run(campaign.actions, variables),
            self.config.max_call_s,
            "flow attempt",
            ids,
            extra,
        )

    async def _to_the_end(
        self,
        attempt: Claimed,
        run: Callable[[], Awaitable[CallOutcome]],
        limit_s: float,
        kind: str,
        ids: str,
        extra: dict[str, Any],
    ) -> None:
        """Run one attempt's call or flow to its outcome, bounded by `limit_s`, and hand the
        outcome to the ledger: a timeout, a crash and the engine's shutdown are outcomes too."""
        try:
            async with asyncio.timeout(limit_s):
                outcome = await run()
        except TimeoutError:
            outcome = CallOutcome(HangupReason.TIMEOUT, detail="longest call time reached")
        except asyncio.CancelledError:
            self.ledger.ended(
                attempt.campaigncall_id,
                CallOutcome(HangupReason.CANCEL, detail="engine shutting down"),
            )
            raise
        except Exception as exc:  # a crash in one attempt is that attempt's outcome
            log.exception("%s crashed: %s", kind, ids, extra=extra)
            outcome = CallOutcome(HangupReason.FAILED, detail=f"{type(exc).__name__}: {exc}")
        log.info(
            "%s ended: %s reason=%s sip=%s %s",
            kind,
            ids,
            outcome.reason.value,
            outcome.sip_code,
            outcome.detail,
            extra=extra,
        )
        self.ledger.ended(attempt.campaigncall_id, outcome)

    async def settle(self) -> None:
        """Tests: wait for running attempts to be recorded (without the clock moving)."""
        await asyncio.sleep(0)
        await self.ledger.flush()
