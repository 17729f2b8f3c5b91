"""A month's statement figures per merchant and programme, from the ledger, and per voucher
campaign (``kind`` voucher lines: what the federation owes for the vouchers used there).

A redemption counts in the month it happened. Its reversal nets it out of the month the
reversal was booked into (``benefit_reversal.booked_month``; NULL is the redemption's own
month): in its own month it is simply not counted; a reversal of a frozen month booked into a
later one is a negative line there (``carried_reversals``), and the frozen month keeps it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, case, func, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from benefits.engine.months import month_bounds
from benefits.engine.txn import Db, read_connection
from benefits.models import Program, Redemption, Reversal
from benefits.vouchers.use_lines import VoucherLine, month_voucher_lines

_R = cast(Table, Redemption.__table__)
_RV = cast(Table, Reversal.__table__)
_P = cast(Table, Program.__table__)
_MONEY = ("gross_fen", "discount_fen", "payable_fen", "subsidy_fen", "units")


@dataclass
class StatementLine:
    """One programme's figures (or the totals, ``program_id`` None). Amounts in fen, net."""

    program_id: uuid.UUID | None
    program_code: str
    redemptions: int = 0  # ledger lines of the month, reversed ones included
    reversed: int = 0  # of them, reversed and netted out in this month
    carried_reversals: int = 0  # reversals of earlier, frozen months booked into this one
    count: int = 0  # redemptions − reversed − carried_reversals
    gross_fen: int = 0
    discount_fen: int = 0
    payable_fen: int = 0
    subsidy_fen: int = 0  # what the federation owes the merchant
    units: int = 0
    carried_subsidy_fen: int = 0  # subsidy taken back by the carried reversals (included above)
    # "programme", or "voucher": a voucher campaign's uses (``program_id``/``program_code``
    # then name the campaign; ``benefits.vouchers.use_lines.month_voucher_lines``).
    kind: str = "programme"

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["program_id"] = str(self.program_id) if self.program_id else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StatementLine:
        known = {f.name for f in fields(cls)}
        line = cls(**{k: v for k, v in d.items() if k in known})
        line.program_id = uuid.UUID(d["program_id"]) if d.get("program_id") else None
        return line


@dataclass
class StatementFigures:
    lines: list[StatementLine] = field(default_factory=list)
    totals: StatementLine = field(default_factory=lambda: StatementLine(None, ""))

    def as_dict(self) -> dict[str, Any]:
        return {"lines": [g.as_dict() for g in self.lines], "totals": self.totals.as_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StatementFigures:
        return cls(
            [StatementLine.from_dict(g) for g in d.get("lines", [])],
            StatementLine.from_dict(d.get("totals") or {"program_code": ""}),
        )


def _reversed_here(month: str) -> ColumnElement[bool]:
    return and_(
        _RV.c.id.is_not(None), or_(_RV.c.booked_month.is_(None), _RV.c.booked_month == month)
    )


def _sums(counted: ColumnElement[bool]) -> list[Any]:
    cols = (_R.c.amount_fen, _R.c.discount_fen, _R.c.payable_fen, _R.c.subsidy_fen, _R.c.units)
    return [func.coalesce(func.sum(case((counted, c), else_=0)), 0) for c in cols]


async def month_figures(
    db: Db,
    *,
    month: str,
    time_zone: str,
    now: datetime,
    merchant_ids: Iterable[uuid.UUID] | None = None,
) -> dict[uuid.UUID, StatementFigures]:
    """Live figures of ``month`` for every merchant with ledger activity in it (or only
    ``merchant_ids``). Rows after ``now`` (the month still running) are left for later."""
    since, until = month_bounds(month, time_zone)
    until = min(until, now)
    here = _reversed_here(month)
    own = (
        select(_R.c.merchant_id, _R.c.program_id, _P.c.code, func.count(), *_sums(~here))
        .add_columns(func.coalesce(func.sum(case((here, 1), else_=0)), 0))
        .join(_P, _P.c.id == _R.c.program_id)
        .outerjoin(_RV, _RV.c.redemption_id == _R.c.id)
        .where(_R.c.occurred_at >= since, _R.c.occurred_at < until)
        .group_by(_R.c.merchant_id, _R.c.program_id, _P.c.code)
    )
    carried = (
        select(_R.c.merchant_id, _R.c.program_id, _P.c.code, func.count(), *_sums(true()))
        .select_from(_RV.join(_R, _R.c.id == _RV.c.redemption_id))
        .join(_P, _P.c.id == _R.c.program_id)
        .where(
            _RV.c.booked_month == month, or_(_R.c.occurred_at < since, _R.c.occurred_at >= until)
        )
        .group_by(_R.c.merchant_id, _R.c.program_id, _P.c.code)
    )
    if merchant_ids is not None:
        ids = list(merchant_ids)
        own = own.where(_R.c.merchant_id.in_(ids))
        carried = carried.where(_R.c.merchant_id.in_(ids))
    lines: dict[tuple[uuid.UUID, uuid.UUID], StatementLine] = {}
    async with read_connection(db) as conn:
        for mid, pid, code, n, *sums, rev in await conn.execute(own):
            g = lines[(mid, pid)] = StatementLine(pid, code, redemptions=int(n))
            g.reversed = int(rev)
            g.count = g.redemptions - g.reversed
            for name, v in zip(_MONEY, sums, strict=True):
                setattr(g, name, int(v))
        for mid, pid, code, n, *sums in await conn.execute(carried):
            g = lines.setdefault((mid, pid), StatementLine(pid, code))
            g.carried_reversals = int(n)
            g.count -= int(n)
            g.carried_subsidy_fen = int(sums[3])
            for name, v in zip(_MONEY, sums, strict=True):
                setattr(g, name, getattr(g, name) - int(v))
    out: dict[uuid.UUID, StatementFigures] = {}
    for (mid, _), g in sorted(lines.items(), key=lambda kv: (kv[1].program_code, str(kv[0]))):
        out.setdefault(mid, StatementFigures()).lines.append(g)
    vouchers = await month_voucher_lines(
        db,
        month=month,
        time_zone=time_zone,
        now=now,
        merchant_ids=None if merchant_ids is None else ids,
    )
    for mid, vlines in vouchers.items():
        out.setdefault(mid, StatementFigures()).lines.extend(voucher_line(v) for v in vlines)
    for figures in out.values():
        add_totals(figures)
    return out


def voucher_line(v: VoucherLine) -> StatementLine:
    """A voucher campaign's month at a merchant as a statement line (``kind`` voucher)."""
    return StatementLine(
        v.campaign_id,
        v.campaign_code,
        redemptions=v.uses,
        reversed=v.reversed,
        carried_reversals=v.carried_reversals,
        count=v.count,
        gross_fen=v.gross_fen,
        discount_fen=v.discount_fen,
        payable_fen=v.payable_fen,
        subsidy_fen=v.subsidy_fen,
        kind="voucher",
    )


def add_totals(figures: StatementFigures) -> StatementFigures:
    totals = StatementLine(None, "")
    for g in figures.lines:
        for f in fields(StatementLine):
            if f.name not in ("program_id", "program_code", "kind"):
                setattr(totals, f.name, getattr(totals, f.name) + getattr(g, f.name))
    figures.totals = totals
    return figures


@dataclass(frozen=True, slots=True)
class CarriedReversal:
    """A redemption line of an earlier month whose reversal was booked into this one."""

    line_id: uuid.UUID
    redemption_id: uuid.UUID
    program_id: uuid.UUID
    program_code: str
    store_id: uuid.UUID | None
    occurred_at: datetime
    reversed_at: datetime
    amount_fen: int
    discount_fen: int
    payable_fen: int
    subsidy_fen: int
    units: int


async def reversal_bookings(
    db: Db, *, merchant_id: uuid.UUID, month: str, time_zone: str
) -> tuple[set[uuid.UUID], list[CarriedReversal]]:
    """For one merchant's ``month``: the ids of its redemption lines whose reversal was booked
    into another month (they still count here), and the reversals of other months booked here."""
    since, until = month_bounds(month, time_zone)
    away = (
        select(_R.c.id)
        .join(_RV, _RV.c.redemption_id == _R.c.id)
        .where(
            _R.c.merchant_id == merchant_id,
            _R.c.occurred_at >= since,
            _R.c.occurred_at < until,
            _RV.c.booked_month.is_not(None),
            _RV.c.booked_month != month,
        )
    )
    here = (
        select(_R, _P.c.code.label("program_code"), _RV.c.reversed_at.label("reversed_at"))
        .select_from(_RV.join(_R, _R.c.id == _RV.c.redemption_id))
        .join(_P, _P.c.id == _R.c.program_id)
        .where(
            _RV.c.merchant_id == merchant_id,
            _RV.c.booked_month == month,
            or_(_R.c.occurred_at < since, _R.c.occurred_at >= until),
        )
        .order_by(_RV.c.reversed_at, _R.c.id)
    )
    async with read_connection(db) as conn:
        booked_away = set((await conn.execute(away)).scalars())
        carried = [
            CarriedReversal(
                r.id,
                r.checkout_id,
                r.program_id,
                r.program_code,
                r.store_id,
                r.occurred_at,
                r.reversed_at,
                r.amount_fen,
                r.discount_fen,
                r.payable_fen,
                r.subsidy_fen,
                r.units,
            )
            for r in await conn.execute(here)
        ]
    return booked_away, carried
