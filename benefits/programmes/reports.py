"""Redemption and budget figures for staff reports, from the engine's own tables only.

"Redemptions by members of a subtree" is a prefix filter on the ledger's ``member_org_path``
(the member's org when the redemption was made, so a later transfer does not move history).
Every figure is net of reversals: a reversed ledger line counts in no total, only in
``reversed``. A count is of ledger lines (one programme applied in one checkout); the
summary also gives distinct checkouts. Days are civil days in the report's time zone.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select

from benefits.engine.txn import Db, read_connection
from benefits.models import Program, Redemption, Reversal
from benefits.programmes.usage import program_usage
from benefits.rules.periods import zone

_P = Program.__table__
_R = Redemption.__table__
_RV = Reversal.__table__


@dataclass(frozen=True, slots=True)
class DateRange:
    """Local days ``start``..``end`` (inclusive) in ``tz``, and the same as UTC ``[since, until)``."""

    start: date
    end: date
    tz: ZoneInfo
    since: datetime
    until: datetime


def date_range(start: date, end: date, time_zone: str) -> DateRange:
    tz = zone(time_zone)

    def midnight(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)

    return DateRange(start, end, tz, midnight(start), midnight(end + timedelta(days=1)))


@dataclass(slots=True)
class Tally:
    """Net totals of a group of ledger lines."""

    lines: int = 0
    units: int = 0
    amount_fen: int = 0
    discount_fen: int = 0
    subsidy_fen: int = 0

    def add(self, units: int, amount: int, discount: int, subsidy: int) -> None:
        self.lines += 1
        self.units += units
        self.amount_fen += amount
        self.discount_fen += discount
        self.subsidy_fen += subsidy


@dataclass(frozen=True, slots=True)
class ProgramTally:
    program_id: uuid.UUID
    code: str
    name: str
    tally: Tally


@dataclass(frozen=True, slots=True)
class RedemptionFigures:
    total: Tally
    checkouts: int
    reversed_lines: int
    by_program: list[ProgramTally]
    by_merchant: dict[uuid.UUID, Tally]  # most discount first
    by_day: dict[date, Tally] = field(default_factory=dict)  # every day of the range


def _in_scope(prefix: str, rng: DateRange) -> list[ColumnElement[bool]]:
    return [
        _R.c.member_org_path.startswith(prefix, autoescape=True),
        _R.c.occurred_at >= rng.since,
        _R.c.occurred_at < rng.until,
    ]


async def redemption_figures(
    db: Db, *, member_org_prefix: str, rng: DateRange
) -> RedemptionFigures:
    """Redemptions by members under ``member_org_prefix`` made within ``rng``.

    One pass over the live lines of the range (streamed): the day of a line depends on the
    zone, which SQLite and PostgreSQL would each compute differently in SQL.
    """
    conds = _in_scope(member_org_prefix, rng)
    joined = _R.outerjoin(_RV, _RV.c.redemption_id == _R.c.id)
    lines = (
        select(
            _R.c.checkout_id,
            _R.c.program_id,
            _R.c.merchant_id,
            _R.c.occurred_at,
            _R.c.units,
            _R.c.amount_fen,
            _R.c.discount_fen,
            _R.c.subsidy_fen,
        )
        .select_from(joined)
        .where(_RV.c.id.is_(None), *conds)
    )
    reversed_q = select(func.count()).select_from(joined).where(_RV.c.id.is_not(None), *conds)
    total = Tally()
    checkouts: set[uuid.UUID] = set()
    programs: dict[uuid.UUID, Tally] = defaultdict(Tally)
    merchants: dict[uuid.UUID, Tally] = defaultdict(Tally)
    days: dict[date, Tally] = {}
    day = rng.start
    while day <= rng.end:
        days[day] = Tally()
        day += timedelta(days=1)
    async with read_connection(db) as conn:
        reversed_lines = int((await conn.execute(reversed_q)).scalar_one())
        result = await conn.stream(lines)
        async for r in result:
            figures = (int(r.units), int(r.amount_fen), int(r.discount_fen), int(r.subsidy_fen))
            total.add(*figures)
            checkouts.add(r.checkout_id)
            programs[r.program_id].add(*figures)
            merchants[r.merchant_id].add(*figures)
            local = r.occurred_at.astimezone(rng.tz).date()
            days.setdefault(local, Tally()).add(*figures)
        names = {}
        if programs:
            rows = await conn.execute(
                select(_P.c.id, _P.c.code, _P.c.name).where(_P.c.id.in_(list(programs)))
            )
            names = {r.id: (r.code, r.name) for r in rows}
    by_program = sorted(
        (ProgramTally(pid, *names.get(pid, ("?", "?")), t) for pid, t in programs.items()),
        key=lambda p: p.code,
    )
    by_merchant = dict(
        sorted(merchants.items(), key=lambda kv: (-kv[1].discount_fen, -kv[1].lines, kv[0]))
    )
    return RedemptionFigures(
        total=total,
        checkouts=len(checkouts),
        reversed_lines=reversed_lines,
        by_program=by_program,
        by_merchant=by_merchant,
        by_day=dict(sorted(days.items())),
    )


@dataclass(frozen=True, slots=True)
class BudgetLine:
    program_id: uuid.UUID
    code: str
    name: str
    status: str
    owner_org_id: uuid.UUID
    budget_limit_fen: int | None  # None: the programme has no budget
    budget_spent_fen: int | None  # from the budget counter of the period containing ``at``
    budget_period: str | None  # the budget counter's period key ("L" for lifetime)
    range_lines: int  # net ledger lines of the range (all members)
    range_value_fen: int  # what amount limits counted, net, in the range
    range_discount_fen: int
    range_subsidy_fen: int

    @property
    def budget_remaining_fen(self) -> int | None:
        if self.budget_limit_fen is None or self.budget_spent_fen is None:
            return None
        return max(0, self.budget_limit_fen - self.budget_spent_fen)


async def budget_figures(
    db: Db, *, owner_org_prefix: str, rng: DateRange, at: datetime | None = None
) -> list[BudgetLine]:
    """Budget used vs budget of each programme owned under ``owner_org_prefix``.

    The budget side comes from the counters (:func:`benefits.programmes.usage.program_usage`) for the
    budget period containing ``at`` (default: the end of the range, or now if earlier); the
    range side sums the programme's live ledger lines in ``rng``.
    """
    now = datetime.now(UTC)
    at = at or min(now, rng.until - timedelta(microseconds=1))
    live = _RV.c.id.is_(None)
    async with read_connection(db) as conn:
        programs = (
            await conn.execute(
                select(_P.c.id, _P.c.code, _P.c.name, _P.c.status, _P.c.owner_org_id)
                .where(_P.c.owner_org_path.startswith(owner_org_prefix, autoescape=True))
                .order_by(_P.c.code)
            )
        ).all()
        sums = {
            r[0]: r[1:]
            for r in await conn.execute(
                select(
                    _R.c.program_id,
                    func.count(),
                    func.coalesce(func.sum(_R.c.value_fen), 0),
                    func.coalesce(func.sum(_R.c.discount_fen), 0),
                    func.coalesce(func.sum(_R.c.subsidy_fen), 0),
                )
                .select_from(_R.outerjoin(_RV, _RV.c.redemption_id == _R.c.id))
                .where(
                    live,
                    _R.c.program_id.in_([p.id for p in programs]),
                    _R.c.occurred_at >= rng.since,
                    _R.c.occurred_at < rng.until,
                )
                .group_by(_R.c.program_id)
            )
        }
        out: list[BudgetLine] = []
        for p in programs:
            usage = await program_usage(conn, program_id=p.id, at=at)
            budget = [u for u in usage.policies if u.is_budget]
            tightest = min(budget, key=lambda u: u.limit - u.used_total) if budget else None
            n, value, discount, subsidy = sums.get(p.id, (0, 0, 0, 0))
            out.append(
                BudgetLine(
                    program_id=p.id,
                    code=p.code,
                    name=p.name,
                    status=str(p.status),
                    owner_org_id=p.owner_org_id,
                    budget_limit_fen=usage.budget_limit_fen,
                    budget_spent_fen=usage.budget_spent_fen,
                    budget_period=tightest.period_key if tightest else None,
                    range_lines=int(n),
                    range_value_fen=int(value),
                    range_discount_fen=int(discount),
                    range_subsidy_fen=int(subsidy),
                )
            )
    return out


async def budget_spent_by_day(
    db: Db, *, program_ids: list[uuid.UUID], rng: DateRange
) -> dict[date, int]:
    """What the budgets counted (``value_fen``) each local day of ``rng``, net of reversals."""
    per_day: dict[date, int] = defaultdict(int)
    if not program_ids:
        return per_day
    async with read_connection(db) as conn:
        rows = await conn.execute(
            select(_R.c.occurred_at, _R.c.value_fen)
            .select_from(_R.outerjoin(_RV, _RV.c.redemption_id == _R.c.id))
            .where(
                _RV.c.id.is_(None),
                _R.c.program_id.in_(program_ids),
                _R.c.occurred_at >= rng.since,
                _R.c.occurred_at < rng.until,
            )
        )
        for at, value in rows:
            per_day[at.astimezone(rng.tz).date()] += int(value)
    return per_day
