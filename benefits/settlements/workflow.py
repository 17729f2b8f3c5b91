"""A statement's life: open → confirmed (its figures frozen) → paid (with a payment reference).

Only an ended month can be confirmed, so the running month is always open and a reversal always
has a month to be booked into (:mod:`benefits.engine.booking`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Row, Table, select, update

from benefits.engine.booking import claim
from benefits.engine.months import month_bounds
from benefits.engine.txn import Db, as_utc, read_connection, write_transaction
from benefits.errors import Conflict, ValidationError
from benefits.models import SettlementStatement, SettlementStatus
from benefits.settlements.figures import StatementFigures, month_figures

_S = cast(Table, SettlementStatement.__table__)
_STATUS_ZH = {
    SettlementStatus.open: "未确认",
    SettlementStatus.confirmed: "已确认",
    SettlementStatus.paid: "已付款",
}


@dataclass(frozen=True, slots=True)
class StatementState:
    merchant_id: uuid.UUID
    month: str
    status: SettlementStatus
    figures: StatementFigures | None = None  # frozen at confirmation; None while open
    confirmed_at: datetime | None = None
    confirmed_by: uuid.UUID | None = None
    paid_at: datetime | None = None
    paid_on: date | None = None
    paid_by: uuid.UUID | None = None
    payment_ref: str | None = None


def _state(r: Row[Any]) -> StatementState:
    figures = r.figures
    return StatementState(
        merchant_id=r.merchant_id,
        month=r.month,
        status=SettlementStatus(r.status),
        figures=StatementFigures.from_dict(figures) if figures else None,
        confirmed_at=r.confirmed_at,
        confirmed_by=r.confirmed_by,
        paid_at=r.paid_at,
        paid_on=r.paid_on,
        paid_by=r.paid_by,
        payment_ref=r.payment_ref,
    )


async def statement_states(
    db: Db, *, month: str, merchant_ids: list[uuid.UUID] | None = None
) -> dict[uuid.UUID, StatementState]:
    """The stored statements of ``month`` (a merchant without one is open)."""
    stmt = select(_S).where(_S.c.month == month)
    if merchant_ids is not None:
        stmt = stmt.where(_S.c.merchant_id.in_(merchant_ids))
    async with read_connection(db) as conn:
        return {r.merchant_id: _state(r) for r in await conn.execute(stmt)}


async def statement_state(db: Db, *, merchant_id: uuid.UUID, month: str) -> StatementState:
    found = await statement_states(db, month=month, merchant_ids=[merchant_id])
    return found.get(merchant_id) or StatementState(merchant_id, month, SettlementStatus.open)


def _status_conflict(status: SettlementStatus, wanted: SettlementStatus) -> Conflict:
    return Conflict(
        "settlement_status_conflict",
        f"该结算单当前状态为“{_STATUS_ZH[status]}”，不能执行该操作",
        f"the statement is {status.value}, it cannot become {wanted.value}",
        status_now=status.value,
    )


async def confirm_statement(
    db: Db,
    *,
    merchant_id: uuid.UUID,
    month: str,
    time_zone: str,
    by: uuid.UUID | None,
    at: datetime | None = None,
) -> StatementState:
    """Freeze ``month``'s figures for the merchant. Only an ended month; only once."""
    at = as_utc(at)
    _since, until = month_bounds(month, time_zone)
    if until > at:
        raise Conflict(
            "settlement_month_not_ended",
            "该月尚未结束，不能确认结算单",
            "the month has not ended yet",
            month=month,
        )
    async with write_transaction(db) as conn:
        # Locked first: a reversal of this month waits, or is seen below once committed.
        status = await claim(conn, merchant_id, month)
        if status != SettlementStatus.open:
            raise _status_conflict(status, SettlementStatus.confirmed)
        live = await month_figures(
            conn, month=month, time_zone=time_zone, now=at, merchant_ids=[merchant_id]
        )
        figures = live.get(merchant_id) or StatementFigures()
        await conn.execute(
            update(_S)
            .where(_S.c.merchant_id == merchant_id, _S.c.month == month)
            .values(
                status=SettlementStatus.confirmed,
                figures=figures.as_dict(),
                confirmed_at=at,
                confirmed_by=by,
            )
        )
    return await statement_state(db, merchant_id=merchant_id, month=month)


async def mark_paid(
    db: Db,
    *,
    merchant_id: uuid.UUID,
    month: str,
    payment_ref: str,
    paid_on: date,
    by: uuid.UUID | None,
    at: datetime | None = None,
) -> StatementState:
    """Record the transfer of a confirmed statement: its reference and date."""
    at = as_utc(at)
    ref = (payment_ref or "").strip()
    if not 1 <= len(ref) <= 64 or not ref.isprintable():
        raise ValidationError.field(
            "payment_ref", "付款凭证号应为 1–64 个字符", "must be 1–64 printable characters"
        )
    async with write_transaction(db) as conn:
        status = await claim(conn, merchant_id, month)
        if status != SettlementStatus.confirmed:
            raise _status_conflict(status, SettlementStatus.paid)
        await conn.execute(
            update(_S)
            .where(_S.c.merchant_id == merchant_id, _S.c.month == month)
            .values(
                status=SettlementStatus.paid,
                paid_at=at,
                paid_on=paid_on,
                paid_by=by,
                payment_ref=ref,
            )
        )
    return await statement_state(db, merchant_id=merchant_id, month=month)
