"""Customer users and their sessions (issue 14): who may sign in to the console with a
username and password instead of an access key.

A password is kept only as an argon2id hash (argon2-cffi's defaults: 64 MiB, 3 passes),
computed in a worker thread so that a login does not stall the event loop. A session is a
random cookie token of which only the SHA-256 is stored, with a CSRF token and an absolute
expiry; deleting a user or logging out removes its sessions at once in every process (each
request looks its session up: no cache). Failed logins are counted per username and per
client address in this process (domain/users.py: FailureWindow); past the policy's limit a
login is answered 429 with Retry-After before any password is checked.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from outdial.domain.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
)
from outdial.domain.ids import new_id
from outdial.domain.users import (
    FailureWindow,
    Session,
    SessionPolicy,
    User,
    check_password,
    encodable,
    normalise_username,
)
from outdial.services.context import Context
from outdial.storage import repo
from outdial.storage.sessions import open_session
from outdial.storage.tables import customers, user_sessions, users
from outdial.storage.timeconv import from_us, opt_from_us

HASHES_AT_ONCE = 2
MAX_WINDOWS = 100_000  # usernames/addresses remembered at once; empty windows go first


def hash_session_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class LoginThrottled(ResourceExhausted):
    reason = "LOGIN_THROTTLED"


@dataclass(frozen=True, slots=True)
class LoginResult:
    token: str  # the cookie's value: shown once, only its hash is stored
    session: Session


def _user(row: Any) -> User:
    return User(
        row.id,
        row.customer_id,
        row.username,
        from_us(row.tm_create),
        from_us(row.tm_update),
        opt_from_us(row.tm_delete),
    )


class UserService:
    def __init__(self, ctx: Context, hasher: PasswordHasher | None = None) -> None:
        self.ctx = ctx
        self.hasher = hasher or PasswordHasher()
        self._dummy: str | None = None  # a hash to check unknown usernames against
        self._by_user: dict[str, FailureWindow] = {}
        self._by_address: dict[str, FailureWindow] = {}
        # argon2 takes 64 MiB and a core for ~50 ms per hash: a burst of logins queues here
        # instead of taking the process's memory.
        self._hashing = asyncio.Semaphore(HASHES_AT_ONCE)

    @property
    def policy(self) -> SessionPolicy:
        return self.ctx.sessions

    # ---- users ---------------------------------------------------------------------------

    async def _customer(self, conn: Any, caller: uuid.UUID | None, customer_id: uuid.UUID) -> None:
        """The customer must exist and be the caller's (None: the operator's CLI); any other
        id is 404, as if it did not exist."""
        row = await repo.get(conn, customers, customer_id)
        if row is None or row.tm_delete is not None or caller not in (None, row.id):
            raise NotFound(f"customer {customer_id} not found", reason="CUSTOMER_NOT_FOUND")

    async def create(
        self, caller: uuid.UUID | None, customer_id: uuid.UUID, username: Any, password: Any
    ) -> User:
        name = normalise_username(username)
        secret = check_password(password)
        digest = await self._hash(secret)
        now = self.ctx.now_us()
        user_id = new_id()
        try:
            async with self.ctx.db.write() as conn:
                await self._customer(conn, caller, customer_id)
                taken = await conn.execute(
                    sa.select(users.c.id).where(
                        users.c.username == name, users.c.tm_delete.is_(None)
                    )
                )
                if taken.first() is not None:
                    raise _taken(name)
                await repo.insert(
                    conn,
                    users,
                    {
                        "id": user_id,
                        "customer_id": customer_id,
                        "username": name,
                        "password_hash": digest,
                        "tm_create": now,
                        "tm_update": now,
                    },
                )
                row = await repo.get(conn, users, user_id)
        except sa.exc.IntegrityError:  # a concurrent create of the same name won
            raise _taken(name) from None
        assert row is not None
        return _user(row)

    async def list(self, caller: uuid.UUID | None, customer_id: uuid.UUID) -> list[User]:
        """The customer's users that are not deleted, newest first."""
        async with self.ctx.db.read() as conn:
            await self._customer(conn, caller, customer_id)
            found = (
                await conn.execute(
                    sa.select(users)
                    .where(users.c.customer_id == customer_id, users.c.tm_delete.is_(None))
                    .order_by(users.c.tm_create.desc(), users.c.id.desc())
                )
            ).all()
        return [_user(r) for r in found]

    async def delete(
        self, caller: uuid.UUID | None, customer_id: uuid.UUID, user_id: uuid.UUID
    ) -> User:
        """Delete a user (soft) and end its sessions at once."""
        async with self.ctx.db.write() as conn:
            await self._customer(conn, caller, customer_id)
            row = await repo.get(conn, users, user_id)
            if row is None or row.customer_id != customer_id:
                raise NotFound(f"user {user_id} not found", reason="USER_NOT_FOUND")
            row = await repo.soft_delete(conn, users, row, self.ctx.now_us())
            await conn.execute(sa.delete(user_sessions).where(user_sessions.c.user_id == user_id))
        return _user(row)

    # ---- sessions ------------------------------------------------------------------------

    async def login(self, username: Any, password: Any, address: str) -> LoginResult:
        """A new session for a user whose password matches; 401 INVALID_CREDENTIALS
        otherwise (the same answer for an unknown username), 429 LOGIN_THROTTLED when the
        username or the address had too many failures lately."""
        key = username.strip().lower() if isinstance(username, str) else ""
        self.check_throttle(key, address)
        try:
            name = normalise_username(username)
            if not isinstance(password, str) or not password or not encodable(password):
                raise InvalidArgument("password is required")
        except InvalidArgument:
            self.record_failure(key, address)
            raise _bad_login() from None
        async with self.ctx.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(users)
                    .select_from(users.join(customers, customers.c.id == users.c.customer_id))
                    .where(
                        users.c.username == name,
                        users.c.tm_delete.is_(None),
                        customers.c.tm_delete.is_(None),
                    )
                )
            ).first()
        matches = await self.verify_password(row.password_hash if row else None, password)
        if not matches or row is None:
            self.record_failure(key, address)
            raise _bad_login()
        self.forget_failures(key)
        return await self._open_session(row, password)

    async def verify_password(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches the stored hash, checked off the event loop within the
        bound on concurrent hashing; None (no such account) checks against a dummy hash, so
        an unknown name takes as long as a wrong password. Agents' sign-in uses it too."""
        if stored is None:
            stored = await self._dummy_hash()
        async with self._hashing:
            return await asyncio.to_thread(self._verify, stored, password)

    async def _hash(self, password: str) -> str:
        async with self._hashing:
            return await asyncio.to_thread(self.hasher.hash, password)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(stored, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = await self._hash(secrets.token_urlsafe(16))
        return self._dummy

    async def _open_session(self, row: Any, password: str) -> LoginResult:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self.ctx.now_us()
        expire = now + int(self.policy.ttl_s * 1_000_000)
        rehash = None
        if self.hasher.check_needs_rehash(row.password_hash):  # the parameters were raised
            rehash = await self._hash(password)
        async with self.ctx.db.write() as conn:
            await open_session(
                conn,
                user_sessions,
                ("user_id", row.id),
                row.customer_id,
                token_hash=hash_session_token(token),
                csrf_token=csrf,
                now=now,
                expire=expire,
            )
            if rehash is not None:
                await conn.execute(
                    sa.update(users).where(users.c.id == row.id).values(password_hash=rehash)
                )
        session = Session(row.id, row.customer_id, row.username, csrf, from_us(expire))
        return LoginResult(token, session)

    async def session(self, digest: str) -> Session:
        """The live session whose cookie token has this hash; 401 when it has ended (logged
        out, expired, its user or customer deleted)."""
        S, U = user_sessions, users
        now = self.ctx.now_us()
        query = (
            sa.select(S.c.user_id, S.c.customer_id, S.c.csrf_token, S.c.tm_expire, U.c.username)
            .select_from(
                S.join(U, U.c.id == S.c.user_id).join(customers, customers.c.id == S.c.customer_id)
            )
            .where(
                S.c.token_hash == digest,
                S.c.tm_delete.is_(None),
                S.c.tm_expire > now,
                U.c.tm_delete.is_(None),
                customers.c.tm_delete.is_(None),
            )
        )
        async with self.ctx.db.query() as conn:
            found = (await conn.execute(query)).first()
        if found is None:
            raise Unauthenticated("the session has ended; sign in again", reason="SESSION_EXPIRED")
        return Session(
            found.user_id,
            found.customer_id,
            found.username,
            found.csrf_token,
            from_us(found.tm_expire),
        )

    async def session_valid(self, digest: str) -> bool:
        """Whether the session still works (open event streams ask every few seconds)."""
        try:
            await self.session(digest)
        except Unauthenticated:
            return False
        return True

    async def logout(self, digest: str) -> None:
        async with self.ctx.db.write() as conn:
            await conn.execute(sa.delete(user_sessions).where(user_sessions.c.token_hash == digest))

    # ---- the throttle --------------------------------------------------------------------

    def _now(self) -> float:
        return self.ctx.clock.now().timestamp()

    def check_throttle(self, key: str, address: str) -> None:
        """429 LOGIN_THROTTLED when `key` (a username; agents' are prefixed) or the address
        failed too often lately."""
        p, now = self.policy, self._now()
        waits = []
        for table, name, limit in (
            (self._by_user, key, p.max_failures_per_user),
            (self._by_address, address, p.max_failures_per_address),
        ):
            window = table.get(name)
            if window is not None:
                waits.append(window.wait(now, p.failure_window_s, limit))
        wait = max(waits, default=0.0)
        if wait > 0:
            raise LoginThrottled(
                "too many failed logins for this username or from this address; try later",
                retry_after=math.ceil(wait),
            )

    def forget_failures(self, key: str) -> None:
        """A successful sign-in clears the name's failures (not the address's)."""
        self._by_user.pop(key, None)

    def record_failure(self, key: str, address: str) -> None:
        p, now = self.policy, self._now()
        for table, name in ((self._by_user, key), (self._by_address, address)):
            window = table.get(name)
            if window is None:
                if len(table) >= MAX_WINDOWS:
                    _forget_empty(table, now, p.failure_window_s)
                window = table[name] = FailureWindow()
            window.fail(now, p.failure_window_s)


def _forget_empty(table: dict[str, FailureWindow], now: float, window: float) -> None:
    for name in [n for n, w in table.items() if w.empty(now, window)]:
        del table[name]
    if len(table) >= MAX_WINDOWS:  # every entry is recent: start again
        table.clear()


def _taken(name: str) -> FailedPrecondition:
    return FailedPrecondition(f"username {name} is taken", reason="USERNAME_TAKEN")


def _bad_login() -> Unauthenticated:
    return Unauthenticated("the username or password is wrong", reason="INVALID_CREDENTIALS")
