"""Merchant settlement: a month's statements, confirm, mark paid, export for finance.

The same service calls as ``merchants.settlements.routes`` (so the subtree checks, the audit
rows and the frozen-month rule are the API's); the clock and time zone are the merchant API's.
Refusals (a month not ended, a statement not confirmed) come back in the page's ``#flash``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import ValidationError
from cardsvc.kernel.openapi import XLSX_MEDIA
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.pages.console.common import ConsoleController, page, require
from merchants.settlements.service import confirm, list_statements, pay
from merchants.settlements.xlsx import export_statements
from merchants.terminal.settlement import month_bounds
from merchants.terminal.wiring import services_of

STATUS_LABELS = {
    "open": ("未确认", "Open"),
    "confirmed": ("已确认", "Confirmed"),
    "paid": ("已付款", "Paid"),
}
NO_READ = ("您的角色无权查看商户结算", "Your role may not view merchant settlements")


def _previous_month(now: datetime, time_zone: str) -> str:
    local = now.astimezone(ZoneInfo(time_zone))
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def _back(month: str) -> Response[Any]:
    return Response("", headers={"HX-Redirect": f"/console/settlements?month={month}"})


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {k: str(form.get(k, "")).strip() for k in form}


class SettlementPages(ConsoleController):
    path = "/console/settlements"

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        month: str | None = None,
    ) -> Template:
        require(staff, Perm.merchants_read, *NO_READ)
        services = services_of(state)
        now = services.clock()
        month = (month or "").strip() or _previous_month(now, services.time_zone)
        _since, until = month_bounds(month, services.time_zone)
        items = await list_statements(
            db_session, staff, month=month, time_zone=services.time_zone, now=now
        )
        return await page(
            request,
            state,
            staff,
            "console/settlements.html",
            "settlements",
            month=month,
            items=items,
            ended=until <= now,
            statuses=STATUS_LABELS,
            today=now.astimezone(ZoneInfo(services.time_zone)).date().isoformat(),
            total_fen=sum(s.figures.totals.subsidy_fen for s in items),
            can_write=staff.can(Perm.merchants_write),
        )

    @get("/{month:str}/export", media_type=XLSX_MEDIA)
    async def export(
        self, state: State, staff: Principal, db_session: AsyncSession, month: str
    ) -> Response[bytes]:
        services = services_of(state)
        book = await export_statements(
            db_session, staff, month=month, time_zone=services.time_zone, now=services.clock()
        )
        return Response(
            book,
            media_type=XLSX_MEDIA,
            headers={"Content-Disposition": f'attachment; filename="settlements-{month}.xlsx"'},
        )

    @post("/{month:str}/{merchant_id:uuid}/confirm", status_code=200)
    async def confirm(
        self,
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        month: str,
        merchant_id: uuid.UUID,
    ) -> Response[Any]:
        services = services_of(state)
        await confirm(
            db_session,
            staff,
            merchant_id,
            month=month,
            time_zone=services.time_zone,
            now=services.clock(),
        )
        return _back(month)

    @post("/{month:str}/{merchant_id:uuid}/payment", status_code=200)
    async def payment(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        month: str,
        merchant_id: uuid.UUID,
    ) -> Response[Any]:
        services = services_of(state)
        values = await _form(request)
        # Left empty: today (``pay``'s default, as for the API); checked after the merchant.
        paid_on: date | None = None
        if text := values.get("paid_on", "").strip():
            try:
                paid_on = date.fromisoformat(text)
            except ValueError:
                raise ValidationError.field(
                    "paid_on", "付款日期格式不正确", "enter the date of the transfer"
                ) from None
        await pay(
            db_session,
            staff,
            merchant_id,
            month=month,
            time_zone=services.time_zone,
            payment_ref=values.get("payment_ref", ""),
            paid_on=paid_on,
            now=services.clock(),
        )
        return _back(month)
