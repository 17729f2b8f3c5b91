"""Reverse a redemption, once, giving back exactly the takes it recorded.

The reversal row goes in first (unique per redemption, so only one of two concurrent reversals
wins), then the takes are given back, in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError
from uuid_utils.compat import uuid7

from benefits.engine.booking import book_month
from benefits.engine.counters import key_params
from benefits.engine.results import ReversalResult
from benefits.engine.statements import SaStatements, sa_load_lines
from benefits.engine.txn import Db, as_utc, write_transaction
from benefits.errors import AlreadyReversed, NotFound, ValidationError
from benefits.models import Reversal
from benefits.rules.limits import CounterKey

# Declarative models map a Table; SQLAlchemy types ``__table__`` as the wider FromClause.
_RV = cast(Table, Reversal.__table__)
_INSERT_REVERSAL = insert(_RV)


async def reverse(
    db: Db,
    *,
    redemption_id: uuid.UUID,
    merchant_id: uuid.UUID | None = None,
    terminal_id: uuid.UUID | None = None,
    reason: str | None = None,
    at: datetime | None = None,
    time_zone: str | None = None,
) -> ReversalResult:
    """Void a checkout: give back exactly what each of its lines took, once.

    ``merchant_id`` (the merchant API always passes it) limits this to the merchant's own
    redemptions; another merchant's id is ``not_found``. A second reversal is
    ``already_reversed``, also when two race.

    With ``time_zone`` (the federation's, for its settlement months) the reversal is booked into
    the redemption's month, or the next open one when that month's statement is confirmed or
    paid (:mod:`benefits.engine.booking`); ``booked_month`` says which.
    """
    at = as_utc(at)
    if reason is not None and len(reason) > 255:
        raise ValidationError.field(
            "reason", "不能超过 255 个字符", "must be at most 255 characters"
        )
    try:
        async with write_transaction(db) as conn:
            st = SaStatements(conn)
            rows = await sa_load_lines(conn, redemption_id)
            if not rows or (merchant_id is not None and rows[0].merchant_id != merchant_id):
                raise NotFound(
                    message_zh="未找到该核销记录",
                    message_en="Redemption not found",
                    redemption_id=str(redemption_id),
                )
            if any(r.reversal_id is not None for r in rows):
                raise AlreadyReversed(redemption_id=str(redemption_id))
            # A frozen (confirmed or paid) month's reversal is booked into the next open one.
            booked = (
                await book_month(
                    conn,
                    merchant_id=rows[0].merchant_id,
                    occurred_at=rows[0].occurred_at,
                    time_zone=time_zone,
                )
                if time_zone
                else None
            )
            # The unique index on redemption_id is what makes a reversal happen once: a
            # concurrent second one fails here, before it touches a counter.
            await conn.execute(
                _INSERT_REVERSAL, _reversal_rows(rows, terminal_id, reason, at, booked)
            )
            restored: list[dict[str, Any]] = []
            for r in rows:
                for t in r.takes:
                    if t["n"] <= 0:
                        continue
                    key = CounterKey(r.program_id, t["p"], t["m"], t["s"], t["k"])
                    await st.release_counter({**key_params(key), "n": t["n"]})
                    restored.append(
                        {
                            "program_id": str(r.program_id),
                            "policy": t["p"],
                            "scope_key": t["s"],
                            "period_key": t["k"],
                            "n": t["n"],
                        }
                    )
    except IntegrityError:
        raise AlreadyReversed(redemption_id=str(redemption_id)) from None
    return ReversalResult(
        redemption_id=redemption_id,
        reversed_at=at,
        reason=reason,
        restored=tuple(restored),
        booked_month=booked,
    )


def _reversal_rows(
    rows: Sequence[Any],
    terminal_id: uuid.UUID | None,
    reason: str | None,
    at: datetime,
    booked: str | None,
) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid7(),
            "redemption_id": r.id,
            "member_id": r.member_id,
            "checkout_id": r.checkout_id,
            "merchant_id": r.merchant_id,
            "terminal_id": terminal_id,
            "reason": reason,
            "reversed_at": at,
            "booked_month": booked,
        }
        for r in rows
    ]
