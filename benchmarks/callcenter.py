"""A simulated outbound call center on simulated time, driven by a pacing policy (issue 13).

Discrete events on a heap, no sleeping: an 8-hour day of 50 agents runs in seconds. Every
`tick_s` the simulation does what the engine will do: it builds a `Snapshot` (agents by phase
with the time they entered it, calls ringing with their start times, callees waiting), reads
`PacingStats.measures(now)` and starts `PacingPolicy.decide(...).calls` new calls. The same
policy and stats objects drive the real engine later; here the far ends are random:

- a call is answered with probability `answer_rate` after a ring time drawn from a gamma
  distribution (mean `ring_mean_s`); an unanswered one rings until `dial_timeout_s`;
- an answered callee is connected at once to the agent idle longest; with none idle it waits
  up to `patience_s` (2 s) for one, then is abandoned (and hears the safe-harbour message);
- talk time is exponential with mean `talk_mean_s`; then `wrapup_s` of wrap-up, then idle.

Targets are drawn in dialing order from their own seeded stream, so every policy meets the
same callees (the k-th call answers, rings and talks alike whatever the mode).
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass, field

from outdial.domain.dialmode import (
    AgentPhase,
    AgentView,
    PacingPolicy,
    PacingStats,
    Priors,
    Snapshot,
)

US = 1_000_000
EPOCH_US = 1_767_600_000 * US  # 2026-01-05 08:00 UTC: the day starts at 08:00
TICK, RING_END, GIVE_UP, TALK_END, WRAP_END = range(5)


@dataclass(frozen=True)
class Scenario:
    agents: int = 50
    targets: int = 100_000
    answer_rate: float = 0.30
    ring_mean_s: float = 8.0  # answered calls: gamma with this mean
    ring_shape: float = 4.0
    dial_timeout_s: float = 30.0  # unanswered calls ring this long
    talk_mean_s: float = 120.0  # exponential
    wrapup_s: float = 10.0
    patience_s: float = 2.0
    hours: float = 8.0
    tick_s: float = 1.0
    seed: int = 1


@dataclass
class Result:
    placed: int = 0
    answered: int = 0
    connected: int = 0
    abandoned: int = 0
    talk_us: int = 0
    idle_us: int = 0
    logged_in_us: int = 0
    worst_window: float = 0.0  # the worst abandon rate of any 30 minutes (1-minute steps)
    windows_over: int = 0  # 30-minute windows over the ceiling
    windows: int = 0
    targets_left: int = 0
    by_minute: list[list[int]] = field(default_factory=list, repr=False)  # [answered, abandoned]

    @property
    def occupancy(self) -> float:
        return self.talk_us / self.logged_in_us

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.answered if self.answered else 0.0

    def connects_per_agent_hour(self) -> float:
        return self.connected / (self.logged_in_us / 3600 / US)

    def agent_wait_s(self) -> float:
        """Average idle time of an agent per call taken."""
        return self.idle_us / US / max(1, self.connected)


@dataclass
class _Call:
    start_us: int
    answers: bool
    ring_us: int
    talk_us: int
    answered_us: int = 0


class CallCenter:
    def __init__(self, scenario: Scenario, policy: PacingPolicy, ceiling: float = 0.03) -> None:
        self.s = scenario
        self.policy = policy
        self.ceiling = ceiling
        self.stats = PacingStats(
            priors=Priors(ring_unanswered_us=round(scenario.dial_timeout_s * US))
        )
        self.callees = random.Random(scenario.seed)
        self.heap: list[tuple[int, int, int, int]] = []
        self.seq = 0
        self.calls: dict[int, _Call] = {}
        self.ringing: dict[int, int] = {}  # call -> start
        self.waiting: deque[int] = deque()  # answered calls without an agent, oldest first
        self.waiting_set: set[int] = set()
        self.views = [AgentView(AgentPhase.IDLE, EPOCH_US) for _ in range(scenario.agents)]
        self.idle: deque[int] = deque(range(scenario.agents))  # longest idle first
        self.agent_call: dict[int, int] = {}
        self.next_target = 0
        self.end_us = EPOCH_US + round(scenario.hours * 3600 * US)
        self.r = Result(logged_in_us=scenario.agents * (self.end_us - EPOCH_US))
        self.r.by_minute = [[0, 0] for _ in range(int(scenario.hours * 60) + 1)]

    def _at(self, when_us: int, kind: int, ref: int) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (when_us, self.seq, kind, ref))

    def run(self) -> Result:
        self._at(EPOCH_US, TICK, 0)
        while self.heap:
            now, _, kind, ref = heapq.heappop(self.heap)
            if now >= self.end_us:
                break
            if kind == TICK:
                self._tick(now)
            elif kind == RING_END:
                self._ring_end(now, ref)
            elif kind == GIVE_UP:
                self._give_up(now, ref)
            elif kind == TALK_END:
                self._talk_end(now, ref)
            else:
                self._wrap_end(now, ref)
        return self._finish()

    # --- the engine's part --------------------------------------------------------------------
    def _tick(self, now: int) -> None:
        snap = Snapshot(
            now_us=now,
            agents=tuple(self.views),
            ringing_since_us=tuple(self.ringing.values()),
            waiting=len(self.waiting),
        )
        for _ in range(self.policy.decide(snap, self.stats.measures(now)).calls):
            if self.next_target >= self.s.targets:
                break
            self._place(now)
        self._at(now + round(self.s.tick_s * US), TICK, 0)

    def _place(self, now: int) -> None:
        s, rnd = self.s, self.callees
        answers = rnd.random() < s.answer_rate
        ring = rnd.gammavariate(s.ring_shape, s.ring_mean_s / s.ring_shape)
        talk = rnd.expovariate(1.0 / s.talk_mean_s)
        timeout = round(s.dial_timeout_s * US)
        ring_us = min(max(1, round(ring * US)), timeout - 1) if answers else timeout
        call = _Call(now, answers, ring_us, round(talk * US))
        cid = self.next_target
        self.next_target += 1
        self.calls[cid] = call
        self.ringing[cid] = now
        self.stats.placed(now)
        self.r.placed += 1
        self._at(now + call.ring_us, RING_END, cid)

    # --- the far ends and the agents ----------------------------------------------------------
    def _ring_end(self, now: int, cid: int) -> None:
        call = self.calls[cid]
        del self.ringing[cid]
        self.stats.ring_ended(now, call.ring_us, answered=call.answers)
        if not call.answers:
            del self.calls[cid]
            return
        call.answered_us = now
        self.r.answered += 1
        self.r.by_minute[(now - EPOCH_US) // (60 * US)][0] += 1
        if self.idle:
            self._connect(now, cid, self.idle.popleft())
        else:
            self.waiting.append(cid)
            self.waiting_set.add(cid)
            self._at(now + round(self.s.patience_s * US), GIVE_UP, cid)

    def _give_up(self, now: int, cid: int) -> None:
        if cid not in self.waiting_set:
            return
        self.waiting_set.discard(cid)
        self.waiting.remove(cid)
        call = self.calls.pop(cid)
        self.stats.abandoned(now)  # the safe-harbour message plays here
        self.r.abandoned += 1
        self.r.by_minute[(call.answered_us - EPOCH_US) // (60 * US)][1] += 1

    def _connect(self, now: int, cid: int, agent: int) -> None:
        call = self.calls[cid]
        self.r.idle_us += now - self.views[agent].since_us
        self.views[agent] = AgentView(AgentPhase.TALKING, now)
        self.agent_call[agent] = cid
        self.stats.connected(now, now - call.answered_us)
        self.r.connected += 1
        self._at(now + call.talk_us, TALK_END, agent)

    def _talk_end(self, now: int, agent: int) -> None:
        call = self.calls.pop(self.agent_call.pop(agent))
        self.r.talk_us += call.talk_us
        self.stats.call_ended(now, call.talk_us)
        self.views[agent] = AgentView(AgentPhase.WRAPUP, now)
        self._at(now + round(self.s.wrapup_s * US), WRAP_END, agent)

    def _wrap_end(self, now: int, agent: int) -> None:
        self.stats.wrapup_ended(now, now - self.views[agent].since_us)
        self.views[agent] = AgentView(AgentPhase.IDLE, now)
        if self.waiting:
            cid = self.waiting.popleft()
            self.waiting_set.discard(cid)
            self._connect(now, cid, agent)
        else:
            self.idle.append(agent)

    # --- the day's figures --------------------------------------------------------------------
    def _finish(self) -> Result:
        r, end = self.r, self.end_us
        for agent, view in enumerate(self.views):
            if view.phase is AgentPhase.IDLE:
                r.idle_us += end - view.since_us
            elif view.phase is AgentPhase.TALKING:  # the part of calls still going
                call = self.calls[self.agent_call[agent]]
                r.talk_us += min(call.talk_us, end - view.since_us)
        minutes = r.by_minute[: int(self.s.hours * 60)]
        for start in range(0, max(1, len(minutes) - 29)):
            part = minutes[start : start + 30]
            answered = sum(m[0] for m in part)
            abandoned = sum(m[1] for m in part)
            rate = abandoned / answered if answered else 0.0
            r.windows += 1
            r.worst_window = max(r.worst_window, rate)
            r.windows_over += rate > self.ceiling
        r.targets_left = self.s.targets - self.next_target
        return r


def simulate(scenario: Scenario, policy: PacingPolicy) -> Result:
    return CallCenter(scenario, policy, policy.max_abandon_rate / 100).run()
