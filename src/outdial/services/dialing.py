"""The services of a dialing engine, one per job: the engine registry
(`engine_registry.py`), the attempt lifecycle (`attempts.py`) and the campaign lifecycle
(`campaign_lifecycle.py`). Each method of each is one transaction."""

from __future__ import annotations

from outdial.services.attempts import AttemptService
from outdial.services.campaign_lifecycle import Broken, CampaignLifecycle, Roster, Running
from outdial.services.context import Context
from outdial.services.desk import DeskService
from outdial.services.engine_registry import EngineRegistry

__all__ = ["Broken", "DialingService", "Roster", "Running"]


class DialingService:
    """What an engine is given: its three services over one context."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.registry = EngineRegistry(ctx)
        self.attempts = AttemptService(ctx)
        self.campaigns = CampaignLifecycle(ctx)
        self.desk = DeskService(ctx)  # agents (issue 13)
