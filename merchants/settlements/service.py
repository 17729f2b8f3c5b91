"""Statements of the merchants in a staff member's subtrees, and the actions on them.

Scoped like onboarding: reading needs ``merchants.read``, confirming and marking paid
``merchants.write``, on the merchant's owner org; any other merchant is 404. Each action (and
each export) writes an audit row in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.public import (
    SettlementStatus,
    StatementFigures,
    StatementState,
    confirm_statement,
    mark_paid,
    month_figures,
    statement_state,
    statement_states,
)
from cardsvc.kernel.audit import record
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from merchants.models import Merchant
from merchants.onboarding.service import get_merchant, require
from merchants.terminal.settlement import month_bounds


@dataclass(frozen=True, slots=True)
class MerchantStatement:
    merchant_id: uuid.UUID
    merchant_name: str
    month: str
    state: StatementState
    figures: StatementFigures  # frozen once confirmed, else live

    @property
    def status(self) -> SettlementStatus:
        return self.state.status


def _of(
    m: Merchant, month: str, state: StatementState, live: StatementFigures | None
) -> MerchantStatement:
    figures = state.figures if state.figures is not None else (live or StatementFigures())
    return MerchantStatement(m.id, m.display_name, month, state, figures)


async def list_statements(
    session: AsyncSession, viewer: Principal, *, month: str, time_zone: str, now: datetime
) -> list[MerchantStatement]:
    """The month's statement of every merchant in the viewer's subtrees that had activity in
    it or has a confirmed or paid statement, by merchant name."""
    require(viewer, Perm.merchants_read)
    month_bounds(month, time_zone)  # invalid_month before anything else
    merchants = list(
        await session.scalars(
            select(Merchant)
            .where(viewer.scope_filter(Merchant.org_path, Perm.merchants_read))
            .order_by(Merchant.display_name, Merchant.id)
        )
    )
    live = await month_figures(session, month=month, time_zone=time_zone, now=now)
    states = await statement_states(session, month=month)
    out = []
    for m in merchants:
        state = states.get(m.id) or StatementState(m.id, month, SettlementStatus.open)
        if m.id in live or state.status != SettlementStatus.open:
            out.append(_of(m, month, state, live.get(m.id)))
    return out


async def get_statement(
    session: AsyncSession,
    viewer: Principal,
    merchant_id: uuid.UUID,
    *,
    month: str,
    time_zone: str,
    now: datetime,
) -> MerchantStatement:
    month_bounds(month, time_zone)
    m = await get_merchant(session, viewer, merchant_id)
    return await _statement(session, m, month, time_zone, now)


async def _statement(
    session: AsyncSession, m: Merchant, month: str, time_zone: str, now: datetime
) -> MerchantStatement:
    state = await statement_state(session, merchant_id=m.id, month=month)
    live = None
    if state.figures is None:
        found = await month_figures(
            session, month=month, time_zone=time_zone, now=now, merchant_ids=[m.id]
        )
        live = found.get(m.id)
    return _of(m, month, state, live)


def _audit(
    session: AsyncSession, actor: Principal, action: str, s: MerchantStatement, m: Merchant
) -> None:
    record(
        session,
        actor,
        action,
        target_type="merchant",
        target_id=m.id,
        org_path=m.org_path,
        summary={
            "month": s.month,
            "status": s.status.value,
            "count": s.figures.totals.count,
            "subsidy_fen": s.figures.totals.subsidy_fen,
            "payment_ref": s.state.payment_ref,
            "paid_on": s.state.paid_on.isoformat() if s.state.paid_on else None,
        },
    )


async def confirm(
    session: AsyncSession,
    actor: Principal,
    merchant_id: uuid.UUID,
    *,
    month: str,
    time_zone: str,
    now: datetime,
) -> MerchantStatement:
    """Freeze the merchant's figures of an ended month (409 when not open or not ended)."""
    month_bounds(month, time_zone)
    m = await get_merchant(session, actor, merchant_id, Perm.merchants_write)
    await confirm_statement(
        session, merchant_id=m.id, month=month, time_zone=time_zone, by=actor.id, at=now
    )
    s = await _statement(session, m, month, time_zone, now)
    _audit(session, actor, "settlement.confirm", s, m)
    return s


async def pay(
    session: AsyncSession,
    actor: Principal,
    merchant_id: uuid.UUID,
    *,
    month: str,
    time_zone: str,
    payment_ref: str,
    paid_on: date | None,
    now: datetime,
) -> MerchantStatement:
    """Record the transfer of a confirmed statement (409 when not confirmed); paid today in
    the federation's zone unless ``paid_on`` says otherwise."""
    month_bounds(month, time_zone)
    m = await get_merchant(session, actor, merchant_id, Perm.merchants_write)
    await mark_paid(
        session,
        merchant_id=m.id,
        month=month,
        payment_ref=payment_ref,
        paid_on=paid_on or now.astimezone(ZoneInfo(time_zone)).date(),
        by=actor.id,
        at=now,
    )
    s = await _statement(session, m, month, time_zone, now)
    _audit(session, actor, "settlement.pay", s, m)
    return s


def audit_export(
    session: AsyncSession, actor: Principal, month: str, statements: list[MerchantStatement]
) -> None:
    record(
        session,
        actor,
        "settlement.export",
        target_type="settlement_month",
        target_id=month,
        org_path=None,
        summary={
            "month": month,
            "merchants": len(statements),
            "subsidy_fen": sum(s.figures.totals.subsidy_fen for s in statements),
        },
    )
