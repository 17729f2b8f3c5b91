"""A merchant's monthly settlement: per programme and store, from the ledger.

The month is a calendar month in the federation's time zone (``settings.time_zone``).
A redemption counts in the month it happened; a reversed one is netted out (it stays visible
as ``reversed`` with its amounts, and adds nothing to what the federation owes). With
``detail`` the settlement also lists every ledger line of the month with the merchant's bill
reference, so that the merchant can match them to its own orders.

Once the federation confirmed or paid a month its figures are frozen: a later reversal of one
of its redemptions is booked into the next open month (``carried``), where it is a negative
line, and the frozen month keeps counting the redemption. ``statement`` says where the month
stands (open / confirmed / paid, with the payment reference).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.public import (
    CarriedReversal,
    RedemptionRecord,
    StatementState,
    VoucherLine,
    list_redemptions,
    month_voucher_lines,
    reversal_bookings,
    statement_state,
)
from cardsvc.kernel.cells import safe_cell
from merchants.models import Store
from merchants.terminal.errors import InvalidMonth

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_PAGE = 1000


def month_bounds(month: str, time_zone: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of ``YYYY-MM`` in ``time_zone``, as UTC instants."""
    m = _MONTH.match(month or "")
    if m is None or not 2000 <= int(m.group(1)) <= 2999:
        raise InvalidMonth(month=month)
    year, mon = int(m.group(1)), int(m.group(2))
    tz = ZoneInfo(time_zone)
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass
class SettlementRow:
    program_id: uuid.UUID
    program_code: str
    store_id: uuid.UUID | None
    store_name: str = ""
    redemptions: int = 0  # ledger rows in the month, reversed ones included
    reversed: int = 0  # netted out here (also reversals of frozen months booked here)
    count: int = 0  # redemptions − reversed
    gross_fen: int = 0  # bill amounts of the counted ones
    discount_fen: int = 0
    payable_fen: int = 0
    subsidy_fen: int = 0  # owed by the federation
    units: int = 0
    reversed_gross_fen: int = 0
    reversed_discount_fen: int = 0
    reversed_subsidy_fen: int = 0


@dataclass
class Settlement:
    merchant_id: uuid.UUID
    month: str
    time_zone: str
    since: datetime
    until: datetime
    rows: list[SettlementRow] = field(default_factory=list)
    totals: SettlementRow | None = None
    items: list[RedemptionRecord] | None = None  # every ledger line, when asked for (detail)
    statement: StatementState | None = None
    carried: list[CarriedReversal] = field(default_factory=list)
    # Voucher campaigns' uses here (消费券), per campaign: not in ``rows``/``totals``.
    vouchers: list[VoucherLine] = field(default_factory=list)

    @property
    def voucher_subsidy_fen(self) -> int:
        return sum(v.subsidy_fen for v in self.vouchers)


_SUMMED = (
    "redemptions",
    "reversed",
    "count",
    "gross_fen",
    "discount_fen",
    "payable_fen",
    "subsidy_fen",
    "units",
    "reversed_gross_fen",
    "reversed_discount_fen",
    "reversed_subsidy_fen",
)


async def monthly_settlement(
    session: AsyncSession,
    *,
    merchant_id: uuid.UUID,
    month: str,
    time_zone: str,
    now: datetime,
    detail: bool = False,
) -> Settlement:
    since, until = month_bounds(month, time_zone)
    items: list[RedemptionRecord] | None = [] if detail else None
    # Rows arriving while we page (this month's) are after ``now``: a stable window.
    upper = min(until, now)
    groups: dict[tuple[uuid.UUID, uuid.UUID | None], SettlementRow] = {}
    booked_away, carried = await reversal_bookings(
        session, merchant_id=merchant_id, month=month, time_zone=time_zone
    )
    offset = 0
    while upper > since:
        page = await list_redemptions(
            session, merchant_id=merchant_id, since=since, until=upper, limit=_PAGE, offset=offset
        )
        if items is not None:
            items.extend(page)
        for r in page:
            g = groups.get((r.program_id, r.store_id))
            if g is None:
                g = groups[(r.program_id, r.store_id)] = SettlementRow(
                    r.program_id, r.program_code, r.store_id
                )
            g.redemptions += 1
            # A reversal booked into a later month (this one was frozen) counts there, not here.
            if r.reversed_at is not None and r.id not in booked_away:
                g.reversed += 1
                g.reversed_gross_fen += r.amount_fen
                g.reversed_discount_fen += r.discount_fen
                g.reversed_subsidy_fen += r.subsidy_fen
                continue
            g.count += 1
            g.gross_fen += r.amount_fen
            g.discount_fen += r.discount_fen
            g.payable_fen += r.payable_fen
            g.subsidy_fen += r.subsidy_fen
            g.units += r.units
        if len(page) < _PAGE:
            break
        offset += _PAGE
    for c in carried:
        _carry(groups, c)
    names = dict(
        (
            await session.execute(
                select(Store.id, Store.name).where(Store.merchant_id == merchant_id)
            )
        )
        .tuples()
        .all()
    )
    rows = sorted(groups.values(), key=lambda g: (g.program_code, str(g.store_id)))
    totals = SettlementRow(uuid.UUID(int=0), "", None, store_name="")
    for g in rows:
        g.store_name = names.get(g.store_id, "") if g.store_id else ""
        for name in _SUMMED:
            setattr(totals, name, getattr(totals, name) + getattr(g, name))
    state = await statement_state(session, merchant_id=merchant_id, month=month)
    s = Settlement(merchant_id, month, time_zone, since, until, rows, totals, items, state, carried)
    found = await month_voucher_lines(
        session, month=month, time_zone=time_zone, now=now, merchant_ids=[merchant_id]
    )
    s.vouchers = found.get(merchant_id, [])
    if items is not None:
        items.sort(key=lambda r: (r.occurred_at, r.redemption_id, r.line))  # oldest first
    return s


def _carry(
    groups: dict[tuple[uuid.UUID, uuid.UUID | None], SettlementRow], c: CarriedReversal
) -> None:
    """A reversal of an earlier, frozen month booked here: it takes its amounts back."""
    g = groups.get((c.program_id, c.store_id))
    if g is None:
        g = groups[(c.program_id, c.store_id)] = SettlementRow(
            c.program_id, c.program_code, c.store_id
        )
    g.reversed += 1
    g.reversed_gross_fen += c.amount_fen
    g.reversed_discount_fen += c.discount_fen
    g.reversed_subsidy_fen += c.subsidy_fen
    g.count -= 1
    g.gross_fen -= c.amount_fen
    g.discount_fen -= c.discount_fen
    g.payable_fen -= c.payable_fen
    g.subsidy_fen -= c.subsidy_fen
    g.units -= c.units


CSV_COLUMNS = (
    "program_id",
    "program_code",
    "store_id",
    "store_name",
    *_SUMMED,
)


def settlement_csv(s: Settlement) -> str:
    """One line per programme and store, then a ``TOTAL`` line, then one ``VOUCHER`` line per
    voucher campaign (its code, no store); amounts in fen."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for g in s.rows:
        w.writerow(
            # Store names and codes are typed by people: never a live formula in a spreadsheet.
            [
                str(g.program_id),
                safe_cell(g.program_code),
                str(g.store_id or ""),
                safe_cell(g.store_name),
            ]
            + [getattr(g, n) for n in _SUMMED]
        )
    if s.totals is not None:
        w.writerow(["TOTAL", "", "", ""] + [getattr(s.totals, n) for n in _SUMMED])
    for v in s.vouchers:
        figures = {
            "redemptions": v.uses,
            "reversed": v.reversed + v.carried_reversals,
            "count": v.count,
            "gross_fen": v.gross_fen,
            "discount_fen": v.discount_fen,
            "payable_fen": v.payable_fen,
            "subsidy_fen": v.subsidy_fen,
        }
        w.writerow(
            ["VOUCHER", safe_cell(v.campaign_code), "", ""] + [figures.get(n, 0) for n in _SUMMED]
        )
    return out.getvalue()


ITEM_CSV_COLUMNS = (
    "occurred_at",
    "bill_ref",
    "redemption_id",
    "line",
    "program_id",
    "program_code",
    "store_id",
    "store_name",
    "terminal_id",
    "amount_fen",
    "discount_fen",
    "payable_fen",
    "subsidy_fen",
    "units",
    "reversed_at",
)


def settlement_items_csv(s: Settlement) -> str:
    """One line per ledger line of the month (oldest first) with its bill reference; reversed
    ones carry ``reversed_at``. Amounts in fen."""
    names = {g.store_id: g.store_name for g in s.rows}
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(ITEM_CSV_COLUMNS)
    for r in s.items or []:
        w.writerow(
            [
                r.occurred_at.isoformat(),
                # Typed at the till: never a live formula in a spreadsheet.
                safe_cell(r.bill_ref or ""),
                str(r.redemption_id),
                r.line,
                str(r.program_id),
                safe_cell(r.program_code),
                str(r.store_id or ""),
                safe_cell(names.get(r.store_id, "")),
                str(r.terminal_id or ""),
                r.amount_fen,
                r.discount_fen,
                r.payable_fen,
                r.subsidy_fen,
                r.units,
                r.reversed_at.isoformat() if r.reversed_at else "",
            ]
        )
    return out.getvalue()
