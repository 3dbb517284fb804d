"""Dependencies as `Annotated` aliases: the services, the caller's customer, paging."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request

from outdial.domain.errors import Unauthenticated
from outdial.services.container import Services
from outdial.storage.pagination import Cursor
from outdial.wire.paging import parse_page_token

# Dependencies are `async def` even where they do not await: FastAPI runs a plain `def`
# dependency in a worker thread, a hop that cost a list request about 0.2 ms each.


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def credential(request: Request) -> str | None:
    """An access key from `accesskey` or `token` (query or cookie), or `Authorization: Bearer`."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    for name in ("accesskey", "token"):
        found = request.query_params.get(name) or request.cookies.get(name)
        if found:
            return found
    return None


async def get_customer_id(
    request: Request, services: Annotated[Services, Depends(get_services)]
) -> uuid.UUID:
    """The caller's customer, as `api.auth.Authenticate` found it before the body was read."""
    found = request.scope.get("state", {}).get("customer_id")
    if found is not None:
        customer_id: uuid.UUID = found
        return customer_id
    token = credential(request)
    if token is None:
        raise Unauthenticated("an access key is required (accesskey, token or Bearer)")
    return await services.customers.authenticate(token)


async def get_key_digest(request: Request) -> str | None:
    """The hash of the caller's access key (`api.auth.Authenticate` put it there): who asked,
    for records such as a target's history."""
    found = request.scope.get("state", {}).get("key_digest")
    return found if isinstance(found, str) else None


class Paging:
    def __init__(self, limit: int, cursor: Cursor | None) -> None:
        self.limit = limit
        self.cursor = cursor


async def get_paging(
    page_size: Annotated[int, Query(ge=1, le=100)] = 100,
    page_token: Annotated[str | None, Query(max_length=200)] = None,
) -> Paging:
    return Paging(page_size, parse_page_token(page_token))


ServicesDep = Annotated[Services, Depends(get_services)]
CustomerId = Annotated[uuid.UUID, Depends(get_customer_id)]
PagingDep = Annotated[Paging, Depends(get_paging)]
KeyDigest = Annotated[str | None, Depends(get_key_digest)]
