"""The merchant side's personal data: the scan log (which merchant saw which member, when).

Handed to cardsvc's privacy duties by the composition root: the access export lists a
member's scans, an erasure deletes them, and the retention purge deletes old ones in batches.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.partitions import drop_expired
from merchants.models import Merchant, ScanLog, Store
from merchants.terminal.wiring import SCAN_LOG_RETENTION_DAYS

# Declarative models map a Table; SQLAlchemy types ``__table__`` as the wider FromClause.
_T = cast(Table, ScanLog.__table__)


async def member_scans(session: AsyncSession, member_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(ScanLog.at, ScanLog.result, Merchant.display_name, Store.name)
        .outerjoin(Merchant, Merchant.id == ScanLog.merchant_id)
        .outerjoin(Store, Store.id == ScanLog.store_id)
        .where(ScanLog.member_id == member_id)
        .order_by(ScanLog.at)
    )
    return [
        {"at": at.isoformat(), "result": result, "merchant": merchant, "store": store}
        for at, result, merchant, store in rows
    ]


async def erase_member_scans(session: AsyncSession, member_id: uuid.UUID) -> int:
    result = await session.execute(
        delete(ScanLog)
        .where(ScanLog.member_id == member_id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult


async def purge_scan_batch(session: AsyncSession, now: datetime, settings: Any, limit: int) -> int:
    """Delete up to ``limit`` scans older than ``scan_log_retention_days``; on PostgreSQL with
    the table partitioned by month, whole months past the cutoff are dropped first (their rows
    are counted, beyond ``limit``) and only the month straddling it loses rows one by one."""
    days = int(getattr(settings, "scan_log_retention_days", SCAN_LOG_RETENTION_DAYS))
    cutoff = now - timedelta(days=days)
    _, dropped = await drop_expired(session, _T.name, cutoff)
    ids = select(_T.c.id).where(_T.c.at < cutoff).limit(limit)
    result = await session.execute(
        delete(_T).where(_T.c.id.in_(ids)).execution_options(synchronize_session=False)
    )
    return dropped + int(result.rowcount or 0)  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult
