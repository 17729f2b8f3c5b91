"""HTTP: redeem a voucher (消费券) at a terminal, reverse it, and list the merchant's voucher
uses (docs/merchant-api.md).

Thin over :mod:`merchants.terminal.vouchers` and :mod:`merchants.terminal.ledger`; the shapes
are here.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.public import VoucherUseResult
from cardsvc.kernel.clock import query_instant
from cardsvc.kernel.masking import mask_card_number
from merchants.terminal.auth import TerminalContext
from merchants.terminal.errors import check_bill_ref
from merchants.terminal.ledger import voucher_use_page
from merchants.terminal.problems import TOKEN_CODES, problems
from merchants.terminal.routes import TERMINAL, BillRefQuery, IdempotencyKey, created_or_replayed
from merchants.terminal.schemas import BillRef, Fen, MaskedCard, QrCode, ReversalIn
from merchants.terminal.vouchers import (
    VoucherRedeemed,
    redeem_voucher_at_terminal,
    reverse_voucher_at_terminal,
)
from merchants.terminal.wiring import services_of


class VoucherRedeemIn(msgspec.Struct, forbid_unknown_fields=True):
    """The member's code (as scanned) and the voucher the till picked from the scan."""

    code: QrCode
    voucher_id: uuid.UUID
    amount_fen: Fen
    bill_ref: BillRef | None = None


class VoucherRedemptionOut(msgspec.Struct):
    """``subsidy_fen``: what the federation owes the store for it (the discount when the
    campaign is funded by the federation, else 0: the merchant bears it)."""

    id: uuid.UUID
    voucher_id: uuid.UUID
    campaign_id: uuid.UUID
    campaign_code: str
    campaign_name: str
    amount_fen: int
    discount_fen: int
    payable_fen: int
    subsidy_fen: int
    funded_by: Annotated[str, msgspec.Meta(examples=["federation"])]
    occurred_at: datetime
    bill_ref: str | None
    card: MaskedCard | None
    reversed: bool


class VoucherReversalOut(msgspec.Struct):
    """``voucher_status``: ``active`` when the voucher went back to the member (still valid),
    ``expired`` when it lapsed (it expired meanwhile)."""

    id: uuid.UUID
    voucher_id: uuid.UUID
    reversed_at: datetime
    reason: str
    voucher_status: Literal["active", "expired"]
    amount_fen: int
    discount_fen: int
    subsidy_fen: int


class VoucherRedemptionItem(msgspec.Struct):
    """One voucher use in the merchant's list (reversed ones included, with ``reversed_at``)."""

    id: uuid.UUID  # the use (what a reversal names)
    voucher_id: uuid.UUID
    campaign_id: uuid.UUID
    campaign_code: str
    campaign_name: str
    store_id: uuid.UUID | None
    terminal_id: uuid.UUID | None
    amount_fen: int
    discount_fen: int
    payable_fen: int
    subsidy_fen: int
    funded_by: Annotated[str, msgspec.Meta(examples=["federation"])]
    occurred_at: datetime
    reversed: bool
    reversed_at: datetime | None
    bill_ref: str | None


class VoucherRedemptionPageOut(msgspec.Struct):
    items: list[VoucherRedemptionItem]
    next_cursor: str | None


def voucher_item_out(u: VoucherUseResult) -> VoucherRedemptionItem:
    return VoucherRedemptionItem(
        id=u.id,
        voucher_id=u.voucher_id,
        campaign_id=u.campaign_id,
        campaign_code=u.campaign_code,
        campaign_name=u.campaign_name,
        store_id=u.store_id,
        terminal_id=u.terminal_id,
        amount_fen=u.amount_fen,
        discount_fen=u.discount_fen,
        payable_fen=u.payable_fen,
        subsidy_fen=u.subsidy_fen,
        funded_by=u.funded_by,
        occurred_at=u.occurred_at,
        reversed=u.reversed_at is not None,
        reversed_at=u.reversed_at,
        bill_ref=u.bill_ref,
    )


def voucher_redemption_out(done: VoucherRedeemed) -> VoucherRedemptionOut:
    u = done.use
    return VoucherRedemptionOut(
        id=u.id,
        voucher_id=u.voucher_id,
        campaign_id=u.campaign_id,
        campaign_code=u.campaign_code,
        campaign_name=u.campaign_name,
        amount_fen=u.amount_fen,
        discount_fen=u.discount_fen,
        payable_fen=u.payable_fen,
        subsidy_fen=u.subsidy_fen,
        funded_by=u.funded_by,
        occurred_at=u.occurred_at,
        bill_ref=u.bill_ref,
        card=MaskedCard(mask_card_number(done.card.card_number)) if done.card else None,
        reversed=u.reversed_at is not None,
    )


def voucher_reversal_out(u: VoucherUseResult) -> VoucherReversalOut:
    assert u.reversed_at is not None and u.reversal_reason is not None
    return VoucherReversalOut(
        id=u.id,
        voucher_id=u.voucher_id,
        reversed_at=u.reversed_at,
        reason=u.reversal_reason,
        voucher_status="active" if u.reversal_outcome == "returned" else "expired",
        amount_fen=u.amount_fen,
        discount_fen=u.discount_fen,
        subsidy_fen=u.subsidy_fen,
    )


VOUCHER_REDEEM_RESPONSES: dict[int, ResponseSpec] = {
    **problems(
        *TOKEN_CODES,
        "voucher_not_found",
        "voucher_not_usable_here",
        "voucher_already_used",
        "voucher_expired",
        "below_min_spend",
        "idempotency_conflict",
        "idempotency_key_required",
        "idempotency_key_invalid",
        "validation_error",
    ),
    200: ResponseSpec(
        data_container=VoucherRedemptionOut,
        description=(
            "同一 Idempotency-Key 与相同请求的重试：原结果，带 `Idempotent-Replayed: true` / "
            "a retry with the same key and body: the original result"
        ),
    ),
}
VOUCHER_REVERSAL_RESPONSES: dict[int, ResponseSpec] = {
    **problems(
        "voucher_use_not_found",
        "already_reversed",
        "reversal_window_closed",
        "idempotency_conflict",
        "idempotency_key_required",
        "idempotency_key_invalid",
    ),
    200: ResponseSpec(data_container=VoucherReversalOut, description="a retry: the original"),
}


async def voucher_page_out(
    session: AsyncSession,
    merchant_id: uuid.UUID,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
    bill_ref: str | None = None,
) -> VoucherRedemptionPageOut:
    """A merchant's voucher uses as the terminal and the staff API list them."""
    page = await voucher_use_page(
        session,
        merchant_id=merchant_id,
        since=query_instant(since, "from"),
        until=query_instant(until, "to"),
        cursor=cursor,
        limit=limit,
        bill_ref=check_bill_ref(bill_ref),
    )
    return VoucherRedemptionPageOut([voucher_item_out(u) for u in page.items], page.next_cursor)


class TerminalVoucherController(Controller):
    path = "/api/v1/voucher-redemptions"
    tags = ["merchant API"]
    security = TERMINAL

    @post(
        "/",
        operation_id="redeemVoucher",
        status_code=201,
        summary="Redeem one of the member's vouchers (from the scan's `vouchers`), exactly once",
        description=(
            "核销会员的一张消费券：`code` 为会员出示的码（与扫码相同，不会被消耗），`voucher_id` 取自"
            "扫码结果的 `vouchers`。每张券只能使用一次：已使用返回 409 `voucher_already_used`；"
            "相同 Idempotency-Key 与相同请求的重试返回原结果（200，`Idempotent-Replayed: true`）。"
            "`subsidy_fen` 为工会应付本店的补贴（活动由工会出资时为优惠金额，商户出资时为 0）。\n\n"
            "Redeems one of the member's vouchers: `code` is the member's code as scanned (not "
            "consumed: the same scan may also redeem a programme), `voucher_id` one of the "
            "scan's `vouchers`. A voucher is used once: again is 409 `voucher_already_used`, "
            "also for a concurrent double submit; a retry with the same key and body returns "
            "the original (200 + `Idempotent-Replayed: true`)."
        ),
        responses=VOUCHER_REDEEM_RESPONSES,
    )
    async def redeem(
        self,
        terminal: TerminalContext,
        state: State,
        db_session: AsyncSession,
        data: VoucherRedeemIn,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[VoucherRedemptionOut]:
        done = await redeem_voucher_at_terminal(
            db_session,
            services_of(state),
            terminal,
            idempotency_key=idempotency_key,
            code=data.code,
            voucher_id=data.voucher_id,
            amount_fen=data.amount_fen,
            bill_ref=data.bill_ref,
        )
        return created_or_replayed(voucher_redemption_out(done), done.replayed)

    @get(
        "/",
        operation_id="listVoucherRedemptions",
        summary="This merchant's voucher redemptions, newest first (cursor-paginated)",
        description=(
            "本商户的消费券核销记录（含已撤销），按时间倒序，与核销记录（`GET /api/v1/redemptions`）"
            "相同的 `from`/`to`/`cursor`/`limit`/`bill_ref` 参数。This merchant's voucher uses "
            "(all its stores), newest first, reversed ones included: `from`/`to` are RFC 3339 "
            "instants, `[from, to)`; pass `next_cursor` back as `cursor` with the same "
            "`from`/`to`. `subsidy_fen` is what the federation owes for the use."
        ),
        responses=problems("invalid_cursor", "validation_error"),
    )
    async def voucher_redemptions(
        self,
        terminal: TerminalContext,
        db_session: AsyncSession,
        since: Annotated[datetime | None, Parameter(query="from")] = None,
        until: Annotated[datetime | None, Parameter(query="to")] = None,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        bill_ref: BillRefQuery = None,
    ) -> VoucherRedemptionPageOut:
        return await voucher_page_out(
            db_session, terminal.merchant_id, since, until, cursor, limit, bill_ref
        )

    @post(
        "/{use_id:uuid}/reversal",
        operation_id="reverseVoucherRedemption",
        status_code=201,
        summary="Reverse a voucher redemption within the window: the voucher goes back",
        description=(
            "撤销本商户的一笔消费券核销（撤销期限同普通核销，仅一次）：券仍在有效期内则退回会员"
            "（`voucher_status: active`），已过期则作废（`expired`）。Only the merchant's own "
            "(another's is 404 `voucher_use_not_found`), within the reversal window, once (then "
            "409 `already_reversed`); a retry with the same Idempotency-Key returns the original."
        ),
        responses=VOUCHER_REVERSAL_RESPONSES,
    )
    async def reversal(
        self,
        terminal: TerminalContext,
        state: State,
        db_session: AsyncSession,
        use_id: uuid.UUID,
        data: ReversalIn,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[VoucherReversalOut]:
        done = await reverse_voucher_at_terminal(
            db_session,
            services_of(state),
            terminal,
            idempotency_key=idempotency_key,
            use_id=use_id,
            reason=data.reason.strip() or data.reason,
        )
        return created_or_replayed(voucher_reversal_out(done), done.replayed)
