"""All services of one process, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from outdial.clock import Clock
from outdial.domain.limits import Limits
from outdial.domain.netpolicy import NetworkPolicy
from outdial.services.accounts import AccountService
from outdial.services.agent_sessions import AgentSessionService
from outdial.services.agents import AgentService
from outdial.services.campaigncalls import CampaigncallService
from outdial.services.campaigns import CampaignService
from outdial.services.context import Context
from outdial.services.customers import CustomerService
from outdial.services.dispositions import DispositionService
from outdial.services.dnclists import DncListService
from outdial.services.eligibility import EligibilityService
from outdial.services.event_feed import EventService
from outdial.services.limits import RequestLimits
from outdial.services.media import MediaService
from outdial.services.outdials import OutdialService
from outdial.services.outplans import OutplanService
from outdial.services.queues import QueueService
from outdial.services.recordings import RecordingService
from outdial.services.stats import StatsService
from outdial.services.tags import TagService
from outdial.services.target_reset import TargetResetService
from outdial.services.targets import TargetService
from outdial.services.users import UserService
from outdial.storage.db import Database


@dataclass(frozen=True, slots=True)
class Services:
    ctx: Context
    customers: CustomerService
    outdials: OutdialService
    targets: TargetService
    outplans: OutplanService
    campaigns: CampaignService
    campaigncalls: CampaigncallService
    dnclists: DncListService
    eligibility: EligibilityService
    stats: StatsService
    events: EventService
    media: MediaService
    limits: RequestLimits
    accounts: AccountService
    recordings: RecordingService
    resets: TargetResetService
    users: UserService
    tags: TagService
    agents: AgentService
    queues: QueueService
    dispositions: DispositionService
    agent_sessions: AgentSessionService

    @classmethod
    def build(
        cls,
        db: Database,
        clock: Clock,
        *,
        network: NetworkPolicy | None = None,
        limits: Limits | None = None,
        max_call_ms: int = 3_600_000,
        recordings_dir: str = "",
        recordings_retention_days: float = 0.0,
        sim_agents: bool = False,
    ) -> Services:
        """`network`: what customers' outbound requests may reach (closed by default);
        `limits`: the per-customer limits; `max_call_ms`: the longest call (and action)."""
        ctx = Context(
            db,
            clock,
            network or NetworkPolicy(),
            limits or Limits(),
            max_call_ms,
            recordings_dir=recordings_dir,
            recordings_retention_days=recordings_retention_days,
            sim_agents=sim_agents,
        )
        return cls.over(ctx)

    @classmethod
    def over(cls, ctx: Context) -> Services:
        """The services over one context (the composition root builds the context once)."""
        clock = ctx.clock
        users = UserService(ctx)
        return cls(
            ctx=ctx,
            customers=CustomerService(ctx),
            outdials=OutdialService(ctx),
            targets=TargetService(ctx),
            outplans=OutplanService(ctx),
            campaigns=CampaignService(ctx),
            campaigncalls=CampaigncallService(ctx),
            dnclists=DncListService(ctx),
            eligibility=EligibilityService(ctx),
            stats=StatsService(ctx),
            events=EventService(ctx),
            media=MediaService(ctx),
            limits=RequestLimits(ctx.limits, lambda: clock.now().timestamp()),
            accounts=AccountService(ctx),
            recordings=RecordingService(ctx),
            resets=TargetResetService(ctx),
            users=users,
            tags=TagService(ctx),
            agents=AgentService(ctx),
            queues=QueueService(ctx),
            dispositions=DispositionService(ctx),
            agent_sessions=AgentSessionService(ctx, users),
        )

    async def database_reachable(self) -> bool:
        """For `GET /health`: whether the database answers now (a one-row query)."""
        return await self.ctx.db.ping()
