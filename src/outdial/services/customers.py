"""Customers and their access keys (stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any

import sqlalchemy as sa

from outdial.domain.errors import InvalidArgument, NotFound, Unauthenticated
from outdial.domain.ids import new_id
from outdial.domain.models import AccessKey, Customer
from outdial.domain.text import check_name
from outdial.services.context import Context
from outdial.storage import repo, rows
from outdial.storage.tables import accesskeys, customers
from outdial.storage.timeconv import from_us


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


AUTH_CACHE_SECONDS = 5
AUTH_CACHE_SIZE = 10_000


class CustomerService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._auth_cache: dict[str, tuple[uuid.UUID, int]] = {}  # token hash -> (customer, until)

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
        self, customer_id: uuid.UUID, name: str = "", expire_us: int | None = None
    ) -> tuple[AccessKey, str]:
        """Create a key; the plain token is returned once and only its hash is stored."""
        check_name(name)
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
        """Revoke a key (kept, marked deleted). This process stops taking it at once; other
        `serve` processes within AUTH_CACHE_SECONDS."""
        async with self.ctx.db.write() as conn:
            row = await repo.get(conn, accesskeys, key_id)
            if row is None:
                raise NotFound(f"access key {key_id} not found", reason="ACCESSKEY_NOT_FOUND")
            if row.tm_delete is None:
                row = await repo.soft_delete(conn, accesskeys, row, self.ctx.now_us())
        self._auth_cache.pop(row.token_hash, None)
        return rows.accesskey(row)

    async def authenticate(self, token: str) -> uuid.UUID:
        """The customer a token belongs to; 401 for an unknown, expired or deleted key."""
        return await self.identify(hash_token(token))

    async def key_valid(self, digest: str) -> bool:
        """Whether the key with this hash still works, asked of the database (not the cache):
        open event streams ask it every few seconds to end when their key is revoked."""
        async with self.ctx.db.query() as conn:
            found = (await conn.execute(self._key_query(digest, self.ctx.now_us()))).first()
        if found is None:
            self._auth_cache.pop(digest, None)
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

        A key that worked is remembered for AUTH_CACHE_SECONDS (never past its expiry), so
        most requests skip this query; a key deleted in the database stops working within
        that time."""
        now = self.ctx.now_us()
        cached = self._auth_cache.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        async with self.ctx.db.read() as conn:
            found = (await conn.execute(self._key_query(digest, now))).first()
        if found is None:
            self._auth_cache.pop(digest, None)
            raise Unauthenticated("the access key is not valid", reason="INVALID_CREDENTIALS")
        until = now + AUTH_CACHE_SECONDS * 1_000_000
        if found.tm_expire is not None:
            until = min(until, found.tm_expire)
        if len(self._auth_cache) >= AUTH_CACHE_SIZE:
            self._auth_cache.clear()
        self._auth_cache[digest] = (found.customer_id, until)
        customer_id: uuid.UUID = found.customer_id
        return customer_id
