"""/shop/: the cashier's pages. Thin handlers over the merchant API's domain functions.

Every handler but sign-in takes the ``shop`` dependency (cardsvc.pages.shop.session): the
stored terminal key authenticated through the same gate as ``Authorization: Bearer`` (revoked
key, suspended merchant, disabled terminal, per-key rate limit), and the CSRF token on POSTs.
An htmx request gets a fragment; a plain form post (no JavaScript) gets the whole page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie, ResponseHeader, State
from litestar.di import Provide
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.public import RedemptionRecord, program_names
from cardsvc.cards.lookup import card_holders
from cardsvc.kernel.errors import AppError
from cardsvc.kernel.masking import mask_card_number, mask_name
from cardsvc.kernel.web import CONTENT_SECURITY_POLICY, same_site_form
from cardsvc.pages.errors import page_exception_handlers
from cardsvc.pages.shop.forms import (
    fen_to_yuan_text,
    field,
    idempotency_key_of,
    new_idempotency_key,
    scanned_code,
    units_of,
    uuid_of,
    yuan_to_fen,
)
from cardsvc.pages.shop.session import (
    SHOP_COOKIE,
    SHOP_SESSION_SECONDS,
    Shop,
    authenticate_key,
    close_shop_session,
    load_shop_session,
    open_shop_session,
    provide_shop,
    sessions_of,
)
from merchants.terminal.ledger import redemption_page
from merchants.terminal.redeem import (
    RedeemRequest,
    redeem_at_terminal,
    reverse_at_terminal,
)
from merchants.terminal.scan import scan
from merchants.terminal.schemas import redemption_out, scan_out
from merchants.terminal.wiring import RedeemServices, services_of

HOME = "/shop/"
# Where a cashier may be sent back to after signing in (GET pages only).
_NEXT_OK = ("/shop", "/shop/", "/shop/today")
TODAY_LIMIT = 200
VOID_REASONS = (
    ("顾客退单", "Customer cancelled"),
    ("收银操作失误", "Cashier error"),
    ("金额录入错误", "Wrong amount"),
)


def _htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


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


def _voidable(services: RedeemServices, at: datetime, reversed_at: datetime | None) -> bool:
    window = timedelta(seconds=services.reversal_window_seconds)
    return reversed_at is None and services.clock() - at < window


async def _rows(
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
                voidable=_voidable(services, r.occurred_at, r.reversed_at),
                void_key=new_idempotency_key(),
            )
        )
    return out


_PERIODS = {
    "day": ("今日", "today"),
    "week": ("本周", "this week"),
    "month": ("本月", "this month"),
    "year": ("本年", "this year"),
    "lifetime": ("累计", "in total"),
}


def _quantity(metric: str, n: int) -> tuple[str, str]:
    if metric == "units":
        return f"{n} 份", f"{n} unit{'s' if n != 1 else ''}"
    if metric == "count":
        return f"{n} 次", f"{n} time{'s' if n != 1 else ''}"
    yuan = f"¥{n // 100:,}.{n % 100:02d}"
    return yuan, yuan


_SCOPES = {
    "member": ("每人", "per member"),
    "member_merchant": ("每人在本店", "per member at this store"),
    "merchant": ("本店", "for this store"),
    "program": ("项目", "for the programme"),
}


def _for_cashier(exc: AppError, units: int) -> AppError:
    """The engine's quota refusal names the rule's key (``规则 monthly_tickets``); a cashier
    needs the limit against what was asked. Same code, status and details otherwise."""
    if exc.code != "quota_exhausted":
        return exc
    detail = next(
        (
            r.get("detail")
            for r in exc.extra.get("reasons") or []
            if isinstance(r, dict) and r.get("code") == "quota_exhausted" and r.get("detail")
        ),
        None,
    )
    zh, en = "本期额度已用完", "The quota for this period is used up"
    if isinstance(detail, dict) and isinstance(detail.get("limit"), int):
        metric = str(detail.get("metric", "count"))
        need = units if metric == "units" else 1
        if metric == "units" and need > 1:
            zh, en = "本期额度不足", "Not enough quota left this period"
        period_zh, period_en = _PERIODS.get(str(detail.get("period")), ("本期", "this period"))
        scope_zh, scope_en = _SCOPES.get(str(detail.get("scope")), ("", ""))
        limit_zh, limit_en = _quantity(metric, detail["limit"])
        zh += f"：{scope_zh}{period_zh}限 {limit_zh}"
        en += f" (at most {limit_en} {scope_en} {period_en}"
        if isinstance(detail.get("remaining"), int):
            left_zh, left_en = _quantity(metric, detail["remaining"])
            zh += f"，剩余 {left_zh}"
            en += f", {left_en} left"
        en += ")"
        if metric in ("units", "count"):
            need_zh, need_en = _quantity(metric, need)
            zh += f"，本次需要 {need_zh}"
            en += f"; {need_en} asked"
    return AppError(
        exc.code, zh, en, status=exc.status, errors=exc.errors, headers=exc.headers, **exc.extra
    )


def _context(shop: Shop, **extra: Any) -> dict[str, Any]:
    return {
        "terminal": shop.terminal,
        "csrf_token": shop.session.csrf,
        "void_reasons": VOID_REASONS,
        **extra,
    }


def _next(target: str | None) -> str:
    return target if target in _NEXT_OK and target != "/shop" else HOME


class ShopController(Controller):
    path = "/shop"
    include_in_schema = False
    exception_handlers = page_exception_handlers
    # The app's policy, plus WebAssembly for the camera's QR reader (zxing-wasm): the .wasm is
    # served by the app itself; nothing else is relaxed.
    response_headers = [
        ResponseHeader(
            name="content-security-policy",
            value=CONTENT_SECURITY_POLICY.replace(
                "script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'"
            ),
        )
    ]
    dependencies = {"shop": Provide(provide_shop)}

    # --- sign-in ----------------------------------------------------------------------------

    @get("/login")
    async def login_page(self, next: str | None = None) -> Template:
        return Template("shop/login.html", context={"next": _next(next)})

    @post("/login", status_code=200, guards=[same_site_form])
    async def sign_in(
        self, request: Request[Any, Any, Any], state: State, db_session: AsyncSession
    ) -> Template | Redirect:
        form = await request.form()
        key = field(form, "key").strip()
        target = _next(field(form, "next"))
        if not key:
            problem = {
                "code": "validation_error",
                "message_zh": "请粘贴本店收银台的终端密钥（uck_ 开头）",
                "message_en": "Paste this till's terminal key (starts with uck_)",
            }
            return Template(
                "shop/login.html", context={"next": target, "problem": problem}, status_code=422
            )
        try:
            await authenticate_key(state, db_session, key)
        except AppError as exc:
            problem = {"code": exc.code, "message_zh": exc.message_zh, "message_en": exc.message_en}
            headers = {k: v for k, v in exc.headers.items() if k.lower() == "retry-after"}
            return Template(
                "shop/login.html",
                context={"next": target, "problem": problem},
                status_code=exc.status,
                headers=headers,
            )
        store = sessions_of(state)
        await close_shop_session(store, request.cookies.get(SHOP_COOKIE, ""))
        sess = await open_shop_session(store, state.cipher, key)
        cookie = Cookie(
            key=SHOP_COOKIE,
            value=sess.token,
            httponly=True,
            samesite="lax",
            secure=state.settings.secure_cookies,
            max_age=SHOP_SESSION_SECONDS,
            path="/shop",
        )
        return Redirect(target, status_code=303, cookies=[cookie])

    @post("/logout", status_code=303)
    async def sign_out(self, request: Request[Any, Any, Any], state: State) -> Redirect:
        store = sessions_of(state)
        sess = await load_shop_session(store, request.cookies.get(SHOP_COOKIE, ""))
        form = await request.form()
        # Only the page's own form may sign the till out (a CSRF token, as for every POST).
        if sess is not None and field(form, "csrf") == sess.csrf:
            await close_shop_session(store, sess.token)
        gone = Cookie(key=SHOP_COOKIE, value="", max_age=0, path="/shop")
        return Redirect("/shop/login", status_code=303, cookies=[gone])

    # --- scan and redeem --------------------------------------------------------------------

    @get("/")
    async def scan_page(self, shop: Shop) -> Template:
        return Template("shop/scan.html", context=_context(shop))

    @get(["/scan", "/redeem"])
    async def back_to_scan(self) -> Redirect:
        """After a sign-in that interrupted a scan: the scan page (a POST is not repeated)."""
        return Redirect(HOME)

    @post("/scan", status_code=200)
    async def scan(
        self,
        request: Request[Any, Any, Any],
        shop: Shop,
        state: State,
        db_session: AsyncSession,
    ) -> Template:
        form = await request.form()
        code = scanned_code(field(form, "code"))
        amount = yuan_to_fen(field(form, "amount"), required=False)
        result = await scan(
            db_session,
            services_of(state),
            shop.terminal,
            code=code,
            amount_fen=amount,
            units=1,
        )
        out = scan_out(result)
        ctx = _context(
            shop,
            scan=out,
            code=code,
            amount_text=fen_to_yuan_text(amount),
            # A fresh Idempotency-Key per redeem form: resubmitting it never redeems twice.
            keys={b.program_id: new_idempotency_key() for b in out.benefits},
        )
        if _htmx(request):
            return Template("shop/_scan_result.html", context=ctx)
        return Template("shop/scan.html", context=ctx)

    @post("/redeem", status_code=200)
    async def redeem(
        self,
        request: Request[Any, Any, Any],
        shop: Shop,
        state: State,
        db_session: AsyncSession,
    ) -> Template:
        form = await request.form()
        code = scanned_code(field(form, "code"))
        program_id = uuid_of(field(form, "program_id"), "普惠项目", "programme")
        free = field(form, "kind") == "free_units"  # the amount does not change the benefit
        amount = yuan_to_fen(field(form, "amount"), required=not free) or 0
        units = units_of(field(form, "units"))
        key = idempotency_key_of(field(form, "idem"))
        services = services_of(state)
        try:
            done = await redeem_at_terminal(
                db_session,
                services,
                shop.terminal,
                idempotency_key=key,
                req=RedeemRequest(code, program_id, amount, units),
            )
        except AppError as exc:
            raise _for_cashier(exc, units) from None
        out = redemption_out(done)
        line = done.result.lines[0]
        row = Row(
            id=out.id,
            occurred_at=out.occurred_at,
            program_code=out.program_code,
            program_name=out.program_name,
            member_masked="",
            card_masked=out.card.number_masked,
            amount_fen=out.amount_fen,
            discount_fen=out.discount_fen,
            payable_fen=out.payable_fen,
            subsidy_fen=out.subsidy_fen,
            units=line.units,
            reversed_at=None,
            voidable=not out.reversed and _voidable(services, out.occurred_at, None),
            void_key=new_idempotency_key(),
        )
        ctx = _context(shop, done=out, replayed=done.replayed, row=row)
        if _htmx(request):
            return Template("shop/_redeem_result.html", context=ctx)
        return Template("shop/scan.html", context=ctx)

    # --- today's list and voids -------------------------------------------------------------

    @get("/today")
    async def today(
        self,
        request: Request[Any, Any, Any],
        shop: Shop,
        state: State,
        db_session: AsyncSession,
    ) -> Template:
        services = services_of(state)
        zone = ZoneInfo(services.time_zone)
        local = services.clock().astimezone(zone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        page = await redemption_page(
            db_session,
            merchant_id=shop.terminal.merchant_id,
            since=midnight,
            until=None,
            cursor=None,
            limit=TODAY_LIMIT,
        )
        rows = await _rows(db_session, services, page.items)
        live = [r for r in rows if r.reversed_at is None]
        ctx = _context(
            shop,
            rows=rows,
            day=local.date(),
            more=page.next_cursor is not None,
            count=len(live),
            discount_fen=sum(r.discount_fen for r in live),
            subsidy_fen=sum(r.subsidy_fen for r in live),
            payable_fen=sum(r.payable_fen for r in live),
        )
        return Template("shop/today.html", context=ctx)

    @post("/redemptions/{redemption_id:uuid}/void", status_code=200)
    async def void(
        self,
        request: Request[Any, Any, Any],
        shop: Shop,
        state: State,
        db_session: AsyncSession,
        redemption_id: uuid.UUID,
    ) -> Template | Redirect:
        form = await request.form()
        reason = field(form, "reason").strip()[:255] or VOID_REASONS[0][0]
        key = idempotency_key_of(field(form, "idem"))
        services = services_of(state)
        done = await reverse_at_terminal(
            db_session,
            services,
            shop.terminal,
            idempotency_key=key,
            redemption_id=redemption_id,
            reason=reason,
        )
        if not _htmx(request):
            return Redirect("/shop/today", status_code=303)
        red = done.redemption
        line = red.lines[0]
        [row] = await _rows(
            db_session,
            services,
            [
                RedemptionRecord(
                    id=line.id,
                    redemption_id=red.redemption_id,
                    line=line.line,
                    merchant_id=red.merchant_id,
                    store_id=red.store_id,
                    terminal_id=red.terminal_id,
                    member_id=red.member_id,
                    card_id=red.card_id,
                    program_id=line.program_id,
                    program_code=line.program_code,
                    version_number=line.version_number,
                    amount_fen=red.amount_fen,
                    discount_fen=red.discount_fen,
                    payable_fen=red.payable_fen,
                    units=sum(x.units for x in red.lines),
                    subsidy_fen=red.subsidy_fen,
                    occurred_at=red.occurred_at,
                    reversed_at=done.reversed_at,
                )
            ],
        )
        ctx = _context(
            shop, row=row, replayed=done.replayed, in_result=field(form, "view") == "result"
        )
        return Template("shop/_void_done.html", context=ctx)
