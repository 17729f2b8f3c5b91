"""Terminal authentication: ``Authorization: Bearer uck_…`` → :class:`TerminalContext`.

Runs on every terminal request (every scan and redemption), so a worker remembers each key
lookup for ``terminal_auth_cache_seconds`` (default 5 s): a cache hit costs one SHA-256 and
a dictionary lookup, no database round trip. The cached row holds the key's *hash*, never the
key, and every request still compares the presented key with it in constant time.

Consequence (documented in docs/merchant-api.md): revoking a key, rotating without grace or
suspending a merchant takes effect on other workers within that TTL; the worker that served
the staff request forgets its entry at once.

Handlers get the context by declaring a ``terminal: TerminalContext`` parameter (the
``terminal`` dependency, :func:`provide_terminal`), which also applies the per-key rate limit.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from litestar import Request
from litestar.datastructures import State
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.ratelimit import RateLimiter
from merchants.config import LAST_USED_RESOLUTION_SECONDS, MerchantConfig
from merchants.errors import MerchantSuspended, RateLimited, TerminalUnauthorized
from merchants.keys import matches, parse_prefix
from merchants.models import (
    Merchant,
    MerchantCategory,
    MerchantStatus,
    Store,
    StoreStatus,
    Terminal,
    TerminalKey,
    TerminalStatus,
)

GATE_STATE_KEY = "terminal_gate"


@dataclass(frozen=True, slots=True)
class TerminalContext:
    """Who is calling: one terminal of one store of one merchant (plain values, no ORM)."""

    key_id: uuid.UUID
    key_prefix: str
    terminal_id: uuid.UUID
    terminal_name: str
    store_id: uuid.UUID
    store_name: str
    region: str  # the store's region code: where a redemption happens
    merchant_id: uuid.UUID
    merchant_name: str
    category: MerchantCategory
    merchant_region: str
    org_id: uuid.UUID  # the org that onboarded the merchant
    org_path: str


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One key row with what authentication decides on; this is what the cache holds."""

    secret_hash: str
    revoked_at: datetime | None
    last_used_at: datetime | None
    terminal_usable: bool
    merchant_status: MerchantStatus
    context: TerminalContext


_INVALID = ("终端密钥无效或已吊销", "Invalid or revoked terminal key")


async def load_key(session: AsyncSession, prefix: str) -> KeyRecord | None:
    """The key with its terminal, store and merchant, in one query."""
    row = (
        await session.execute(
            select(
                TerminalKey.id,
                TerminalKey.secret_hash,
                TerminalKey.revoked_at,
                TerminalKey.last_used_at,
                Terminal.id,
                Terminal.name,
                Terminal.status,
                Store.id,
                Store.name,
                Store.region,
                Store.status,
                Merchant.id,
                Merchant.display_name,
                Merchant.category,
                Merchant.region,
                Merchant.status,
                Merchant.org_id,
                Merchant.org_path,
            )
            .join(Terminal, Terminal.id == TerminalKey.terminal_id)
            .join(Store, Store.id == Terminal.store_id)
            .join(Merchant, Merchant.id == Terminal.merchant_id)
            .where(TerminalKey.prefix == prefix)
        )
    ).first()
    if row is None:
        return None
    (kid, khash, revoked, used, tid, tname, tstatus, sid, sname, sregion, sstatus) = row[:11]
    (mid, mname, mcat, mregion, mstatus, org_id, org_path) = row[11:]
    return KeyRecord(
        secret_hash=khash,
        revoked_at=revoked,
        last_used_at=used,
        terminal_usable=tstatus == TerminalStatus.active and sstatus == StoreStatus.active,
        merchant_status=MerchantStatus(mstatus),
        context=TerminalContext(
            key_id=kid,
            key_prefix=prefix,
            terminal_id=tid,
            terminal_name=tname,
            store_id=sid,
            store_name=sname,
            region=sregion,
            merchant_id=mid,
            merchant_name=mname,
            category=MerchantCategory(mcat),
            merchant_region=mregion,
            org_id=org_id,
            org_path=org_path,
        ),
    )


def bearer_key(authorization: str | None) -> str:
    if not authorization:
        raise TerminalUnauthorized(
            "缺少终端密钥（Authorization: Bearer <密钥>）",
            "Missing terminal key (Authorization: Bearer <key>)",
        )
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise TerminalUnauthorized(
            "Authorization 头格式应为 Bearer <密钥>", "Authorization must be Bearer <key>"
        )
    return value.strip()


class TerminalGate:
    """Authenticates terminal keys (with a short in-process cache) and rate-limits them."""

    MAX_CACHED = 50_000

    def __init__(
        self,
        config: MerchantConfig,
        redis: Any | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: utc_now(),
        limiter: RateLimiter | None = None,
    ) -> None:
        self.config = config
        self.limiter = limiter or RateLimiter(redis)
        self._monotonic = monotonic
        self._now = now
        # prefix -> (expires at, record or None for "no such key")
        self._cache: dict[str, tuple[float, KeyRecord | None]] = {}
        self._touched: dict[str, float] = {}  # prefix -> when this worker last wrote last_used_at

    @classmethod
    def from_settings(cls, settings: Any, redis: Any | None = None) -> TerminalGate:
        return cls(MerchantConfig.from_settings(settings), redis)

    async def authenticate(
        self, session: AsyncSession, authorization: str | None
    ) -> TerminalContext:
        plain = bearer_key(authorization)
        prefix = parse_prefix(plain)
        if prefix is None:
            raise TerminalUnauthorized(
                "终端密钥格式不正确（应以 uck_ 开头）", "Malformed terminal key (starts with uck_)"
            )
        record = await self._lookup(session, prefix)
        if record is None or not matches(plain, record.secret_hash):
            raise TerminalUnauthorized(*_INVALID)
        # The merchant's status first: a terminated merchant's keys are revoked too, and its
        # terminals should learn why (403 merchant_suspended), not just "bad key".
        if record.merchant_status != MerchantStatus.active:
            raise MerchantSuspended()
        now = self._now()
        if record.revoked_at is not None and record.revoked_at <= now:
            raise TerminalUnauthorized(*_INVALID)
        if not record.terminal_usable:
            raise TerminalUnauthorized("终端或门店已停用", "The terminal or its store is disabled")
        if self._due_for_touch(prefix, record, now):
            await session.execute(
                update(TerminalKey)
                .where(TerminalKey.id == record.context.key_id)
                .values(last_used_at=now)
                .execution_options(synchronize_session=False)
            )
        return record.context

    async def throttle(self, terminal: TerminalContext) -> None:
        decision = await self.limiter.hit(terminal.key_prefix, self.config.rate_limit_per_minute)
        if not decision.allowed:
            raise RateLimited(decision.retry_after, decision.limit)

    async def _lookup(self, session: AsyncSession, prefix: str) -> KeyRecord | None:
        ttl = self.config.auth_cache_seconds
        t = self._monotonic()
        hit = self._cache.get(prefix)
        if hit is not None and hit[0] > t:
            return hit[1]
        record = await load_key(session, prefix)
        if ttl > 0:
            if len(self._cache) >= self.MAX_CACHED:
                self._prune(t)
            self._cache[prefix] = (t + ttl, record)
        return record

    def _due_for_touch(self, prefix: str, record: KeyRecord, now: datetime) -> bool:
        """Write ``last_used_at`` at most once a minute per key and worker.

        One request per worker does it, so concurrent requests of a busy till never queue on
        the key row's lock (the write is part of the request's transaction).
        """
        every = LAST_USED_RESOLUTION_SECONDS
        if record.last_used_at is not None and now - record.last_used_at < timedelta(seconds=every):
            return False
        t = self._monotonic()
        if t - self._touched.get(prefix, float("-inf")) < every:
            return False
        if len(self._touched) >= self.MAX_CACHED:
            self._touched.clear()
        self._touched[prefix] = t
        return True

    def _prune(self, t: float) -> None:
        for k in [k for k, (exp, _) in self._cache.items() if exp <= t]:
            del self._cache[k]
        if len(self._cache) >= self.MAX_CACHED:  # all fresh: drop the oldest half
            for k in list(self._cache)[: self.MAX_CACHED // 2]:
                del self._cache[k]

    def forget(
        self, *, prefixes: tuple[str, ...] = (), merchant_id: uuid.UUID | None = None
    ) -> None:
        """Drop cached lookups in this worker (after a revocation or a status change)."""
        for p in prefixes:
            self._cache.pop(p, None)
        if merchant_id is not None:
            for k in [
                k
                for k, (_, rec) in self._cache.items()
                if rec is not None and rec.context.merchant_id == merchant_id
            ]:
                del self._cache[k]


def gate_of(state: State) -> TerminalGate:
    return state[GATE_STATE_KEY]


async def provide_terminal(
    request: Request[Any, Any, Any], state: State, db_session: AsyncSession
) -> TerminalContext:
    """Litestar dependency ``terminal``: the authenticated, rate-limited terminal."""
    gate = gate_of(state)
    terminal = await gate.authenticate(db_session, request.headers.get("authorization"))
    if db_session.in_transaction():
        # A key looked up or its last use stamped: commit now and give the connection back
        # (the scan and redemption borrow their own: cardsvc.kernel.db.driver_connection).
        await db_session.commit()
    await gate.throttle(terminal)
    return terminal
