"""Read replicas: which engine a read that may lag runs on.

Reads that can be a moment old (reports, the audit browser, a member's own pages) take the
``read_session`` dependency instead of ``db_session``. It is a session on a streaming replica
while one answers and lags less than ``replica_max_lag_seconds`` (lag measured at most every
``replica_check_seconds`` per replica), else the primary's own request session. A member who
has just written (a redemption, a reversal) reads from the primary for
``read_your_writes_seconds``: a mark in the key-value store. Writes, and reads that a write
follows (the till's scan and quote, counters), stay on ``db_session``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from litestar.datastructures import State
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cardsvc.kernel.db import settings_engine
from cardsvc.kernel.kv import KV, KVUnavailable
from cardsvc.kernel.settings import Settings

logger = logging.getLogger(__name__)

# Seconds behind the primary: 0 when everything received has been replayed, else the age of
# the last transaction replayed (so a paused or slow replay grows with the clock).
LAG_SQL = text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()),"
    " 1e9) END"
)
CHECK_TIMEOUT_SECONDS = 2.0
STATE_KEY = "reads"


@dataclass(slots=True)
class Replica:
    engine: AsyncEngine
    checked_at: float = -math.inf
    lag: float | None = None  # None: did not answer
    usable: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def recent_write_key(member_id: uuid.UUID) -> str:
    return f"{{rw}}:{member_id.hex}"


class ReadRouter:
    """The primary engine, the replicas' engines, and the choice between them."""

    def __init__(
        self,
        primary: AsyncEngine,
        replicas: Sequence[AsyncEngine] = (),
        *,
        kv: KV | None = None,
        max_lag_seconds: float = 5.0,
        check_seconds: float = 1.0,
        read_your_writes_seconds: int = 10,
    ) -> None:
        self.primary = primary
        self.replicas = [Replica(e) for e in replicas]
        self._kv = kv
        self._max_lag = max_lag_seconds
        self._check = check_seconds
        self._ryw = read_your_writes_seconds
        self._turn = itertools.count()

    async def engine_for(self, member_id: uuid.UUID | None = None) -> AsyncEngine:
        """A replica in turn among those usable now; the primary when none is, or when
        ``member_id`` wrote within the read-your-writes window."""
        if not self.replicas:
            return self.primary
        if member_id is not None and await self.wrote_recently(member_id):
            return self.primary
        start = next(self._turn)
        for i in range(len(self.replicas)):
            replica = self.replicas[(start + i) % len(self.replicas)]
            if await self._usable(replica):
                return replica.engine
        return self.primary

    async def mark_write(self, member_id: uuid.UUID) -> None:
        """``member_id`` just wrote: their reads go to the primary for a while. Nothing to do
        without replicas; a Redis outage is logged (their next read may be a moment old)."""
        if not self.replicas or self._kv is None or self._ryw <= 0:
            return
        try:
            await self._kv.set(recent_write_key(member_id), b"1", self._ryw)
        except KVUnavailable as exc:
            logger.warning("read-your-writes mark not set, Redis unavailable: %s", exc)

    async def wrote_recently(self, member_id: uuid.UUID) -> bool:
        if self._kv is None or self._ryw <= 0:
            return False
        try:
            return await self._kv.get(recent_write_key(member_id)) is not None
        except KVUnavailable:
            return True  # cannot tell: the primary is never behind

    async def _usable(self, replica: Replica) -> bool:
        if time.monotonic() - replica.checked_at < self._check:
            return replica.usable
        async with replica.lock:  # one measurement per replica at a time
            if time.monotonic() - replica.checked_at >= self._check:
                replica.lag = await self.measure_lag(replica.engine)
                replica.usable = replica.lag is not None and replica.lag <= self._max_lag
                replica.checked_at = time.monotonic()
        return replica.usable

    @staticmethod
    async def measure_lag(engine: AsyncEngine) -> float | None:
        """Seconds the replica is behind, or ``None`` when it does not answer in time."""
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), engine.connect() as conn:
                return float(await conn.scalar(LAG_SQL) or 0)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            logger.warning("replica %s skipped: %s", engine.url.render_as_string(), exc)
            return None

    async def dispose(self) -> None:
        for replica in self.replicas:
            await replica.engine.dispose()


def read_router(settings: Settings, primary: AsyncEngine, kv: KV) -> ReadRouter:
    """The app's router: an engine per ``UNIONCARD_DATABASE_REPLICA_URL`` entry."""
    replicas = [settings_engine(settings, url) for url in settings.database_replica_urls]
    return ReadRouter(
        primary,
        replicas,
        kv=kv,
        max_lag_seconds=settings.replica_max_lag_seconds,
        check_seconds=settings.replica_check_seconds,
        read_your_writes_seconds=settings.read_your_writes_seconds,
    )


async def replica_engine(state: State, member_id: uuid.UUID | None = None) -> AsyncEngine | None:
    """The replica a read goes to, or ``None`` for the primary (the request's ``db_session``)."""
    router: ReadRouter | None = state.get(STATE_KEY)
    if router is None or not router.replicas:
        return None
    engine = await router.engine_for(member_id)
    return None if engine is router.primary else engine


@asynccontextmanager
async def reading(
    state: State, db_session: AsyncSession, member_id: uuid.UUID | None = None
) -> AsyncIterator[AsyncSession]:
    """A session for reads that may be a moment old (of ``member_id``'s own data, if given):
    on a replica, one of its own, closed (rolled back) at the end; else ``db_session``."""
    engine = await replica_engine(state, member_id)
    if engine is None:
        yield db_session
        return
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session


async def provide_read_session(
    state: State, db_session: AsyncSession
) -> AsyncIterator[AsyncSession]:
    """Dependency ``read_session``: :func:`reading` for the whole request."""
    async with reading(state, db_session) as session:
        yield session
