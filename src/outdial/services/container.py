"""All services of one process, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from outdial.clock import Clock
from outdial.services.campaigncalls import CampaigncallService
from outdial.services.campaigns import CampaignService
from outdial.services.context import Context
from outdial.services.customers import CustomerService
from outdial.services.dnclists import DncListService
from outdial.services.eligibility import EligibilityService
from outdial.services.event_feed import EventService
from outdial.services.outdials import OutdialService
from outdial.services.outplans import OutplanService
from outdial.services.stats import StatsService
from outdial.services.targets import TargetService
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

    @classmethod
    def build(cls, db: Database, clock: Clock) -> Services:
        ctx = Context(db, clock)
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
        )
