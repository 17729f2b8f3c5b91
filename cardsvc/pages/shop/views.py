"""What the till shows of the ledger and of a refusal: rows with names and masked members, the
day's figures (today's totals, the end-of-day summary), and the engine's quota refusal in words
a cashier can use (no policy keys, nothing of the programme's budget)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from benefits.public import RedemptionRecord, program_names
from cardsvc.cards.lookup import card_holders
from cardsvc.kernel.errors import AppError
from cardsvc.kernel.masking import mask_card_number, mask_name
from cardsvc.pages.shop.forms import new_idempotency_key
from merchants.terminal.ledger import redemption_page
from merchants.terminal.wiring import RedeemServices

PAGE = 200
SUMMARY_MAX = 5000  # rows read for one day's summary (a till makes far fewer)


@dataclass(frozen=True, slots=True)
class Row:
    """One redemption as the cashier sees it (today's list, or the result of a redeem)."""

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


def voidable(services: RedeemServices, at: datetime, reversed_at: datetime | None) -> bool:
    window = timedelta(seconds=services.reversal_window_seconds)
    return reversed_at is None and services.clock() - at < window


async def rows_of(
    db_session: AsyncSession, services: RedeemServices, records: list[RedemptionRecord]
) -> list[Row]:
    """Ledger rows with the programme's name and the member masked as on a scan."""
    names = await program_names(db_session, list({r.program_id for r in records}))
    holders = await card_holders(db_session, {r.card_id for r in records if r.card_id is not None})
    cards = {cid: (mask_card_number(num), mask_name(name)) for cid, (num, name) in holders.items()}
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
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class ProgramLine:
    name: str
    count: int
    units: int
    discount_fen: int
    subsidy_fen: int


@dataclass(frozen=True, slots=True)
class Figures:
    """Totals of redemptions that stand (voided ones are counted apart)."""

    count: int
    voids: int
    amount_fen: int
    discount_fen: int
    payable_fen: int
    subsidy_fen: int
    voided_discount_fen: int
    programs: list[ProgramLine] = field(default_factory=list)


def figures(rows: list[Row]) -> Figures:
    live = [r for r in rows if r.reversed_at is None]
    void = [r for r in rows if r.reversed_at is not None]
    by: dict[str, list[Row]] = {}
    for r in live:
        by.setdefault(r.program_name, []).append(r)
    return Figures(
        count=len(live),
        voids=len(void),
        amount_fen=sum(r.amount_fen for r in live),
        discount_fen=sum(r.discount_fen for r in live),
        payable_fen=sum(r.payable_fen for r in live),
        subsidy_fen=sum(r.subsidy_fen for r in live),
        voided_discount_fen=sum(r.discount_fen for r in void),
        programs=[
            ProgramLine(
                name,
                len(rs),
                sum(r.units for r in rs),
                sum(r.discount_fen for r in rs),
                sum(r.subsidy_fen for r in rs),
            )
            for name, rs in sorted(by.items(), key=lambda kv: -len(kv[1]))
        ],
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


async def day_rows(
    db_session: AsyncSession,
    services: RedeemServices,
    merchant_id: uuid.UUID,
    day: date | None = None,
    *,
    limit: int = PAGE,
) -> tuple[date, list[Row], bool]:
    """The merchant's redemptions of a local day, newest first, up to ``limit``; and whether
    there were more."""
    d, since, until = day_bounds(services, day)
    records: list[RedemptionRecord] = []
    cursor: str | None = None
    while True:
        page = await redemption_page(
            db_session,
            merchant_id=merchant_id,
            since=since,
            until=until,
            cursor=cursor,
            limit=min(PAGE, limit - len(records)),
        )
        records += page.items
        cursor = page.next_cursor
        if cursor is None or len(records) >= limit:
            break
    return d, await rows_of(db_session, services, records), cursor is not None


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
