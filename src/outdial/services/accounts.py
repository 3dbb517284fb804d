"""A customer's own settings over the API: its webhook (URI checked against the network
policy when written, the signing secret shown only when it is made, rotated with a 24 h
overlap) and its allowed calling codes (the toll-fraud guard)."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from outdial.domain.callingcodes import parse_calling_codes
from outdial.domain.errors import InvalidArgument, NotFound
from outdial.domain.netpolicy import BlockedAddress, NetworkPolicy
from outdial.netguard import check_http_url, resolve_checked
from outdial.services.context import Context
from outdial.storage import repo
from outdial.storage.codec import dump_json
from outdial.storage.tables import customers, webhook_cursors
from outdial.storage.tables import events as events_table
from outdial.storage.timeconv import from_us
from outdial.wire import customer as wire_customer
from outdial.wire.common import ts

METHODS = ("POST", "PUT")
MAX_URI = 2000
RESOLVE_S = 5.0  # how long a PUT waits for the webhook host's name to resolve
SECRET_OVERLAP_US = 24 * 3600 * 1_000_000  # a replaced secret keeps signing this long


def _bad_uri(message: str) -> InvalidArgument:
    return InvalidArgument(f"webhook_uri {message}", reason="INVALID_URI")


def check_uri(uri: str, network: NetworkPolicy) -> str:
    """An http(s) URL of printable ASCII (no control characters, no spaces) whose host, when
    it is an address literal, the policy allows; 400 INVALID_URI otherwise."""
    if uri == "":
        return uri
    if len(uri) > MAX_URI:
        raise _bad_uri(f"is longer than {MAX_URI} characters")
    if not all(" " < c < "\x7f" for c in uri):
        raise _bad_uri("must be printable ASCII without spaces or control characters")
    try:
        check_http_url(uri, network)
    except BlockedAddress as exc:
        raise _bad_uri(f"points at a {exc.reason.replace('_', ' ')} address") from None
    except ValueError:
        raise _bad_uri("must be an http or https URL with a host") from None
    return uri


async def check_uri_host(uri: str, network: NetworkPolicy) -> None:
    """Resolve a webhook host name now: a name that does not resolve, or resolves to any
    blocked address, is a 400 (deliveries check it again on every connection)."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        async with asyncio.timeout(RESOLVE_S):
            await resolve_checked(host, port, network)
    except BlockedAddress as exc:
        kind = exc.reason.replace("_", " ")
        raise _bad_uri(f"host {host} resolves to a {kind} address") from None
    except (OSError, TimeoutError, UnicodeError):
        raise _bad_uri(f"host {host} does not resolve") from None


class AccountService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def _own(self, caller: uuid.UUID | None, customer_id: uuid.UUID) -> Any:
        async with self.ctx.db.read() as conn:
            row = await repo.get(conn, customers, customer_id)
        if row is None or row.tm_delete is not None or caller not in (None, row.id):
            raise NotFound(f"customer {customer_id} not found", reason="CUSTOMER_NOT_FOUND")
        return row

    async def get(self, caller: uuid.UUID, customer_id: uuid.UUID) -> dict[str, Any]:
        """A customer sees only itself: any other id is 404, as if it did not exist."""
        return wire_customer.render_row(await self._own(caller, customer_id))

    async def update(
        self, caller: uuid.UUID | None, customer_id: uuid.UUID, body: dict[str, Any]
    ) -> dict[str, Any]:
        """PUT /customers/{id} (caller: the key's customer) or the CLI (caller None). The
        signing secret is made with the first webhook and shown only then."""
        await self._own(caller, customer_id)
        values: dict[str, Any] = {}
        if body.get("webhook_method") is not None:
            method = str(body["webhook_method"]).upper()
            if method not in METHODS:
                raise InvalidArgument("webhook_method must be POST or PUT")
            values["webhook_method"] = method
        if body.get("webhook_uri") is not None:
            uri = check_uri(str(body["webhook_uri"]), self.ctx.network)
            if uri:
                await check_uri_host(uri, self.ctx.network)  # outside any transaction
            values["webhook_uri"] = uri
        if "allowed_calling_codes" in body:
            codes = parse_calling_codes(body["allowed_calling_codes"])
            values["allowed_calling_codes"] = dump_json(list(codes))
        created = ""
        async with self.ctx.db.write() as conn:
            row = await repo.get(conn, customers, customer_id)
            if row is None or row.tm_delete is not None:
                raise NotFound(f"customer {customer_id} not found", reason="CUSTOMER_NOT_FOUND")
            if (
                values.get("webhook_uri")
                and not row.webhook_method
                and "webhook_method" not in values
            ):
                values["webhook_method"] = "POST"
            if values.get("webhook_uri") and not row.webhook_secret:
                created = values["webhook_secret"] = secrets.token_hex(32)
            values["tm_update"] = self.ctx.now_us()
            row = await repo.update(conn, customers, customer_id, values)
            assert row is not None
            if values.get("webhook_uri"):
                # Deliveries start with the events written from now on.
                last = (
                    await conn.execute(
                        sa.select(sa.func.max(events_table.c.id)).where(
                            events_table.c.customer_id == customer_id
                        )
                    )
                ).scalar()
                await upsert_cursor(conn, customer_id, int(last or 0) + 1, keep=True)
        out = wire_customer.render_row(row)
        if created:
            out["webhook_secret"] = created
        return out

    async def rotate_webhook_secret(
        self, caller: uuid.UUID | None, customer_id: uuid.UUID
    ) -> dict[str, Any]:
        """A new signing secret, shown once; the one it replaces goes on signing beside it
        for 24 hours, so receivers can switch without losing a delivery."""
        await self._own(caller, customer_id)
        new = secrets.token_hex(32)
        now = self.ctx.now_us()
        async with self.ctx.db.write() as conn:
            row = await repo.get(conn, customers, customer_id)
            if row is None or row.tm_delete is not None:
                raise NotFound(f"customer {customer_id} not found", reason="CUSTOMER_NOT_FOUND")
            values: dict[str, Any] = {"webhook_secret": new, "tm_update": now}
            if row.webhook_secret:
                values["webhook_secret_old"] = row.webhook_secret
                values["webhook_secret_old_until"] = now + SECRET_OVERLAP_US
            row = await repo.update(conn, customers, customer_id, values)
            assert row is not None
        out = wire_customer.render_row(row)
        out["webhook_secret"] = new
        out["webhook_secret_previous_until"] = (
            ts(from_us(row.webhook_secret_old_until)) if row.webhook_secret_old else ""
        )
        return out


async def upsert_cursor(conn: Any, customer_id: uuid.UUID, next_id: int, *, keep: bool) -> None:
    """Set the customer's delivery cursor (keep=True leaves an existing one alone)."""
    C = webhook_cursors
    current = (await conn.execute(sa.select(C).where(C.c.customer_id == customer_id))).first()
    if current is None:
        await conn.execute(
            C.insert().values(customer_id=customer_id, next_event_id=next_id, attempt=0, next_try=0)
        )
    elif not keep:
        await conn.execute(
            sa.update(C)
            .where(C.c.customer_id == customer_id)
            .values(next_event_id=next_id, attempt=0, next_try=0)
        )
