"""/v1.0/accesskeys: a customer's access keys over REST (VoIPBIN's routes and shapes).

Either credential may manage keys: an access key or a customer user's session (writes then
carry the CSRF token). The token is answered once, by the POST; only its SHA-256 is stored.
DELETE revokes at once in every process; a key may revoke itself."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from outdial.api.deps import CustomerId, KeyDigest, PagingDep, ServicesDep
from outdial.api.responses import ok
from outdial.api.schemas import AccessKeyCreate, AccessKeyUpdate
from outdial.domain.ids import parse_id
from outdial.wire import accesskeys as wire
from outdial.wire.paging import listing

router = APIRouter(prefix="/v1.0", tags=["accesskeys"])


@router.post("/accesskeys", operation_id="create_accesskey")
async def create_accesskey(
    s: ServicesDep, me: CustomerId, key: KeyDigest, body: AccessKeyCreate | None = None
) -> JSONResponse:
    made, token = await s.customers.keys.create(me, body.fields() if body else {}, key)
    return ok(wire.created(made, token))


@router.get("/accesskeys", operation_id="list_accesskeys")
async def list_accesskeys(s: ServicesDep, me: CustomerId, paging: PagingDep) -> JSONResponse:
    return ok(listing(await s.customers.keys.list(me, paging.cursor, paging.limit), wire.render))


@router.get("/accesskeys/{id}", operation_id="get_accesskey")
async def get_accesskey(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(wire.render(await s.customers.keys.get(me, parse_id(id))))


@router.put("/accesskeys/{id}", operation_id="update_accesskey")
async def update_accesskey(
    id: str, s: ServicesDep, me: CustomerId, body: AccessKeyUpdate | None = None
) -> JSONResponse:
    fields = body.fields() if body else {}
    return ok(wire.render(await s.customers.keys.update(me, parse_id(id), fields)))


@router.delete("/accesskeys/{id}", operation_id="delete_accesskey")
async def delete_accesskey(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(wire.render(await s.customers.keys.delete(me, parse_id(id))))
