"""HTTP: the staff settlement API (thin; the domain is :mod:`merchants.settlements.service`).

``/api/v1/settlement-statements/{month}``: the month's statements of the merchants in my
subtrees; ``…/export`` the same as .xlsx for finance; ``…/{merchant_id}`` one statement, with
``/confirm`` and ``/payment`` as the actions on it.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.openapi.spec import Example
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.openapi import ATTACHMENT, XLSX_MEDIA, problem_responses, success_operation
from cardsvc.kernel.principal import Principal
from merchants.settlements.schemas import (
    PaymentIn,
    StatementOut,
    StatementPageOut,
    statement_out,
)
from merchants.settlements.service import (
    confirm,
    get_statement,
    list_statements,
    pay,
)
from merchants.settlements.xlsx import export_statements
from merchants.terminal.wiring import services_of

Month = Annotated[
    str,
    Parameter(
        pattern=r"^\d{4}-\d{2}$",
        description="calendar month in the federation's time zone",
        examples=[Example(value="2026-03")],
    ),
]
_PROBLEMS: dict[str, tuple[int, str, str]] = {
    "invalid_month": (400, "月份格式应为 YYYY-MM", "The month must be YYYY-MM"),
    "merchant_not_found": (404, "未找到该商户", "Merchant not found"),
    "settlement_status_conflict": (
        409,
        "该结算单当前状态为“已付款”，不能执行该操作",
        "the statement is paid, it cannot become confirmed",
    ),
    "settlement_month_not_ended": (
        409,
        "该月尚未结束，不能确认结算单",
        "the month has not ended yet",
    ),
}


EXPORT_OPERATION = success_operation(headers={"Content-Disposition": ATTACHMENT})


class SettlementStatementController(Controller):
    path = "/api/v1/settlement-statements"
    tags = ["staff: settlements"]
    security = [{"staffSession": []}]

    @get(
        "/{month:str}",
        operation_id="listSettlementStatements",
        summary="The month's statements of the merchants in my subtrees",
        description=(
            "每个商户一张月结算单（有核销记录或已确认的），含状态与按项目汇总。"
            "Merchants with ledger activity in the month or a confirmed/paid statement. "
            "Confirmed and paid statements show their frozen figures."
        ),
        responses=problem_responses(_PROBLEMS, "invalid_month"),
    )
    async def index(
        self, staff: Principal, state: State, db_session: AsyncSession, month: Month
    ) -> StatementPageOut:
        services = services_of(state)
        items = await list_statements(
            db_session, staff, month=month, time_zone=services.time_zone, now=services.clock()
        )
        return StatementPageOut(month, services.time_zone, [statement_out(s) for s in items])

    @get(
        "/{month:str}/export",
        operation_id="exportSettlementStatements",
        summary="The month's statements as .xlsx for finance (audited)",
        description=(
            "财务导出：第一张表每个商户一行，第二张表按商户与项目。Amounts in yuan (2 decimals)."
        ),
        media_type=XLSX_MEDIA,
        operation_class=EXPORT_OPERATION,
        responses=problem_responses(_PROBLEMS, "invalid_month"),
    )
    async def export(
        self, staff: Principal, state: State, db_session: AsyncSession, month: Month
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

    @get(
        "/{month:str}/{merchant_id:uuid}",
        operation_id="getSettlementStatement",
        summary="One merchant's statement of the month",
        responses=problem_responses(_PROBLEMS, "invalid_month", "merchant_not_found"),
    )
    async def detail(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        month: Month,
        merchant_id: uuid.UUID,
    ) -> StatementOut:
        services = services_of(state)
        s = await get_statement(
            db_session,
            staff,
            merchant_id,
            month=month,
            time_zone=services.time_zone,
            now=services.clock(),
        )
        return statement_out(s)

    @post(
        "/{month:str}/{merchant_id:uuid}/confirm",
        operation_id="confirmSettlementStatement",
        status_code=200,
        summary="Confirm a statement of an ended month: its figures are frozen (audited)",
        description=(
            "确认后金额冻结；之后对该月核销的撤销计入下一个未确认的月份。Only an ended month, "
            "only an open statement (409 `settlement_month_not_ended`, "
            "`settlement_status_conflict`)."
        ),
        responses=problem_responses(
            _PROBLEMS,
            "invalid_month",
            "merchant_not_found",
            "settlement_status_conflict",
            "settlement_month_not_ended",
        ),
    )
    async def confirm(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        month: Month,
        merchant_id: uuid.UUID,
    ) -> StatementOut:
        services = services_of(state)
        s = await confirm(
            db_session,
            staff,
            merchant_id,
            month=month,
            time_zone=services.time_zone,
            now=services.clock(),
        )
        return statement_out(s)

    @post(
        "/{month:str}/{merchant_id:uuid}/payment",
        operation_id="paySettlementStatement",
        status_code=200,
        summary="Mark a confirmed statement paid, with the payment reference and date (audited)",
        description=(
            "登记付款：付款凭证号与付款日期（默认今天）。Only a confirmed statement "
            "(409 `settlement_status_conflict`); a paid month is frozen."
        ),
        responses=problem_responses(
            _PROBLEMS, "invalid_month", "merchant_not_found", "settlement_status_conflict"
        ),
    )
    async def payment(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        month: Month,
        merchant_id: uuid.UUID,
        data: PaymentIn,
    ) -> StatementOut:
        services = services_of(state)
        s = await pay(
            db_session,
            staff,
            merchant_id,
            month=month,
            time_zone=services.time_zone,
            payment_ref=data.payment_ref,
            paid_on=data.paid_on,
            now=services.clock(),
        )
        return statement_out(s)
