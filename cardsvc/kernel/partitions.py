"""Monthly range partitions on PostgreSQL: made ahead of time, dropped whole when they expire.

A table partitioned by month (declarative ``PARTITION BY RANGE`` on a timestamp column, made
so by a migration) has one partition per UTC month, named ``<table>_y<YYYY>m<MM>``, and a
``<table>_default`` partition that catches rows outside every month made so far (a clock far
off, a schedule that did not run): an insert never fails for want of a partition.

``make_ahead`` creates the months from the current one to ``months`` ahead; a row of such a
month already in the default partition is moved into the new month's table before it is
attached (PostgreSQL refuses to attach a range the default partition holds rows of).
``drop_expired`` drops the months that end at or before a cutoff, so retention costs one
``DROP TABLE`` per month instead of deleting rows one by one.

On SQLite, and on a PostgreSQL table that is not partitioned (a test database made by
``create_all``), every function here does nothing: callers then delete rows as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

_MONTH = re.compile(r"_y(\d{4})m(\d{2})$")
LOCK_TIMEOUT = "10s"


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, at: datetime) -> Month:
        at = at.astimezone(UTC)
        return cls(at.year, at.month)

    def plus(self, n: int) -> Month:
        i = self.year * 12 + self.month - 1 + n
        return Month(i // 12, i % 12 + 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.plus(1).start

    def name(self, table: str) -> str:
        return f"{table}_y{self.year:04d}m{self.month:02d}"


def skip_partitions(conn: Connection) -> Callable[[str | None, str, Any], bool]:
    """Alembic's ``include_name``: a partitioned table's partitions are made by the job, not
    declared by the models, so a comparison of models and schema leaves them out."""
    names: set[str] = set()
    if conn.dialect.name == "postgresql":
        names = set(conn.scalars(text("SELECT relname FROM pg_class WHERE relispartition")))
    return lambda name, type_, _parent: not (type_ == "table" and name in names)


def default_name(table: str) -> str:
    return f"{table}_default"


async def is_partitioned(session: AsyncSession, table: str) -> bool:
    """Whether ``table`` is a partitioned table of this PostgreSQL database (never on SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    found = await session.scalar(
        text(
            "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relname = :t AND c.relnamespace = current_schema()::regnamespace"
        ),
        {"t": table},
    )
    return found is not None


async def months_of(session: AsyncSession, table: str) -> dict[Month, str]:
    """The monthly partitions of ``table`` (the default partition left out)."""
    rows = await session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = :t AND p.relnamespace = current_schema()::regnamespace"
        ),
        {"t": table},
    )
    out: dict[Month, str] = {}
    for (name,) in rows:
        m = _MONTH.search(name)
        if m and name == Month(int(m[1]), int(m[2])).name(table):
            out[Month(int(m[1]), int(m[2]))] = name
    return out


async def _lock(session: AsyncSession, table: str) -> None:
    """One partition change of a table at a time (the job and ``purge-scans`` may overlap), and
    a bounded wait for the table's lock: ``DROP``/``ATTACH`` queue the scan log's inserts behind
    them, so rather fail (the job retries) than hold them up behind a long read."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:t))"), {"t": table})
    await session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))


def _ts(at: datetime) -> str:
    return at.strftime("'%Y-%m-%d %H:%M:%S+00'")


async def make_ahead(
    session: AsyncSession, table: str, column: str, now: datetime, months: int
) -> list[str]:
    """Create the partitions of this month and the ``months`` after it that are missing;
    returns their names. Caller commits (one transaction: all or none)."""
    if not await is_partitioned(session, table):
        return []
    await _lock(session, table)
    have = await months_of(session, table)
    made: list[str] = []
    default = default_name(table)
    for m in (Month.of(now).plus(i) for i in range(months + 1)):
        if m in have:
            continue
        name, lo, hi = m.name(table), _ts(m.start), _ts(m.end)
        # A standalone table first: rows of this month that went to the default partition
        # move in, then it is attached (which checks its rows and builds its indexes).
        await session.execute(
            text(f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
        )
        await session.execute(
            text(
                f'WITH moved AS (DELETE FROM "{default}" WHERE "{column}" >= {lo} '
                f'AND "{column}" < {hi} RETURNING *) INSERT INTO "{name}" SELECT * FROM moved'
            )
        )
        await session.execute(
            text(
                f'ALTER TABLE "{table}" ATTACH PARTITION "{name}" FOR VALUES FROM ({lo}) TO ({hi})'
            )
        )
        made.append(name)
    return made


async def drop_expired(
    session: AsyncSession, table: str, cutoff: datetime
) -> tuple[list[str], int]:
    """Drop the monthly partitions whose month ends at or before ``cutoff``; returns their
    names and how many rows they held. Caller commits."""
    if not await is_partitioned(session, table):
        return [], 0
    await _lock(session, table)
    dropped: list[str] = []
    rows = 0
    for m, name in sorted((await months_of(session, table)).items(), key=lambda kv: kv[0].start):
        if m.end > cutoff:
            continue
        rows += int(await session.scalar(text(f'SELECT count(*) FROM "{name}"')) or 0)
        await session.execute(text(f'DROP TABLE "{name}"'))
        dropped.append(name)
    return dropped, rows
