"""The engine's agent desk (issue 13): connects answered callees to agents and paces the
campaigns that have a queue.

- `CallConnector` (one per call) runs `queue_join` and `connect` for the interpreter: it
  reserves an available agent of the queue (routing order, tag match; a guarded UPDATE makes
  it `ringing`), bridges the call to the agent's address (`CallMedia.bridge`; the agent's
  browser phone first when it is open, telephony/webrtc.py), and when the
  conversation is over puts the agent in wrap-up (`busy`) and then back to `available`. No
  agent reached within 2 s of the answer (US FTC/FCC): the call is **abandoned**, the callee
  hears the campaign's `abandon_message` (safe harbour) and the call ends; the number then
  rests 72 h for every campaign of the customer (the claim's decision, domain/decision.py).
- `AgentDesk.limit` (once per campaign per tick) turns the campaign's `dial_mode` into a
  number of calls to start now with `domain/dialmode` (`PacingPolicy`), from the queue's
  agents as the database has them and this engine's measured `PacingStats`.
- Nailed-up agents (`nailed_up`; `AgentDesk.sync_legs`, from `limit`): when such an agent of
  a paced queue is `available` and has no open leg, the desk calls it once (the agent is
  `ringing` meanwhile) through the telephony's `open_leg` and keeps the leg; callees are then
  bridged to `nailed:<agent id>` first (connected at once, no ring). The leg gets BYE when the
  agent goes `away` or `offline` (or is no longer nailed up); a leg that drops or is not
  answered makes the agent `offline`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from outdial.clock import Clock
from outdial.domain.address import Address, AddressType, parse_address
from outdial.domain.agents import (
    ABANDON_AFTER_MS,
    DEFAULT_RING_TIMEOUT_MS,
    DEFAULT_WRAPUP_MS,
    SIM_PREFIX,
    AgentStatus,
    RingMethod,
    effective_dial_mode,
    parse_sim_agent,
)
from outdial.domain.destinations import DestinationRule
from outdial.domain.dialmode import (
    AgentPhase,
    AgentView,
    DialMode,
    PacingPolicy,
    PacingStats,
    Snapshot,
)
from outdial.domain.ids import NIL_UUID, parse_ref
from outdial.domain.models import Campaign
from outdial.services.desk import AgentState, DeskService, QueueInfo, Reserved
from outdial.storage.timeconv import to_us
from outdial.telephony.bridge import (
    NAILED_PREFIX,
    BridgeEnd,
    BridgeResult,
    HeldLeg,
    LegOpener,
    nailed_address,
    phone_address,
)
from outdial.telephony.interpreter import CallMedia

log = logging.getLogger("outdial.engine.desk")
POLL_MS = 100  # how often a waiting callee looks for a free agent
CALLBACK_AGENT_MS = 1_500  # a callback waits this long for its agent, then takes the queue's
WAIT_ACTION_TYPES = frozenset({"talk", "play", "sleep"})


async def play_wait_actions(actions: tuple[dict[str, Any], ...], media: CallMedia) -> None:
    """The queue's `wait_actions` (talk, play, sleep; others skipped) over and over, until
    cancelled (an agent is found, or the wait is over)."""
    playable = [a for a in actions if a.get("type") in WAIT_ACTION_TYPES]
    while playable:
        for action in playable:
            opt = action.get("option") if isinstance(action.get("option"), dict) else {}
            assert isinstance(opt, dict)
            kind = action["type"]
            if kind == "talk" and isinstance(opt.get("text"), str) and opt["text"].strip():
                await media.talk(opt["text"], str(opt.get("language") or ""))
            elif kind == "play" and opt.get("stream_urls"):
                urls = opt["stream_urls"]
                await media.play([str(u) for u in (urls if isinstance(urls, list) else [urls])])
            elif kind == "sleep" and isinstance(opt.get("duration"), int):
                await media.silence(max(0, min(opt["duration"], 3_600_000)))
            else:
                await media.wait(POLL_MS)  # nothing to hear: never a busy loop
    await asyncio.Event().wait()  # nothing playable: silence until cancelled


async def _stop(task: asyncio.Future[Any]) -> None:
    """Cancel `task` and wait for it to be over (its own cleanup: CANCEL, BYE)."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


def queue_actions(campaign: Campaign) -> list[dict[str, Any]]:
    """The campaign's actions with `queue_join` appended when it has a queue and its actions
    join none (as VoIPBIN does)."""
    actions = list(campaign.actions)
    if campaign.queue_id == NIL_UUID or any(a.get("type") == "queue_join" for a in actions):
        return actions
    option = {"queue_id": str(campaign.queue_id)}
    return [*actions, {"id": str(uuid.uuid4()), "type": "queue_join", "option": option}]


def wrapup_ms(address: Address) -> int:
    if address.target.startswith(SIM_PREFIX):
        return int(parse_sim_agent(address.target).wrap_s * 1000)
    return DEFAULT_WRAPUP_MS


class AgentDesk:
    def __init__(self, service: DeskService, clock: Clock) -> None:
        self.service = service
        self.clock = clock
        self.stats: dict[uuid.UUID, PacingStats] = {}
        self.waiting: dict[uuid.UUID, int] = {}  # campaign -> callees looking for an agent
        self.wrapping: set[uuid.UUID] = set()  # agents in wrap-up by this engine
        self._tasks: set[asyncio.Task[None]] = set()
        self.decisions: dict[uuid.UUID, str] = {}  # campaign -> last pacing reason (logs)
        # Whether an agent's browser phone is open (telephony/webrtc.py `PhoneBook.is_open`);
        # set by the process that serves the phones. An open phone is bridged to first.
        self.phone_open: Callable[[uuid.UUID], bool] | None = None
        # The telephony's `open_leg` (SimTelephony's or SipTelephony's); None: no nailed-up legs.
        self.leg_opener: LegOpener | None = None
        self.legs: dict[uuid.UUID, HeldLeg] = {}  # agent -> its open nailed-up leg
        self.leg_address: dict[uuid.UUID, Address] = {}  # agent -> where its leg was dialed
        self._opening: set[uuid.UUID] = set()
        self._hung_up: set[int] = set()  # id() of legs this desk ended (not a drop)

    def now_us(self) -> int:
        return to_us(self.clock.now())

    def stats_for(self, campaign_id: uuid.UUID) -> PacingStats:
        found = self.stats.get(campaign_id)
        if found is None:
            found = self.stats[campaign_id] = PacingStats()
        return found

    # ---- pacing ----------------------------------------------------------------------------
    async def limit(self, campaign: Campaign) -> int | None:
        """Calls the campaign's dial mode allows now; None: no agents involved."""
        mode = effective_dial_mode(campaign.dial_mode, campaign.queue_id != NIL_UUID)
        if mode is None:
            return None
        if mode is DialMode.PREVIEW:
            return 0  # the agents ask for calls (not automated: docs/agents.md)
        queue = await self.service.queue(campaign.customer_id, campaign.queue_id)
        if queue is None:
            return 0
        now = self.now_us()
        views = []
        found = await self.service.agents(campaign.customer_id, queue)
        self.sync_legs(found)
        for agent in found:
            if agent.status == AgentStatus.AVAILABLE and agent.id not in self._opening:
                views.append(AgentView(AgentPhase.IDLE, agent.since_us))
            elif agent.status == AgentStatus.RINGING or agent.id in self._opening:  # rings
                views.append(AgentView(AgentPhase.TALKING, agent.since_us))
            elif agent.status == AgentStatus.BUSY and agent.on_call:  # it talks
                views.append(AgentView(AgentPhase.TALKING, agent.since_us))
            elif agent.status == AgentStatus.BUSY and agent.id in self.wrapping:
                views.append(AgentView(AgentPhase.WRAPUP, agent.since_us))
        calls = await self.service.open_calls(campaign.id)
        ringing = [c.tm_create for c in calls if c.status == "dialing"]
        snap = Snapshot(
            now, views, ringing_since_us=ringing, waiting=self.waiting.get(campaign.id, 0)
        )
        policy = PacingPolicy(
            mode=mode,
            service_level=campaign.service_level,
            max_abandon_rate=campaign.max_abandon_rate,
        )
        decision = policy.decide(snap, self.stats_for(campaign.id).measures(now))
        if self.decisions.get(campaign.id) != decision.reason.value:
            self.decisions[campaign.id] = decision.reason.value
            log.info("campaign %s pacing: %s", campaign.id, decision.reason.value)
        return decision.calls

    # ---- nailed-up legs --------------------------------------------------------------------
    def nailed_leg(self, agent_id: uuid.UUID) -> HeldLeg | None:
        leg = self.legs.get(agent_id)
        return None if leg is None or leg.ended.done() else leg

    def sync_legs(self, found: list[AgentState]) -> None:
        """Open a leg to each `available` nailed-up agent without one; BYE to the legs of
        agents gone `away` or `offline` or no longer nailed up."""
        if self.leg_opener is None:
            return
        for agent in found:
            leg = self.legs.get(agent.id)
            off = agent.status in (AgentStatus.AWAY, AgentStatus.OFFLINE) or not agent.nailed_up
            if leg is not None and off:
                self._hang_up(agent.id, leg)
            elif (
                leg is None
                and agent.nailed_up
                and agent.address is not None
                and agent.status == AgentStatus.AVAILABLE
                and agent.id not in self._opening
            ):
                self._opening.add(agent.id)
                self._spawn(self._open_leg(agent.id, agent.address))

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _hang_up(self, agent_id: uuid.UUID, leg: HeldLeg) -> None:
        self._hung_up.add(id(leg))
        leg.hang_up()
        log.info("agent %s: nailed-up leg hung up", agent_id)

    async def _open_leg(self, agent_id: uuid.UUID, address: Address) -> None:
        """Call the agent once (`ringing` meanwhile, so no callee is reserved for it); answered:
        `available` with the leg kept; not answered: `offline` (not at its desk)."""
        try:
            if not await self.service.set_status(
                agent_id, AgentStatus.RINGING, AgentStatus.AVAILABLE
            ):
                return  # taken meanwhile (another engine's callee, a manual status)
            assert self.leg_opener is not None
            leg = None
            try:
                leg = await self.leg_opener(agent_id, address)
                if leg is not None:  # kept before the agent is `available`: a callee uses it
                    self.legs[agent_id], self.leg_address[agent_id] = leg, address
                    leg.ended.add_done_callback(lambda _: self._leg_ended(agent_id, leg))
                    log.info("agent %s: nailed-up leg open", agent_id)
            finally:
                to = AgentStatus.OFFLINE if leg is None else AgentStatus.AVAILABLE
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.service.set_status(agent_id, to, AgentStatus.RINGING))
            if leg is None:
                log.info("agent %s: nailed-up leg not answered: offline", agent_id)
        finally:
            self._opening.discard(agent_id)

    def _leg_ended(self, agent_id: uuid.UUID, leg: HeldLeg) -> None:
        if self.legs.get(agent_id) is leg:
            del self.legs[agent_id]
        if id(leg) in self._hung_up:
            self._hung_up.discard(id(leg))
            return
        log.info("agent %s: nailed-up leg dropped: offline", agent_id)  # not available
        statuses = (AgentStatus.AVAILABLE, AgentStatus.RINGING, AgentStatus.BUSY)
        self._spawn(self.service.set_status(agent_id, AgentStatus.OFFLINE, *statuses))

    def placed(self, campaign_id: uuid.UUID, count: int) -> None:
        stats, now = self.stats_for(campaign_id), self.now_us()
        for _ in range(count):
            stats.placed(now)

    def ring_ended(self, campaign_id: uuid.UUID, ring_us: int, *, answered: bool) -> None:
        self.stats_for(campaign_id).ring_ended(self.now_us(), ring_us, answered=answered)

    # ---- connecting ------------------------------------------------------------------------
    def connector(
        self, campaign: Campaign, call_id: uuid.UUID, rule: DestinationRule
    ) -> CallConnector:
        return CallConnector(self, campaign, call_id, rule)

    def after_call(self, agent_id: uuid.UUID, campaign_id: uuid.UUID, wrap_ms: int) -> None:
        """Wrap-up (`busy`) for `wrap_ms`, then `available` (unless the agent went elsewhere)."""
        self.wrapping.add(agent_id)
        task = asyncio.get_running_loop().create_task(self._wrap(agent_id, campaign_id, wrap_ms))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _wrap(self, agent_id: uuid.UUID, campaign_id: uuid.UUID, wrap_ms: int) -> None:
        try:
            # the wrap-up starts now: `busy` from now, no longer on the call
            await self.service.set_status(agent_id, AgentStatus.BUSY, AgentStatus.BUSY)
            await self.clock.sleep(wrap_ms / 1000)
            self.stats_for(campaign_id).wrapup_ended(self.now_us(), wrap_ms * 1000)
        finally:
            self.wrapping.discard(agent_id)
            with contextlib.suppress(Exception):  # the database away: release_stale later
                await self.service.set_status(agent_id, AgentStatus.AVAILABLE, AgentStatus.BUSY)

    async def close(self) -> None:
        """Shutdown: agents in wrap-up are freed at once, nailed-up legs get BYE."""
        for agent_id, leg in list(self.legs.items()):
            self._hang_up(agent_id, leg)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class CallConnector:
    """`queue_join` and `connect` for one answered call (telephony/interpreter.py)."""

    def __init__(
        self, desk: AgentDesk, campaign: Campaign, call_id: uuid.UUID, rule: DestinationRule
    ) -> None:
        self.desk, self.campaign, self.call_id, self.rule = desk, campaign, call_id, rule
        self.agent_id = NIL_UUID
        self.late = False  # not connected within 2 s (FTC): marked abandoned already

    async def run(self, kind: str, option: dict[str, Any], media: CallMedia) -> bool:
        if kind == "connect":
            return await self._connect(option, media)
        raw = option.get("queue_id")
        try:
            queue_id = parse_ref(raw if isinstance(raw, str) else None, field="queue_id")
        except Exception:
            queue_id = NIL_UUID
        if queue_id == NIL_UUID:
            queue_id = self.campaign.queue_id
        queue = await self.desk.service.queue(self.campaign.customer_id, queue_id)
        if queue is None:
            log.warning("call %s: queue_join: no queue %s, skipped", self.call_id, queue_id)
            return False
        return await self._join(queue, media)

    async def _join(self, queue: QueueInfo, media: CallMedia) -> bool:
        """Wait for an agent up to the queue's patience (`wait_timeout` when above 2 s, else
        2 s), hearing the queue's `wait_actions` meanwhile when the patience is longer than
        2 s; a callback call tries its agent first (CALLBACK_AGENT_MS)."""
        service, tried = self.desk.service, set[uuid.UUID]()
        patience = max(ABANDON_AFTER_MS, queue.wait_timeout)
        preferred = await service.callback_agent(self.call_id)
        music: asyncio.Task[None] | None = None
        if patience > ABANDON_AFTER_MS and queue.wait_actions:
            music = asyncio.ensure_future(play_wait_actions(queue.wait_actions, media))
        try:
            while (elapsed := media.elapsed_ms()) < patience:
                if elapsed >= ABANDON_AFTER_MS and not self.late:
                    await self._late(queue)
                only = preferred if elapsed < CALLBACK_AGENT_MS else NIL_UUID
                with self._waiting():  # counted as waiting (pacing) until an agent is reserved
                    found = await service.reserve(
                        self.campaign.customer_id, queue, frozenset(tried), only
                    )
                    if found is None:
                        await media.wait(POLL_MS)
                        continue
                if music is not None:
                    await _stop(music)
                    music = None
                tried.add(found.agent_id)
                if await self._bridge_agent(found, queue, media):
                    return True
        except asyncio.CancelledError:
            # the callee hung up (or the call was stopped) before a conversation: abandoned
            # in the queue
            if self.agent_id == NIL_UUID:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._gave_up(queue))
            raise
        finally:
            if music is not None:
                await _stop(music)
        return await self._abandon(queue, media)

    async def _late(self, queue: QueueInfo) -> None:
        """2 s after the answer and still waiting (a queue that lets callees wait longer): the
        campaigncall counts as abandoned for the campaign (FTC), the call goes on waiting."""
        self.late = True
        now = self.desk.now_us()
        await self.desk.service.abandoned(self.call_id, NIL_UUID, now)
        self.desk.stats_for(self.campaign.id).abandoned(now)
        log.info("call %s: not connected within %d ms, waits on", self.call_id, ABANDON_AFTER_MS)

    async def _gave_up(self, queue: QueueInfo) -> None:
        now = self.desk.now_us()
        await self.desk.service.abandoned(self.call_id, queue.id, now, mark=not self.late)
        if not self.late:
            self.desk.stats_for(self.campaign.id).abandoned(now)
        self.late = True

    @contextlib.contextmanager
    def _waiting(self) -> Iterator[None]:
        waiting, campaign_id = self.desk.waiting, self.campaign.id
        waiting[campaign_id] = waiting.get(campaign_id, 0) + 1
        try:
            yield
        finally:
            waiting[campaign_id] -= 1

    async def _bridge_agent(self, reserved: Reserved, queue: QueueInfo, media: CallMedia) -> bool:
        """Ring the reserved agent's addresses (`ringall`: all at once; `linear`: one after
        the other) and bridge the first that answers. True: the call is over."""
        service, agent_id = self.desk.service, reserved.agent_id
        addresses = list(reserved.addresses)
        if reserved.ring_method == RingMethod.RINGALL.value and len(addresses) > 1:
            rounds = [(addresses[0], tuple(addresses[1:]))]
        else:
            rounds = [(a, ()) for a in addresses]
        phone_open = self.desk.phone_open
        if phone_open is not None and phone_open(agent_id):  # the browser phone wins
            rounds.insert(0, (phone_address(agent_id), ()))
        elif self.desk.nailed_leg(agent_id) is not None:  # the open leg: no ring
            rounds.insert(0, (nailed_address(agent_id), ()))
        for address, also in rounds:
            waited_ms = media.elapsed_ms()
            try:
                result = await self._bridge(agent_id, queue, media, address, also)
            except asyncio.CancelledError:  # the call is stopped: the agent is not kept
                if self.agent_id == NIL_UUID:
                    back = service.set_status(agent_id, AgentStatus.AVAILABLE, AgentStatus.RINGING)
                    with contextlib.suppress(Exception):
                        await asyncio.shield(back)
                else:
                    self._talk_over(agent_id, address)
                raise
            if result is None:  # the service_timeout ended it
                return True
            if result.end is BridgeEnd.CALLEE and not 200 <= result.sip_code < 300:
                # the callee hung up while the agent's phone rang: never connected, abandoned
                await service.set_status(agent_id, AgentStatus.AVAILABLE, AgentStatus.RINGING)
                await self._gave_up(queue)
                log.info("call %s: the callee hung up while agent %s rang", self.call_id, agent_id)
                return True
            if not result.connected:
                log.info("call %s: agent %s at %s did not answer (%s)", self.call_id, agent_id,
                         address.target, result.sip_code)  # fmt: skip
                continue
            now = self.desk.now_us()
            stats = self.desk.stats_for(self.campaign.id)
            if not self.late:
                stats.connected(now, max(waited_ms, result.answer_ms) * 1000)
            stats.call_ended(now, result.talk_ms * 1000)
            self._talk_over(agent_id, (address, *also)[result.index])
            log.info("call %s: agent %s talked %d ms (%s hung up)", self.call_id, agent_id,
                     result.talk_ms, result.end.value)  # fmt: skip
            return True
        # no address answered: the agent is free for other calls (it may be away from its desk)
        await service.set_status(agent_id, AgentStatus.AVAILABLE, AgentStatus.RINGING)
        return False

    async def _bridge(
        self,
        agent_id: uuid.UUID,
        queue: QueueInfo,
        media: CallMedia,
        address: Address,
        also: tuple[Address, ...],
    ) -> BridgeResult | None:
        """One bridge; the connection is recorded at the agent's answer (`tm_connect`, the
        agent `busy` on this call); a conversation longer than the queue's `service_timeout`
        is ended (None: both legs are hung up by the call's end)."""
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[int] = loop.create_future()

        async def on_answer(answer_ms: int) -> None:
            now = self.desk.now_us()
            self.agent_id = agent_id
            # shielded: a cancellation meanwhile does not lose the connection's record
            await asyncio.shield(self.desk.service.connected(self.call_id, queue.id, agent_id, now))
            if not answered.done():  # the service_timeout counts from here
                answered.set_result(answer_ms)

        work = asyncio.ensure_future(
            media.bridge(address, DEFAULT_RING_TIMEOUT_MS, ring_also=also, on_answer=on_answer)
        )
        limit: asyncio.Future[None] | None = None
        try:
            first: set[asyncio.Future[Any]] = {work, answered}
            await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
            if not work.done() and queue.service_timeout > 0:
                limit = asyncio.ensure_future(media.wait(queue.service_timeout))
                await asyncio.wait({work, limit}, return_when=asyncio.FIRST_COMPLETED)
                if not work.done():
                    await _stop(work)
                    await self.desk.service.service_timeout(self.call_id)
                    self._talk_over(agent_id, address)
                    log.info("call %s: service_timeout %d ms: the conversation is ended",
                             self.call_id, queue.service_timeout)  # fmt: skip
                    return None
            return await work
        finally:
            if limit is not None:
                limit.cancel()
            if not work.done():
                await _stop(work)

    def _talk_over(self, agent_id: uuid.UUID, address: Address) -> None:
        """The conversation ended: the agent wraps up (`busy`), then is `available`."""
        if address.target.startswith(NAILED_PREFIX):  # the wrap-up of the address it rang
            address = self.desk.leg_address.get(agent_id, address)
        self.desk.after_call(agent_id, self.campaign.id, wrapup_ms(address))

    async def _abandon(self, queue: QueueInfo, media: CallMedia) -> bool:
        """No agent within the patience: abandoned (in the queue, and for the campaign unless
        it was at 2 s); the callee hears the campaign's `abandon_message` and the call ends."""
        await self._gave_up(queue)
        log.info("call %s: abandoned (no agent within %d ms)", self.call_id,
                 max(ABANDON_AFTER_MS, queue.wait_timeout))  # fmt: skip
        message = self.campaign.abandon_message.strip()
        if message:
            await media.talk(message, "")
        return True

    async def _connect(self, option: dict[str, Any], media: CallMedia) -> bool:
        """`connect`: bridge to each of `destinations` in turn until one answers."""
        raw = option.get("destinations")
        for n, item in enumerate(raw if isinstance(raw, list) else []):
            try:
                address = parse_address(item, f"destinations[{n}]")
                if address is None or address.type not in (AddressType.TEL, AddressType.SIP):
                    continue
                self.rule.check(address, f"destinations[{n}]")
            except Exception as exc:  # the network policy or a malformed address: skipped
                log.warning("call %s: connect destination %d skipped: %s", self.call_id, n, exc)
                continue
            result = await media.bridge(address, DEFAULT_RING_TIMEOUT_MS)
            if result.connected:
                return True
        return False
