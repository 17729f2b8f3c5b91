"""/shop/: the cashier's pages. Thin handlers over the merchant API's domain functions.

Every handler but sign-in takes the ``shop`` dependency (cardsvc.pages.shop.session): the
stored terminal key authenticated through the same gate as ``Authorization: Bearer`` (revoked
key, suspended merchant, disabled terminal, per-key rate limit), and the CSRF token on POSTs.
An htmx request gets a fragment; a plain form post (no JavaScript) gets the whole page.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie, ResponseHeader, State
from litestar.di import Provide
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.public import RedemptionRecord
from cardsvc.kernel.errors import AppError
from cardsvc.kernel.web import CONTENT_SECURITY_POLICY, same_site_form
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
from cardsvc.pages.shop.outcome import shop_exception_handlers
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
from cardsvc.pages.shop.views import (
    SUMMARY_MAX,
    Row,
    day_rows,
    figures,
    for_cashier,
    rows_of,
    voidable,
    voucher_rows_of,
)
from merchants.terminal.redeem import (
    RedeemRequest,
    redeem_at_terminal,
    reverse_at_terminal,
)
from merchants.terminal.scan import scan
from merchants.terminal.schemas import redemption_out, scan_out
from merchants.terminal.voucher_routes import voucher_redemption_out, voucher_reversal_out
from merchants.terminal.vouchers import (
    VoucherRedeemed,
    redeem_voucher_at_terminal,
    reverse_voucher_at_terminal,
)
from merchants.terminal.wiring import services_of

HOME = "/shop/"
# Where a cashier may be sent back to after signing in (GET pages only).
_NEXT_OK = ("/shop", "/shop/", "/shop/today", "/shop/summary")
TODAY_LIMIT = 200
VOID_REASONS = (
    ("顾客退单", "Customer cancelled"),
    ("收银操作失误", "Cashier error"),
    ("金额录入错误", "Wrong amount"),
)


def _htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


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
    exception_handlers = shop_exception_handlers
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
            voucher_keys={v.voucher_id: new_idempotency_key() for v in out.vouchers},
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
            raise for_cashier(exc, units) from None
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
            voidable=not out.reversed and voidable(services, out.occurred_at, None),
            void_key=new_idempotency_key(),
        )
        ctx = _context(
            shop, done=out, replayed=done.replayed, row=row, kind=field(form, "kind"), units=units
        )
        if _htmx(request):
            return Template("shop/_redeem_result.html", context=ctx)
        return Template("shop/scan.html", context=ctx)

    @post("/vouchers/redeem", status_code=200)
    async def redeem_voucher(
        self,
        request: Request[Any, Any, Any],
        shop: Shop,
        state: State,
        db_session: AsyncSession,
    ) -> Template:
        """Use one of the member's vouchers picked from the scan (消费券), exactly once."""
        form = await request.form()
        done = await redeem_voucher_at_terminal(
            db_session,
            services_of(state),
            shop.terminal,
            idempotency_key=idempotency_key_of(field(form, "idem")),
            code=scanned_code(field(form, "code")),
            voucher_id=uuid_of(field(form, "voucher_id"), "消费券", "voucher"),
            amount_fen=yuan_to_fen(field(form, "amount"), required=True) or 0,
        )
        ctx = _context(
            shop,
            vdone=voucher_redemption_out(done),
            replayed=done.replayed,
            void_key=new_idempotency_key(),
        )
        if _htmx(request):
            return Template("shop/_voucher_result.html", context=ctx)
        return Template("shop/scan.html", context=ctx)

    @post("/voucher-uses/{use_id:uuid}/void", status_code=200)
    async def void_voucher(
        self,
        request: Request[Any, Any, Any],
        shop: Shop,
        state: State,
        db_session: AsyncSession,
        use_id: uuid.UUID,
    ) -> Template | Redirect:
        """Reverse a voucher use of this merchant: the voucher goes back (or lapses). From
        today's list (``view=today``) the answer is its row again, with the day's totals."""
        form = await request.form()
        reason = field(form, "reason").strip()[:255] or VOID_REASONS[0][0]
        services = services_of(state)
        done = await reverse_voucher_at_terminal(
            db_session,
            services,
            shop.terminal,
            idempotency_key=idempotency_key_of(field(form, "idem")),
            use_id=use_id,
            reason=reason,
        )
        out = voucher_reversal_out(done)
        if field(form, "view") == "today":
            if not _htmx(request):
                return Redirect("/shop/today", status_code=303)
            [row] = await voucher_rows_of(db_session, services, [done])
            _, rows, _ = await day_rows(
                db_session, services, shop.terminal.merchant_id, limit=TODAY_LIMIT
            )
            ctx = _context(
                shop,
                row=row,
                replayed=done.replayed,
                in_result=False,
                totals=figures(rows),
                voucher_status=out.voucher_status,
            )
            return Template("shop/_void_done.html", context=ctx)
        ctx = _context(
            shop,
            vdone=voucher_redemption_out(VoucherRedeemed(done, None, replayed=False)),
            replayed=False,
            voucher_status=out.voucher_status,
        )
        if _htmx(request):
            return Template("shop/_voucher_result.html", context=ctx)
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
        day, rows, more = await day_rows(
            db_session, services, shop.terminal.merchant_id, limit=TODAY_LIMIT
        )
        ctx = _context(shop, rows=rows, day=day, more=more, totals=figures(rows))
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
        [row] = await rows_of(
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
        in_result = field(form, "view") == "result"
        totals = None
        if not in_result:  # today's list: its totals are swapped in again (out of band)
            _, rows, _ = await day_rows(
                db_session, services, shop.terminal.merchant_id, limit=TODAY_LIMIT
            )
            totals = figures(rows)
        ctx = _context(shop, row=row, replayed=done.replayed, in_result=in_result, totals=totals)
        return Template("shop/_void_done.html", context=ctx)

    # --- end of day ---------------------------------------------------------------------------

    @get("/summary")
    async def summary(
        self, shop: Shop, state: State, db_session: AsyncSession, day: date | None = None
    ) -> Template:
        """This till's day (today by default) on a 58 mm receipt: counts, discounts,
        subsidies (the programmes' and the vouchers', and what the union owes in all) and
        voids, by programme and voucher campaign."""
        services = services_of(state)
        d, rows, more = await day_rows(
            db_session, services, shop.terminal.merchant_id, day, limit=SUMMARY_MAX
        )
        mine = [r for r in rows if r.terminal_id == shop.terminal.terminal_id]
        ctx = _context(
            shop,
            day=d,
            totals=figures(mine),
            more=more,
            printed_at=services.clock(),
            first=min((r.occurred_at for r in mine), default=None),
            last=max((r.occurred_at for r in mine), default=None),
        )
        return Template("shop/summary.html", context=ctx)
