"""Which month's statement a reversal is booked into, taking turns with confirmations.

A confirmed or paid statement is frozen: what finance was given does not change. A reversal of
a redemption from such a month is booked into the next month that is still open (normally the
current one, since only ended months can be confirmed). The statement row is claimed (created
as open if absent) and locked first, by the reversal and by a confirmation alike, so that a
confirmation either sees the reversal or the reversal sees the confirmation: never neither.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from uuid_utils.compat import uuid7

from benefits.engine.months import month_of, next_month
from benefits.engine.txn import Db, read_connection
from benefits.models import Redemption, Reversal, SettlementStatement, SettlementStatus

_S = cast(Table, SettlementStatement.__table__)
_R = cast(Table, Redemption.__table__)
_RV = cast(Table, Reversal.__table__)


async def claim(conn: AsyncConnection, merchant_id: uuid.UUID, month: str) -> SettlementStatus:
    """The status of ``month``'s statement, its row created (open) if absent and locked until
    the transaction ends (PostgreSQL; SQLite has one writer at a time anyway)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    await conn.execute(
        dialect.insert(_S)
        .values(id=uuid7(), merchant_id=merchant_id, month=month, status=SettlementStatus.open)
        .on_conflict_do_nothing(index_elements=["merchant_id", "month"])
    )
    status = await conn.scalar(
        select(_S.c.status)
        .where(_S.c.merchant_id == merchant_id, _S.c.month == month)
        .with_for_update()
    )
    return SettlementStatus(str(status))


async def book_month(
    conn: AsyncConnection, *, merchant_id: uuid.UUID, occurred_at: datetime, time_zone: str
) -> str:
    """The first month from the redemption's own whose statement is open, claimed."""
    month = month_of(occurred_at, time_zone)
    while await claim(conn, merchant_id, month) != SettlementStatus.open:
        month = next_month(month)
    return month


async def reversal_booking(db: Db, *, redemption_id: uuid.UUID) -> tuple[datetime, str] | None:
    """When the reversed redemption happened and the month its reversal was booked into (None
    when it was not reversed, or reversed without a settlement month)."""
    stmt = (
        select(_R.c.occurred_at, _RV.c.booked_month)
        .join(_RV, _RV.c.redemption_id == _R.c.id)
        .where(_R.c.checkout_id == redemption_id, _RV.c.booked_month.is_not(None))
        .limit(1)
    )
    async with read_connection(db) as conn:
        row = (await conn.execute(stmt)).first()
    return None if row is None else (row[0], row[1])
