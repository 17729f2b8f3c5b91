"""Transaction handling shared by the engine's functions.

Every public function accepts an ``AsyncSession`` or an ``AsyncConnection``. Write functions are
atomic either way:

* if the caller already has a transaction open, the work runs in a SAVEPOINT inside it (a refusal
  undoes only the engine's own statements) and the caller commits;
* otherwise the function opens the transaction itself and commits it before returning.

Statements run on the underlying ``AsyncConnection`` (Core, not the ORM unit of work): the hot
path pays for no identity map or flush.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

Db = AsyncSession | AsyncConnection


@asynccontextmanager
async def write_transaction(db: Db) -> AsyncIterator[AsyncConnection]:
    if isinstance(db, AsyncSession):
        if db.in_transaction():
            async with db.begin_nested():
                yield await db.connection()
        else:
            async with db.begin():
                yield await db.connection()
    elif db.in_transaction():
        async with db.begin_nested():
            yield db
    else:
        async with db.begin():
            yield db


@asynccontextmanager
async def read_connection(db: Db) -> AsyncIterator[AsyncConnection]:
    """A connection to read on; a transaction opened here is closed again afterwards."""
    owned = not db.in_transaction()
    conn = await db.connection() if isinstance(db, AsyncSession) else db
    try:
        yield conn
    finally:
        if owned and db.in_transaction():
            await db.rollback()


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(at: datetime | None) -> datetime:
    """``at`` (aware) in UTC, or now."""
    if at is None:
        return utc_now()
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
    return at.astimezone(UTC)


def driver_name(db: Db) -> str:
    if isinstance(db, AsyncConnection):
        return db.dialect.driver
    return db.bind.dialect.driver if db.bind is not None else ""


async def driver_of(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn``: at hand while it is open and valid (no greenlet
    switch for ``get_raw_connection``), else as SQLAlchemy revalidates it."""
    sync = conn.sync_connection
    if sync is not None and not sync.closed and not sync.invalidated:
        return sync.connection.driver_connection
    return (await conn.get_raw_connection()).driver_connection


@asynccontextmanager
async def bare_driver(db: Db, pg: Any | None) -> AsyncIterator[Any | None]:
    """``pg``, or the asyncpg connection under ``db`` when it has no transaction open, else
    ``None`` (SQLite, or a caller's transaction: the SQLAlchemy path)."""
    if pg is not None:
        yield pg
    elif driver_name(db) == "asyncpg" and not db.in_transaction():
        conn = db if isinstance(db, AsyncConnection) else await db.connection()
        try:
            yield await driver_of(conn)
        finally:
            if isinstance(db, AsyncSession):
                await db.commit()  # as in redeem's transaction: nothing reaches the server
    else:
        yield None


def is_unique_violation(exc: BaseException) -> bool:
    return getattr(exc, "sqlstate", None) == "23505"


def is_retryable(exc: BaseException | None) -> bool:
    """Deadlock or serialisation failure: the whole transaction may simply run again."""
    return getattr(exc, "sqlstate", None) in {"40P01", "40001"}
