"""Customers and their access keys (stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any

import sqlalchemy as sa

from outdial.domain.errors import InvalidArgument, NotFound, Unauthenticated
from outdial.domain.ids import new_id
from outdial.domain.models import AccessKey, Customer, Page
from outdial.domain.text import check_name, check_text
from outdial.services.context import Context
from outdial.storage import repo, rows
from outdial.storage.pagination import Cursor, page_of
from outdial.storage.tables import accesskeys, customers
from outdial.storage.timeconv import from_us


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


TOKEN_PREFIX = 8  # characters of a token kept in clear (`token_prefix`) to tell keys apart


class CustomerService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.keys = AccessKeyService(ctx, self)  # the REST routes' view, one customer's keys

    async def create(self, name: str) -> Customer:
        if not name.strip():
            raise InvalidArgument("name must not be empty")
        check_name(name)
        now = self.ctx.now_us()
        customer_id = new_id()
        values = {"id": customer_id, "name": name, "tm_create": now, "tm_update": now}
        async with self.ctx.db.write() as conn:
            await repo.insert(conn, customers, values)
            row = await repo.get(conn, customers, customer_id)
        assert row is not None
        return rows.customer(row)

    async def get(self, customer_id: uuid.UUID) -> Customer:
        async with self.ctx.db.read() as conn:
            row = await repo.get(conn, customers, customer_id)
        if row is None or row.tm_delete is not None:
            raise NotFound(f"customer {customer_id} not found", reason="CUSTOMER_NOT_FOUND")
        return rows.customer(row)

    async def create_accesskey(
        self,
        customer_id: uuid.UUID,
        name: str = "",
        expire_us: int | None = None,
        detail: str = "",
    ) -> tuple[AccessKey, str]:
        """Create a key; the plain token is returned once and only its hash is stored (with
        its first TOKEN_PREFIX characters, so lists can tell keys apart)."""
        check_name(name)
        check_text(detail, "detail")
        token = secrets.token_urlsafe(32)
        now = self.ctx.now_us()
        key_id = new_id()
        async with self.ctx.db.write() as conn:
            owner = await repo.get(conn, customers, customer_id)
            if owner is None or owner.tm_delete is not None:
                raise NotFound(f"customer {customer_id} not found", reason="CUSTOMER_NOT_FOUND")
            await repo.insert(
                conn,
                accesskeys,
                {
                    "id": key_id,
                    "customer_id": customer_id,
                    "name": name,
                    "detail": detail,
                    "token_prefix": token[:TOKEN_PREFIX],
                    "token_hash": hash_token(token),
                    "tm_expire": expire_us,
                    "tm_create": now,
                    "tm_update": now,
                },
            )
        key = AccessKey(
            key_id,
            customer_id,
            name,
            from_us(now),
            None if expire_us is None else from_us(expire_us),
            None,
            detail,
            token[:TOKEN_PREFIX],
            from_us(now),
        )
        return key, token

    async def list_accesskeys(self, customer_id: uuid.UUID) -> list[AccessKey]:
        """The customer's keys, newest first, deleted ones included (no tokens: only their
        hashes are stored)."""
        A = accesskeys
        async with self.ctx.db.read() as conn:
            owner = await repo.get(conn, customers, customer_id)
            if owner is None:
                raise NotFound(f"customer {customer_id} not found", reason="CUSTOMER_NOT_FOUND")
            found = (
                await conn.execute(
                    sa.select(A)
                    .where(A.c.customer_id == customer_id)
                    .order_by(A.c.tm_create.desc(), A.c.id.desc())
                )
            ).all()
        return [rows.accesskey(r) for r in found]

    async def delete_accesskey(self, key_id: uuid.UUID) -> AccessKey:
        """Revoke a key (kept, marked deleted): every process stops taking it at once (each
        request asks the database, see `identify`)."""
        async with self.ctx.db.write() as conn:
            row = await repo.get(conn, accesskeys, key_id)
            if row is None:
                raise NotFound(f"access key {key_id} not found", reason="ACCESSKEY_NOT_FOUND")
            if row.tm_delete is None:
                row = await repo.soft_delete(conn, accesskeys, row, self.ctx.now_us())
        return rows.accesskey(row)

    async def authenticate(self, token: str) -> uuid.UUID:
        """The customer a token belongs to; 401 for an unknown, expired or deleted key."""
        return await self.identify(hash_token(token))

    async def key_valid(self, digest: str) -> bool:
        """Whether the key with this hash still works: open event streams ask it every few
        seconds to end when their key is revoked."""
        async with self.ctx.db.query() as conn:
            found = (await conn.execute(self._key_query(digest, self.ctx.now_us()))).first()
        return found is not None

    @staticmethod
    def _key_query(digest: str, now: int) -> sa.Select[Any]:
        return (
            sa.select(accesskeys.c.customer_id, accesskeys.c.tm_expire)
            .select_from(accesskeys.join(customers, customers.c.id == accesskeys.c.customer_id))
            .where(
                accesskeys.c.token_hash == digest,
                accesskeys.c.tm_delete.is_(None),
                customers.c.tm_delete.is_(None),
                sa.or_(accesskeys.c.tm_expire.is_(None), accesskeys.c.tm_expire > now),
            )
        )

    async def identify(self, digest: str) -> uuid.UUID:
        """The customer of the key with this hash (`hash_token`); 401 when it does not work.

        Asked of the database on every request (one lookup by the unique index on
        token_hash), as sessions are: a key revoked or expired stops working at once in every
        `serve` process, which a per-process cache could not promise."""
        async with self.ctx.db.query() as conn:
            found = (await conn.execute(self._key_query(digest, self.ctx.now_us()))).first()
        if found is None:
            raise Unauthenticated("the access key is not valid", reason="INVALID_CREDENTIALS")
        customer_id: uuid.UUID = found.customer_id
        return customer_id


MAX_EXPIRE_S = 10 * 366 * 24 * 3600  # `expire` at most about ten years ahead


class AccessKeyService:
    """A customer's access keys over REST (`/v1.0/accesskeys`, VoIPBIN's shapes): the caller
    (an access key or a user's session) sees and manages only its own customer's keys;
    another customer's key is 404 as if it did not exist."""

    def __init__(self, ctx: Context, customers_: CustomerService) -> None:
        self.ctx = ctx
        self.customers = customers_

    async def create(
        self, customer_id: uuid.UUID, body: dict[str, Any], caller_digest: str | None
    ) -> tuple[AccessKey, str]:
        """`expire`: seconds from now until the key stops working (absent or 0: never). A key
        made with another key never outlives it: its expiry is capped at the caller's."""
        name = _text(body, "name")
        detail = _text(body, "detail")
        expire = body.get("expire")
        if expire is not None and (
            isinstance(expire, bool) or not isinstance(expire, int) or expire < 0
        ):
            raise InvalidArgument("expire must be a whole number of seconds, 0 or more")
        if expire is not None and expire > MAX_EXPIRE_S:
            raise InvalidArgument(f"expire must be at most {MAX_EXPIRE_S} seconds")
        now = self.ctx.now_us()
        expire_us = now + expire * 1_000_000 if expire else None
        if caller_digest is not None:
            async with self.ctx.db.read() as conn:
                A = accesskeys
                found = (
                    await conn.execute(
                        sa.select(A.c.tm_expire).where(A.c.token_hash == caller_digest)
                    )
                ).first()
            if found is not None and found.tm_expire is not None:
                expire_us = (
                    found.tm_expire if expire_us is None else min(expire_us, found.tm_expire)
                )
        return await self.customers.create_accesskey(customer_id, name, expire_us, detail)

    async def list(self, customer_id: uuid.UUID, cursor: Cursor | None, limit: int) -> Page:
        """The customer's keys not revoked (expired ones included), newest first."""
        A = accesskeys
        where = [A.c.customer_id == customer_id, A.c.tm_delete.is_(None)]
        async with self.ctx.db.query() as conn:
            found = await repo.page(conn, A, where, cursor, limit)
        return page_of([rows.accesskey(r) for r in found])

    async def _owned(self, conn: Any, customer_id: uuid.UUID, key_id: uuid.UUID) -> Any:
        row = await repo.get(conn, accesskeys, key_id)
        if row is None or row.customer_id != customer_id:
            raise NotFound(f"access key {key_id} not found", reason="ACCESSKEY_NOT_FOUND")
        return row

    async def get(self, customer_id: uuid.UUID, key_id: uuid.UUID) -> AccessKey:
        """A key of the customer's, revoked ones too (with their tm_delete)."""
        async with self.ctx.db.read() as conn:
            return rows.accesskey(await self._owned(conn, customer_id, key_id))

    async def update(
        self, customer_id: uuid.UUID, key_id: uuid.UUID, body: dict[str, Any]
    ) -> AccessKey:
        """PUT: `name` and `detail` only (never the token or the expiry); a revoked key is
        404."""
        values: dict[str, Any] = {}
        for field in ("name", "detail"):
            if body.get(field) is not None:
                values[field] = _text(body, field)
        async with self.ctx.db.write() as conn:
            row = await self._owned(conn, customer_id, key_id)
            if row.tm_delete is not None:
                raise NotFound(f"access key {key_id} not found", reason="ACCESSKEY_NOT_FOUND")
            if values:
                values["tm_update"] = self.ctx.now_us()
                row = await repo.update(conn, accesskeys, key_id, values) or row
        return rows.accesskey(row)

    async def delete(self, customer_id: uuid.UUID, key_id: uuid.UUID) -> AccessKey:
        """Revoke (soft delete): the key stops working at once in every process. A key may
        revoke itself (the answer is its last); deleting twice changes nothing."""
        async with self.ctx.db.read() as conn:
            await self._owned(conn, customer_id, key_id)
        return await self.customers.delete_accesskey(key_id)


def _text(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} must be a string")
    return check_name(value, field) if field == "name" else check_text(value, field)
