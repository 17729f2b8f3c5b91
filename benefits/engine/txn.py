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
