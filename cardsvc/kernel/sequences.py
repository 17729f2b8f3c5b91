"""Named number sequences that work the same on PostgreSQL and SQLite.

One ``UPDATE … RETURNING`` reserves a block, so a roster import of 10,000 rows costs one
statement, and two writers can never receive the same number.
"""

from __future__ import annotations

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import String, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from uuid_utils.compat import uuid7


class NumberSequence(UUIDv7AuditBase):
    """Named counters (member numbers, card numbers): one ``UPDATE … RETURNING`` per block."""

    __tablename__ = "number_sequence"

    name: Mapped[str] = mapped_column(String(32), unique=True)
    value: Mapped[int] = mapped_column(default=0)


def upsert_ignore(
    session: AsyncSession, model: type, values: dict[str, object]
) -> postgresql.Insert | sqlite.Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` for the session's dialect."""
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)
    return ins.values(**values).on_conflict_do_nothing()


async def allocate(session: AsyncSession, name: str, count: int = 1) -> range:
    """Reserve ``count`` consecutive numbers from sequence ``name`` (first value is 1)."""
    if count < 1:
        raise ValueError("count must be positive")
    stmt = (
        update(NumberSequence)
        .where(NumberSequence.name == name)
        .values(value=NumberSequence.value + count)
        .returning(NumberSequence.value)
    )
    end = (await session.execute(stmt)).scalar_one_or_none()
    if end is None:
        await session.execute(
            upsert_ignore(session, NumberSequence, {"id": uuid7(), "name": name, "value": 0})
        )
        end = (await session.execute(stmt)).scalar_one()
    return range(end - count + 1, end + 1)
