"""Tags, agents and queues as the services hand them around (issue 13)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from outdial.domain.address import Address


@dataclass(frozen=True, slots=True)
class Tag:
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    detail: str
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None = None


@dataclass(frozen=True, slots=True)
class Agent:
    """`password_hash` stays inside the services: no wire renders it."""

    id: uuid.UUID
    customer_id: uuid.UUID
    username: str
    name: str
    detail: str
    ring_method: str
    status: str
    permission: int
    tag_ids: tuple[uuid.UUID, ...]
    addresses: tuple[Address, ...]
    tm_status: datetime
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None = None
    nailed_up: bool = False  # outdial's own: the desk keeps a leg open to it (docs/agents.md)


@dataclass(frozen=True, slots=True)
class Queue:
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    detail: str
    routing_method: str
    tag_ids: tuple[uuid.UUID, ...]
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None = None
    wait_actions: list[dict[str, Any]] = field(default_factory=list)
    wait_timeout: int = 0
    service_timeout: int = 0
    total_incoming_count: int = 0
    total_serviced_count: int = 0
    total_abandoned_count: int = 0
