"""HTTP: scan, redeem, reverse, list and settle at a terminal (docs/merchant-api.md), and the
staff view of a merchant's redemptions. Thin controllers over :mod:`merchants.terminal.scan`,
:mod:`merchants.terminal.redeem` and :mod:`merchants.terminal.settlement`; the shapes are in
:mod:`merchants.terminal.schemas`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.openapi.spec import Example, SecurityRequirement
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.public import reversal_booking
from cardsvc.kernel.clock import query_instant
from cardsvc.kernel.db import driver_connection, engine_of
from merchants.terminal.auth import TerminalContext
from merchants.terminal.errors import check_bill_ref, programmes_of
from merchants.terminal.ledger import redemption_page
from merchants.terminal.problems import (
    REDEEM_RESPONSES,
    REVERSAL_RESPONSES,
    SCAN_RESPONSES,
    SETTLEMENT_RESPONSES,
    SettlementOperation,
    problems,
)
from merchants.terminal.redeem import (
    RedeemRequest,
    redeem_at_terminal,
    reverse_at_terminal,
)
from merchants.terminal.scan import scan
from merchants.terminal.schemas import (
    EXAMPLE_CODE,
    RedeemIn,
    RedemptionOut,
    RedemptionPageOut,
    ReversalIn,
    ReversalOut,
    ScanIn,
    ScanOut,
    TerminalSelfOut,
    item_out,
    redemption_out,
    reversal_out,
    scan_out,
)
from merchants.terminal.settlement import (
    monthly_settlement,
    settlement_csv,
    settlement_items_csv,
)
from merchants.terminal.settlement_schemas import SettlementOut, settlement_out
from merchants.terminal.wiring import services_of

TERMINAL: list[SecurityRequirement] = [{"terminalKey": []}]
STAFF: list[SecurityRequirement] = [{"staffSession": []}]
REPLAYED_HEADER = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        required=True,
        # Checked by the handler (specific error codes); the document says what it accepts.
        schema_extra={
            "one_of": None,
            "type": "string",
            "min_length": 1,
            "max_length": 128,
            "pattern": r"^[!-~]{1,128}$",
        },
        description=(
            "每笔交易一个唯一值（≤128 个可见 ASCII 字符），网络重试时保持不变 / one unique value "
            "per transaction (≤ 128 visible ASCII characters), the same on every retry"
        ),
        examples=[Example(value="pos-0042-20260315-000917")],
    ),
]


BillRefQuery = Annotated[
    str | None,
    Parameter(
        description="只列出该账单号的核销 / only the redemptions of this bill reference",
        examples=[Example(value="POS-20260315-0042")],
    ),
]


def created_or_replayed(body: Any, replayed: bool) -> Response[Any]:
    """201 for a new write; 200 with the replay header for a retry answered from the first."""
    if replayed:
        return Response(body, status_code=200, headers={REPLAYED_HEADER: "true"})
    return Response(body, status_code=201)


class TerminalRedeemController(Controller):
    path = "/api/v1"
    tags = ["merchant API"]
    security = TERMINAL

    @post(
        "/scans",
        operation_id="scan",
        status_code=200,
        summary="Scan a member's code: masked identity and the benefits usable at this store",
        description=(
            "验证会员卡码（签名、有效期、吊销、卡代次），返回脱敏身份与本门店可用的普惠项目及剩余额度；"
            "不会核销。带 `amount_fen` 时给出优惠金额。\n\n"
            "Verifies the code (signature, expiry, revocation, generation) and lists only what "
            "applies at this store, with the benefit for `amount_fen`/`units` and what is left. "
            "Redeems nothing. Every scan is logged (kept for the retention period)."
        ),
        responses=SCAN_RESPONSES,
        response_description="会员与可用普惠 / the member (masked) and the usable benefits",
    )
    async def scan(
        self,
        terminal: TerminalContext,
        state: State,
        db_session: AsyncSession,
        data: Annotated[
            ScanIn,
            msgspec.Meta(examples=[{"code": EXAMPLE_CODE, "amount_fen": 8800, "units": 1}]),
        ],
    ) -> ScanOut:
        async with driver_connection(engine_of(db_session)) as pg:
            result = await scan(
                db_session,
                services_of(state),
                terminal,
                code=data.code,
                amount_fen=data.amount_fen,
                units=data.units,
                pg=pg,
            )
        return scan_out(result)

    @post(
        "/redemptions",
        operation_id="redeem",
        status_code=201,
        summary="Redeem one programme, or several stackable ones, for a bill (once per key)",
        description=(
            "核销：手机动态码一次有效（重放返回 `token_replayed`）；实体卡静态码受每卡频次限制，"
            "项目可拒收静态码。相同 Idempotency-Key 与相同请求的重试返回原结果（200,"
            "`Idempotent-Replayed: true`）；相同键不同请求返回 409 `idempotency_conflict`。\n\n"
            "A rotating (phone) code is single-use; a static (printed) code is limited per card "
            "and hour and may be refused by a programme. A retry with the same key and body "
            "returns the original result (200 + `Idempotent-Replayed: true`); the same key with "
            "a different body is 409 `idempotency_conflict`.\n\n"
            "`program_ids` 可一次核销多个可叠加项目（按优先级依次作用于剩余应付金额）；"
            "`bill_ref` 为商户账单号，同一账单号的所有核销（无论一次还是多次请求）共同遵守叠加规则，"
            "冲突时返回 409 `bill_stacking_conflict`。\n\n"
            "`program_ids` redeems several stackable programmes at once, in priority order, each "
            "on what is still payable. `bill_ref` names the merchant's bill: the stacking rules "
            "hold across every redemption naming it, in one call or several (409 "
            "`bill_stacking_conflict`); a reversal frees the bill of that redemption."
        ),
        responses=REDEEM_RESPONSES,
    )
    async def redeem(
        self,
        terminal: TerminalContext,
        state: State,
        db_session: AsyncSession,
        data: RedeemIn,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[RedemptionOut]:
        async with driver_connection(engine_of(db_session)) as pg:
            done = await redeem_at_terminal(
                db_session,
                services_of(state),
                terminal,
                idempotency_key=idempotency_key,
                req=RedeemRequest(
                    data.code,
                    programmes_of(data.program_id, data.program_ids),
                    data.amount_fen,
                    data.units,
                    check_bill_ref(data.bill_ref),
                ),
                pg=pg,
            )
        return created_or_replayed(redemption_out(done), done.replayed)

    @post(
        "/redemptions/{redemption_id:uuid}/reversal",
        operation_id="reverseRedemption",
        status_code=201,
        summary="Reverse (void) one of this merchant's redemptions, within the window, once",
        description=(
            "撤销本商户的一笔核销（默认 24 小时内，仅一次），额度与预算如数退回。"
            "Only the merchant's own (another merchant's id is 404), within the reversal window "
            "(`UNIONCARD_REVERSAL_WINDOW_SECONDS`, default 24 h), once (then 409 "
            "`already_reversed`); a retry with the same Idempotency-Key returns the original."
        ),
        responses=REVERSAL_RESPONSES,
    )
    async def reversal(
        self,
        terminal: TerminalContext,
        state: State,
        db_session: AsyncSession,
        redemption_id: uuid.UUID,
        data: ReversalIn,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ReversalOut]:
        done = await reverse_at_terminal(
            db_session,
            services_of(state),
            terminal,
            idempotency_key=idempotency_key,
            redemption_id=redemption_id,
            reason=data.reason.strip() or data.reason,
        )
        booking = await reversal_booking(db_session, redemption_id=redemption_id)
        out = reversal_out(done, booking, services_of(state).time_zone)
        return created_or_replayed(out, done.replayed)

    @get(
        "/redemptions",
        operation_id="listRedemptions",
        summary="This merchant's redemptions, newest first (cursor-paginated)",
        description=(
            "本商户的核销记录（含已撤销），按时间倒序；`next_cursor` 为下一页游标（不透明）。"
            "`from`/`to` are RFC 3339 instants, `[from, to)`; pass `next_cursor` back as "
            "`cursor` with the same `from`/`to`. `bill_ref` lists one bill's redemptions."
        ),
        responses=problems("invalid_cursor", "validation_error"),
    )
    async def redemptions(
        self,
        terminal: TerminalContext,
        db_session: AsyncSession,
        since: Annotated[datetime | None, Parameter(query="from")] = None,
        until: Annotated[datetime | None, Parameter(query="to")] = None,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        bill_ref: BillRefQuery = None,
    ) -> RedemptionPageOut:
        return await redemption_page_out(
            db_session, terminal.merchant_id, since, until, cursor, limit, bill_ref
        )

    @get(
        "/settlements/{month:str}",
        operation_id="getSettlement",
        operation_class=SettlementOperation,
        summary="Monthly settlement per programme and store (JSON, or CSV with Accept: text/csv)",
        description=(
            "月度结算：按项目与门店汇总笔数、消费金额、优惠、联合会应付补贴，已撤销的冲减。"
            "月份按联合会时区（`UNIONCARD_TIME_ZONE`）计。Months are calendar months in the "
            "federation's time zone; reversed redemptions are netted out. `Accept: text/csv` "
            "gives the same lines as CSV (amounts in fen) with a TOTAL line. `detail=true` adds "
            "every redemption line of the month with its `bill_ref` (JSON `items`; the CSV is "
            "then one row per redemption line), to reconcile by the merchant's order numbers."
        ),
        responses=SETTLEMENT_RESPONSES,
    )
    async def settlement(
        self,
        request: Request[Any, Any, Any],
        terminal: TerminalContext,
        state: State,
        db_session: AsyncSession,
        month: Annotated[
            str, Parameter(pattern=r"^\d{4}-\d{2}$", examples=[Example(value="2026-03")])
        ],
        detail: bool = False,
    ) -> Response[SettlementOut]:
        services = services_of(state)
        s = await monthly_settlement(
            db_session,
            merchant_id=terminal.merchant_id,
            month=month,
            time_zone=services.time_zone,
            now=services.clock(),
            detail=detail,
        )
        wanted = request.accept.best_match(["application/json", "text/csv"], "application/json")
        if wanted == "text/csv":
            # The annotation documents the JSON body (OpenAPI); the CSV one is its alternative.
            csv: Response[Any] = Response(
                settlement_items_csv(s) if detail else settlement_csv(s),
                media_type="text/csv; charset=utf-8",
                headers={
                    "Content-Disposition": (
                        f'attachment; filename="settlement-{terminal.merchant_id}-{month}.csv"'
                    )
                },
            )
            return csv
        return Response(settlement_out(s))


async def redemption_page_out(
    session: AsyncSession,
    merchant_id: uuid.UUID,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
    bill_ref: str | None = None,
) -> RedemptionPageOut:
    page = await redemption_page(
        session,
        merchant_id=merchant_id,
        since=query_instant(since, "from"),
        until=query_instant(until, "to"),
        cursor=cursor,
        limit=limit,
        bill_ref=check_bill_ref(bill_ref),
    )
    return RedemptionPageOut([item_out(r) for r in page.items], page.next_cursor)


class TerminalSelfController(Controller):
    path = "/api/v1/terminal"
    tags = ["merchant API"]
    security = TERMINAL

    @get(
        "/",
        operation_id="getTerminal",
        responses=problems(),
        summary="Who am I: the store and merchant this key authenticates as (check a key)",
        description=(
            "POS 接入自检：返回该密钥所属的终端、门店与商户。Errors: 401 `unauthorized`, "
            "403 `merchant_suspended`, 429 `rate_limited` (with `Retry-After`)."
        ),
    )
    async def whoami(self, terminal: TerminalContext) -> TerminalSelfOut:
        return TerminalSelfOut(
            terminal_id=terminal.terminal_id,
            terminal_name=terminal.terminal_name,
            store_id=terminal.store_id,
            store_name=terminal.store_name,
            region=terminal.region,
            merchant_id=terminal.merchant_id,
            merchant_name=terminal.merchant_name,
            category=terminal.category,
            key_prefix=terminal.key_prefix,
        )
