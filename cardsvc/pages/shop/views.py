"""What the till shows of the ledger and of a refusal: rows with names and masked members (the
programmes' redemptions and the voucher uses, 消费券, side by side), the day's figures (today's
totals, the end-of-day summary), and the engine's quota refusal in words a cashier can use (no
policy keys, nothing of the programme's budget)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from benefits.public import RedemptionRecord, VoucherUseResult, program_names
from cardsvc.cards.lookup import card_holders
from cardsvc.kernel.errors import AppError
from cardsvc.kernel.masking import mask_card_number, mask_name
from cardsvc.pages.shop.forms import new_idempotency_key
from merchants.terminal.ledger import Page, redemption_page, voucher_use_page
from merchants.terminal.wiring import RedeemServices

PAGE = 200
SUMMARY_MAX = 5000  # rows read for one day's summary (a till makes far fewer)
T = TypeVar("T")
Kind = Literal["programme", "voucher"]


@dataclass(frozen=True, slots=True)
class Row:
    """One redemption as the cashier sees it (today's list, or the result of a redeem); with
    ``kind`` "voucher", a voucher use (``program_name`` is then the campaign's name)."""

    id: uuid.UUID
    occurred_at: datetime
    program_code: str
    program_name: str
    member_masked: str
    card_masked: str
    amount_fen: int
    discount_fen: int
    payable_fen: int
    subsidy_fen: int
    units: int
    reversed_at: datetime | None
    voidable: bool
    void_key: str
    terminal_id: uuid.UUID | None = None
    kind: Kind = "programme"
    # The bill it belongs to: rows of one bill (the lines of one checkout, or the
    # redemptions and voucher uses naming one bill reference) each apply to what the one
    # before left to pay, so the bill's amount and what was paid are counted once.
    bill: str = ""


def _bill(bill_ref: str | None, own: str) -> str:
    return f"ref:{bill_ref}" if bill_ref else own


def voidable(services: RedeemServices, at: datetime, reversed_at: datetime | None) -> bool:
    window = timedelta(seconds=services.reversal_window_seconds)
    return reversed_at is None and services.clock() - at < window


async def _masked_cards(
    db_session: AsyncSession, card_ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    """Each card's number and holder, masked as on a scan."""
    holders = await card_holders(db_session, card_ids)
    return {cid: (mask_card_number(num), mask_name(name)) for cid, (num, name) in holders.items()}


async def rows_of(
    db_session: AsyncSession, services: RedeemServices, records: list[RedemptionRecord]
) -> list[Row]:
    """Ledger rows with the programme's name and the member masked as on a scan."""
    names = await program_names(db_session, list({r.program_id for r in records}))
    cards = await _masked_cards(db_session, {r.card_id for r in records if r.card_id is not None})
    out = []
    for r in records:
        card, member = cards.get(r.card_id, ("—", "—")) if r.card_id else ("—", "—")
        out.append(
            Row(
                id=r.redemption_id,
                occurred_at=r.occurred_at,
                program_code=r.program_code,
                program_name=names.get(r.program_id, r.program_code),
                member_masked=member,
                card_masked=card,
                amount_fen=r.amount_fen,
                discount_fen=r.discount_fen,
                payable_fen=r.payable_fen,
                subsidy_fen=r.subsidy_fen,
                units=r.units,
                reversed_at=r.reversed_at,
                voidable=voidable(services, r.occurred_at, r.reversed_at),
                void_key=new_idempotency_key(),
                terminal_id=r.terminal_id,
                bill=_bill(r.bill_ref, f"checkout:{r.redemption_id}"),
            )
        )
    return out


async def voucher_rows_of(
    db_session: AsyncSession, services: RedeemServices, uses: list[VoucherUseResult]
) -> list[Row]:
    """Voucher uses as rows of the till's list: the campaign's name, the member masked, the
    same reversal window as a redemption's."""
    cards = await _masked_cards(db_session, {u.card_id for u in uses if u.card_id is not None})
    out = []
    for u in uses:
        card, member = cards.get(u.card_id, ("—", "—")) if u.card_id else ("—", "—")
        out.append(
            Row(
                id=u.id,
                occurred_at=u.occurred_at,
                program_code=u.campaign_code,
                program_name=u.campaign_name,
                member_masked=member,
                card_masked=card,
                amount_fen=u.amount_fen,
                discount_fen=u.discount_fen,
                payable_fen=u.payable_fen,
                subsidy_fen=u.subsidy_fen,
                units=1,
                reversed_at=u.reversed_at,
                voidable=voidable(services, u.occurred_at, u.reversed_at),
                void_key=new_idempotency_key(),
                terminal_id=u.terminal_id,
                kind="voucher",
                bill=_bill(u.bill_ref, f"use:{u.id}"),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class ProgramLine:
    """One programme's (or, ``kind`` "voucher", one campaign's) uses that stand."""

    name: str
    count: int
    units: int
    discount_fen: int
    subsidy_fen: int
    kind: Kind = "programme"


@dataclass(frozen=True, slots=True)
class Figures:
    """Totals of redemptions and voucher uses that stand (voided ones are counted apart).
    ``subsidy_fen`` is everything the federation owes for them, programmes' and vouchers'
    (``voucher_subsidy_fen``): what the settlement and the statements count for the day."""

    count: int
    voids: int
    amount_fen: int
    discount_fen: int
    payable_fen: int
    subsidy_fen: int
    voided_discount_fen: int
    programs: list[ProgramLine] = field(default_factory=list)
    voucher_count: int = 0
    voucher_subsidy_fen: int = 0
    # Any voucher use on the day, voided ones too: the voucher figures are shown then.
    with_vouchers: bool = False

    @property
    def programme_subsidy_fen(self) -> int:
        return self.subsidy_fen - self.voucher_subsidy_fen


def figures(rows: list[Row]) -> Figures:
    live = [r for r in rows if r.reversed_at is None]
    void = [r for r in rows if r.reversed_at is not None]
    vouchers = [r for r in live if r.kind == "voucher"]
    by: dict[tuple[Kind, str], list[Row]] = {}
    bills: dict[str, list[Row]] = {}
    for r in live:
        by.setdefault((r.kind, r.program_name), []).append(r)
        bills.setdefault(r.bill or str(r.id), []).append(r)
    return Figures(
        count=len(live),
        voids=len(void),
        # A bill's amount is its first row's (the largest), what was paid its last's.
        amount_fen=sum(max(r.amount_fen for r in rs) for rs in bills.values()),
        discount_fen=sum(r.discount_fen for r in live),
        payable_fen=sum(min(r.payable_fen for r in rs) for rs in bills.values()),
        subsidy_fen=sum(r.subsidy_fen for r in live),
        voided_discount_fen=sum(r.discount_fen for r in void),
        programs=[
            ProgramLine(
                name,
                len(rs),
                sum(r.units for r in rs),
                sum(r.discount_fen for r in rs),
                sum(r.subsidy_fen for r in rs),
                kind,
            )
            # Programmes first, then the campaigns; the busiest first in each.
            for (kind, name), rs in sorted(by.items(), key=lambda kv: (kv[0][0], -len(kv[1])))
        ],
        voucher_count=len(vouchers),
        voucher_subsidy_fen=sum(r.subsidy_fen for r in vouchers),
        with_vouchers=any(r.kind == "voucher" for r in rows),
    )


def day_bounds(
    services: RedeemServices, day: date | None = None
) -> tuple[date, datetime, datetime]:
    """A local day (today by default) as [midnight, next midnight) in the federation's zone."""
    zone = ZoneInfo(services.time_zone)
    local = services.clock().astimezone(zone)
    d = day or local.date()
    start = datetime(d.year, d.month, d.day, tzinfo=zone)
    return d, start, start + timedelta(days=1)


async def _read(
    read: Callable[[str | None, int], Awaitable[Page[T]]], limit: int
) -> tuple[list[T], bool]:
    """Pages of ``read(cursor, size)`` up to ``limit`` rows; and whether there were more."""
    found: list[T] = []
    cursor: str | None = None
    while True:
        page = await read(cursor, min(PAGE, limit - len(found)))
        found += page.items
        cursor = page.next_cursor
        if cursor is None or len(found) >= limit:
            return found, cursor is not None


async def day_rows(
    db_session: AsyncSession,
    services: RedeemServices,
    merchant_id: uuid.UUID,
    day: date | None = None,
    *,
    limit: int = PAGE,
) -> tuple[date, list[Row], bool]:
    """The merchant's redemptions and voucher uses of a local day, newest first, up to
    ``limit``; and whether there were more. Read as the terminal API lists them
    (``GET /api/v1/redemptions`` and ``GET /api/v1/voucher-redemptions``)."""
    d, since, until = day_bounds(services, day)

    async def ledger(cursor: str | None, size: int) -> Page[RedemptionRecord]:
        return await redemption_page(
            db_session, merchant_id=merchant_id, since=since, until=until, cursor=cursor, limit=size
        )

    async def uses(cursor: str | None, size: int) -> Page[VoucherUseResult]:
        return await voucher_use_page(
            db_session, merchant_id=merchant_id, since=since, until=until, cursor=cursor, limit=size
        )

    records, more = await _read(ledger, limit)
    used, more_used = await _read(uses, limit)
    rows = await rows_of(db_session, services, records)
    rows += await voucher_rows_of(db_session, services, used)
    rows.sort(key=lambda r: r.occurred_at, reverse=True)
    return d, rows[:limit], more or more_used or len(rows) > limit


_PERIODS = {
    "day": ("今日", "today"),
    "week": ("本周", "this week"),
    "month": ("本月", "this month"),
    "year": ("本年", "this year"),
    "lifetime": ("累计", "in total"),
}
# A member's own limits: a cashier may tell the member what is left. A store's or the
# programme's allowance is the federation's business.
_SCOPES = {"member": ("每人", "per member"), "member_merchant": ("每人在本店", "per member here")}


def _quantity(metric: str, n: int) -> tuple[str, str]:
    if metric == "units":
        return f"{n} 份", f"{n} unit{'s' if n != 1 else ''}"
    if metric == "count":
        return f"{n} 次", f"{n} time{'s' if n != 1 else ''}"
    yuan = f"¥{n // 100:,}.{n % 100:02d}"
    return yuan, yuan


def _quota_detail(exc: AppError) -> dict[str, object] | None:
    for r in exc.extra.get("reasons") or []:
        if isinstance(r, dict) and r.get("code") == "quota_exhausted":
            detail = r.get("detail")
            return detail if isinstance(detail, dict) else None
    return None


def for_cashier(exc: AppError, units: int) -> AppError:
    """The engine's refusals name rule keys (``规则 monthly_tickets``) and budgets; a cashier
    needs the member's limit against what was asked, or just that the programme is full."""
    if exc.code == "budget_exhausted":
        zh, en = "该项目本期名额已满，暂不能核销", "This programme is full for now"
    elif exc.code != "quota_exhausted":
        return exc
    else:
        zh, en = "本期额度已用完", "The quota for this period is used up"
        detail = _quota_detail(exc)
        if detail is not None and isinstance(detail.get("limit"), int):
            zh, en = _quota_words(detail, units, zh, en)
    return AppError(exc.code, zh, en, status=exc.status, errors=exc.errors, headers=exc.headers)


def _quota_words(detail: dict[str, object], units: int, zh: str, en: str) -> tuple[str, str]:
    scope = _SCOPES.get(str(detail.get("scope")))
    if scope is None:  # the store's or the programme's allowance: no figures
        return "该项目本期名额已满，暂不能核销", "This programme is full for now"
    metric = str(detail.get("metric", "count"))
    need = units if metric == "units" else 1
    if metric == "units" and need > 1:
        zh, en = "本期额度不足", "Not enough quota left this period"
    period_zh, period_en = _PERIODS.get(str(detail.get("period")), ("本期", "this period"))
    limit = detail["limit"]
    assert isinstance(limit, int)
    limit_zh, limit_en = _quantity(metric, limit)
    zh += f"：{scope[0]}{period_zh}限 {limit_zh}"
    en += f" (at most {limit_en} {scope[1]} {period_en}"
    remaining = detail.get("remaining")
    if isinstance(remaining, int):
        left_zh, left_en = _quantity(metric, remaining)
        zh += f"，剩余 {left_zh}"
        en += f", {left_en} left"
    en += ")"
    if metric in ("units", "count"):
        need_zh, need_en = _quantity(metric, need)
        zh += f"，本次需要 {need_zh}"
        en += f"; {need_en} asked"
    return zh + "。", en
