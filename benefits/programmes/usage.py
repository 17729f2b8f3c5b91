"""Usage derived from counters and the ledger: per-programme usage, ledger lists, settlement.

Reversed redemptions are excluded from every total: the ledger row stays, the reversal row
beside it cancels it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from benefits.engine.results import PolicyUsage, ProgramUsage, RedemptionRecord, SettlementLine
from benefits.engine.txn import Db, as_utc, read_connection
from benefits.engine.versions import CompiledRules, compile_rules, load_versions
from benefits.errors import NotFound
from benefits.models import Counter, MemberCounter, Program, Redemption, Reversal
from benefits.rules.periods import period_key
from benefits.rules.programme import LimitPolicy, LimitScope

_P = Program.__table__
_C = Counter.__table__
_MC = MemberCounter.__table__
# A member's own counters have their own table (benefits.engine.counter_sql).
_MEMBER_SCOPES = (LimitScope.member, LimitScope.member_merchant)
_R = Redemption.__table__
_RV = Reversal.__table__


async def program_usage(
    db: Db, *, program_id: uuid.UUID, at: datetime | None = None
) -> ProgramUsage:
    """Used / limit of every policy this period (per the current rules) and ledger totals."""
    at = as_utc(at)
    async with read_connection(db) as conn:
        row, compiled = await _program_rules(conn, program_id)
        policies: list[PolicyUsage] = []
        budget: tuple[int, int] | None = None
        for p in compiled.rules.limits:
            usage = await _policy_usage(conn, program_id, p, period_key(p.period, at, compiled.tz))
            policies.append(usage)
            total = usage.used_total
            if p.is_budget and (budget is None or p.limit - total < budget[0] - budget[1]):
                budget = (p.limit, total)
        totals = await _ledger_totals(conn, program_id)
    return ProgramUsage(
        program_id=program_id,
        status=str(row.status),
        version_number=row.version_number,
        at=at,
        policies=tuple(policies),
        budget_limit_fen=budget[0] if budget else None,
        budget_spent_fen=budget[1] if budget else None,
        redemptions=int(totals[0]),
        reversed=int(totals[1]),
        discount_fen=int(totals[2]),
        subsidy_fen=int(totals[3]),
        units=int(totals[4]),
    )


async def _program_rules(conn: AsyncConnection, program_id: uuid.UUID) -> tuple[Any, CompiledRules]:
    """The programme row and its current rules (a draft's own, never published)."""
    row = (await conn.execute(select(_P).where(_P.c.id == program_id))).first()
    if row is None:
        raise NotFound(
            message_zh="未找到该普惠项目",
            message_en="Programme not found",
            program_id=str(program_id),
        )
    compiled: CompiledRules
    if row.current_version_id is not None:
        compiled = (await load_versions(conn, [row.current_version_id]))[row.current_version_id]
    else:
        compiled = compile_rules(row.rules)
    return row, compiled


async def _policy_usage(
    conn: AsyncConnection, program_id: uuid.UUID, p: LimitPolicy, key: str
) -> PolicyUsage:
    """One policy's counters in period ``key``: how many, their total and their largest."""
    c = _MC if p.scope in _MEMBER_SCOPES else _C
    n, total, most = (
        await conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(c.c.used), 0),
                func.coalesce(func.max(c.c.used), 0),
            ).where(
                c.c.program_id == program_id,
                c.c.policy_key == p.key,
                c.c.metric == p.metric.value,
                c.c.period_key == key,
            )
        )
    ).one()
    remaining = None
    if p.scope.value == "program":
        # One counter, whether or not it is split into stripes (benefits.engine.counters).
        remaining, n, most = max(0, p.limit - int(total)), min(int(n), 1), total
    return PolicyUsage(
        policy=p.key,
        metric=p.metric.value,
        scope=p.scope.value,
        period=p.period.value,
        on_exceed=p.on_exceed.value,
        is_budget=p.is_budget,
        limit=p.limit,
        period_key=key,
        counters=int(n),
        used_total=int(total),
        used_max=int(most),
        remaining=remaining,
    )


async def _ledger_totals(conn: AsyncConnection, program_id: uuid.UUID) -> Any:
    """Redemptions, reversed ones, and the live ones' discount, subsidy and units."""
    live = _RV.c.id.is_(None)
    return (
        await conn.execute(
            select(
                func.count().filter(live),
                func.count().filter(_RV.c.id.is_not(None)),
                func.coalesce(func.sum(_R.c.discount_fen).filter(live), 0),
                func.coalesce(func.sum(_R.c.subsidy_fen).filter(live), 0),
                func.coalesce(func.sum(_R.c.units).filter(live), 0),
            )
            .select_from(_R.outerjoin(_RV, _RV.c.redemption_id == _R.c.id))
            .where(_R.c.program_id == program_id)
        )
    ).one()


def _filters(
    merchant_id: uuid.UUID | None,
    member_id: uuid.UUID | None,
    program_id: uuid.UUID | None,
    since: datetime | None,
    until: datetime | None,
    bill_ref: str | None = None,
) -> list[Any]:
    conds: list[Any] = []
    if bill_ref is not None:
        conds.append(_R.c.bill_ref == bill_ref)
    if merchant_id is not None:
        conds.append(_R.c.merchant_id == merchant_id)
    if member_id is not None:
        conds.append(_R.c.member_id == member_id)
    if program_id is not None:
        conds.append(_R.c.program_id == program_id)
    if since is not None:
        conds.append(_R.c.occurred_at >= as_utc(since))
    if until is not None:
        conds.append(_R.c.occurred_at < as_utc(until))
    return conds


async def list_redemptions(
    db: Db,
    *,
    merchant_id: uuid.UUID | None = None,
    member_id: uuid.UUID | None = None,
    program_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
    bill_ref: str | None = None,
) -> list[RedemptionRecord]:
    """Ledger rows, newest first, with their reversal time if voided. ``[since, until)``;
    ``bill_ref``: only those of that bill (with ``merchant_id``, one merchant's bill)."""
    stmt = (
        select(_R, _P.c.code.label("program_code"), _RV.c.reversed_at)
        .join(_P, _P.c.id == _R.c.program_id)
        .outerjoin(_RV, _RV.c.redemption_id == _R.c.id)
        .where(*_filters(merchant_id, member_id, program_id, since, until, bill_ref))
        .order_by(_R.c.occurred_at.desc(), _R.c.id.desc())
        .limit(max(1, min(limit, 1000)))
        .offset(max(0, offset))
    )
    async with read_connection(db) as conn:
        return [
            RedemptionRecord(
                id=r.id,
                redemption_id=r.checkout_id,
                line=r.line,
                merchant_id=r.merchant_id,
                store_id=r.store_id,
                terminal_id=r.terminal_id,
                member_id=r.member_id,
                card_id=r.card_id,
                program_id=r.program_id,
                program_code=r.program_code,
                version_number=r.version_number,
                amount_fen=r.amount_fen,
                discount_fen=r.discount_fen,
                payable_fen=r.payable_fen,
                units=r.units,
                subsidy_fen=r.subsidy_fen,
                occurred_at=r.occurred_at,
                reversed_at=r.reversed_at,
                bill_ref=r.bill_ref,
            )
            for r in await conn.execute(stmt)
        ]


async def merchant_settlement(
    db: Db, *, merchant_id: uuid.UUID, since: datetime, until: datetime
) -> list[SettlementLine]:
    """Per programme: redemptions not reversed at ``merchant_id`` in ``[since, until)``."""
    stmt = (
        select(
            _R.c.program_id,
            _P.c.code,
            func.count(),
            func.coalesce(func.sum(_R.c.units), 0),
            func.coalesce(func.sum(_R.c.discount_fen), 0),
            func.coalesce(func.sum(_R.c.subsidy_fen), 0),
        )
        .join(_P, _P.c.id == _R.c.program_id)
        .outerjoin(_RV, _RV.c.redemption_id == _R.c.id)
        .where(_RV.c.id.is_(None), *_filters(merchant_id, None, None, since, until))
        .group_by(_R.c.program_id, _P.c.code)
        .order_by(_P.c.code)
    )
    async with read_connection(db) as conn:
        return [
            SettlementLine(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5]))
            for r in await conn.execute(stmt)
        ]
