"""The tables partitioned by month on PostgreSQL, and the job that makes their partitions ahead.

The job kind ``db.partitions`` runs on the schedule (``UNIONCARD_PARTITION_INTERVAL_HOURS``)
and creates, for each table below, the partitions of this month and of the
``UNIONCARD_PARTITION_MONTHS_AHEAD`` months after it (``cardsvc.kernel.partitions``). Expired
months are dropped by the retention that owns the data (the scan log: the privacy purge); the
redemption ledger has no retention (it is the financial record), its months stay.
On SQLite, or where the migration left a table plain, the job finds nothing to do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from benefits.models import Redemption
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.partitions import make_ahead
from merchants.models import ScanLog

PARTITION_JOB = "db.partitions"
PARTITION_SCHEDULE = "db.partitions"
# table → the timestamp column it is partitioned by (migrations 0020_partitions and
# 0023_ledger_partitions)
PARTITIONED: dict[str, str] = {
    ScanLog.__tablename__: "at",
    Redemption.__tablename__: "occurred_at",
}


async def make_partitions_ahead(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime, months: int
) -> dict[str, list[str]]:
    """One transaction per table; returns the partitions made, per table."""
    made: dict[str, list[str]] = {}
    for table, column in PARTITIONED.items():
        async with sessionmaker() as session, session.begin():
            made[table] = await make_ahead(session, table, column, now, max(months, 0))
    return made


async def run_partition_job(ctx: Any) -> dict[str, Any]:
    """Job handler (``db.partitions``)."""
    now = utc_now()
    made = await make_partitions_ahead(ctx.sessionmaker, now, ctx.settings.partition_months_ahead)
    return {"made": made, "at": now.isoformat(timespec="seconds")}
