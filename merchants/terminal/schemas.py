"""Merchant API shapes (with OpenAPI examples and problem responses) and their mapping."""

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from benefits.public import LimitState, RedemptionLine, RedemptionRecord, month_of
from cardsvc.kernel.masking import mask_card_number
from merchants.models import MerchantCategory
from merchants.terminal.errors import MAX_PROGRAMS
from merchants.terminal.redeem import Redeemed, Reversed
from merchants.terminal.scan import ScanResult

EXAMPLE_CODE = "UC1" + "A" * 144
MAX_FEN = 10**12

Fen = Annotated[int, msgspec.Meta(ge=0, le=MAX_FEN, examples=[8800])]
# Litestar drops a zero minimum beside ``null`` (and puts the maximum outside the integer
# branch, where generators ignore it): the optional amount states its schema itself.
OptionalFen = Annotated[
    Fen | None,
    msgspec.Meta(
        extra_json_schema={
            "extra": {
                "one_of": [
                    {"type": "integer", "minimum": 0, "maximum": MAX_FEN, "examples": [8800]},
                    {"type": "null"},
                ],
                "maximum": None,
                "examples": None,
            }
        }
    ),
]
Units = Annotated[int, msgspec.Meta(ge=1, le=10_000, examples=[1])]
QrCode = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=512,
        description=(
            "扫码得到的会员卡码原文，或会员卡页面上的 18 位数字码（可含空格）/ the scanned QR "
            "text (UC1…), or the 18-digit numeric one-time code from the member's card page"
        ),
        examples=[EXAMPLE_CODE],
    ),
]


BillRef = Annotated[
    str,
    msgspec.Meta(
        description=(
            "商户账单号（POS 订单号），1–64 个字母、数字或 - _ . / : #；同一账单的所有核销共同"
            "遵守叠加规则 / the merchant's bill reference (POS order number): 1–64 letters, "
            "digits or - _ . / : #; the stacking rules hold across every redemption naming it"
        ),
        examples=["POS-20260315-0042"],
    ),
]
ProgramIds = Annotated[
    list[uuid.UUID],
    msgspec.Meta(
        max_length=MAX_PROGRAMS,
        description=(
            "一次核销多个可叠加项目，按优先级依次作用于剩余应付金额 / several stackable "
            "programmes, applied in priority order, each on what is still payable"
        ),
    ),
]


# --- shapes -------------------------------------------------------------------------------


class ScanIn(msgspec.Struct, forbid_unknown_fields=True):
    code: QrCode
    amount_fen: OptionalFen = None
    units: Units = 1


class CardOut(msgspec.Struct):
    number_masked: Annotated[str, msgspec.Meta(examples=["**** **** **** 0019"])]
    status: Annotated[str, msgspec.Meta(examples=["active"])]


class MemberOut(msgspec.Struct):
    name_masked: Annotated[str, msgspec.Meta(examples=["张*明"])]
    union_name: Annotated[str, msgspec.Meta(examples=["宜昌市西陵区总工会"])]


class BenefitValue(msgspec.Struct, omit_defaults=True):
    discount_fen: int | None = None
    payable_fen: int | None = None
    units: int | None = None
    subsidy_fen: int | None = None


class RemainingOut(msgspec.Struct):
    policy: Annotated[str, msgspec.Meta(examples=["member_month_units"])]
    period: Annotated[str, msgspec.Meta(examples=["month"])]
    left: Annotated[int | None, msgspec.Meta(examples=[1])]
    metric: str
    scope: str
    limit: int
    period_ends_at: datetime | None


class ScanBenefit(msgspec.Struct):
    program_id: uuid.UUID
    program_code: str
    name: str
    kind: Annotated[str, msgspec.Meta(examples=["percent_off"])]
    benefit: BenefitValue
    remaining: list[RemainingOut]
    rule: dict[str, Any]


class Unavailable(msgspec.Struct):
    program_id: uuid.UUID
    program_code: str
    name: str
    code: Annotated[str, msgspec.Meta(examples=["quota_exhausted"])]


class ScanVoucher(msgspec.Struct):
    """One of the member's claimed vouchers accepted at this store (消费券). ``discount_fen`` and
    ``payable_fen`` with a bill amount; ``code`` names why it cannot be used on that bill
    (``below_min_spend``), else null. Redeem it with ``POST /api/v1/voucher-redemptions``."""

    voucher_id: uuid.UUID
    campaign_id: uuid.UUID
    campaign_code: str
    name: str
    kind: Annotated[str, msgspec.Meta(examples=["amount_off"])]
    off_fen: int | None
    basis_points: int | None
    cap_fen: int | None
    min_spend_fen: int
    funded_by: Annotated[str, msgspec.Meta(examples=["federation"])]
    expires_at: datetime
    discount_fen: int | None
    payable_fen: int | None
    code: Annotated[str | None, msgspec.Meta(examples=[None])]


class ScanOut(msgspec.Struct):
    scan_id: uuid.UUID
    card: CardOut
    member: MemberOut
    benefits: list[ScanBenefit]
    unavailable: list[Unavailable]
    vouchers: list[ScanVoucher]


class RedeemIn(msgspec.Struct, forbid_unknown_fields=True):
    """``program_id`` (one programme) or ``program_ids`` (several), exactly one of them."""

    code: QrCode
    amount_fen: Fen
    program_id: uuid.UUID | None = None
    units: Units = 1
    program_ids: ProgramIds | None = None
    bill_ref: BillRef | None = None


class MaskedCard(msgspec.Struct):
    number_masked: str


class RedemptionLineOut(msgspec.Struct):
    """One programme of the redemption, in the order applied (highest priority first)."""

    program_id: uuid.UUID
    program_code: str
    program_name: str
    program_version: int
    amount_fen: int  # what was still payable when this programme applied
    discount_fen: int
    payable_fen: int
    units: int
    subsidy_fen: int
    remaining: list[RemainingOut]


class RedemptionOut(msgspec.Struct):
    """The first (highest-priority) programme at the top level; ``discount_fen``,
    ``payable_fen`` and ``subsidy_fen`` are the whole redemption's; ``lines`` every programme."""

    id: uuid.UUID
    program_id: uuid.UUID
    program_version: int
    discount_fen: int
    payable_fen: int
    units: int
    subsidy_fen: int
    occurred_at: datetime
    remaining: list[RemainingOut]
    amount_fen: int
    program_code: str
    program_name: str
    card: MaskedCard
    reversed: bool
    bill_ref: str | None
    lines: list[RedemptionLineOut]


class ReversalIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=255, examples=["顾客退单"])]


class ReversalOut(msgspec.Struct):
    id: uuid.UUID
    redemption_id: uuid.UUID
    reversed_at: datetime
    reason: str
    program_id: uuid.UUID
    amount_fen: int
    discount_fen: int
    subsidy_fen: int
    units: int
    # The settlement month that nets this reversal out: the redemption's own, or the next open
    # one when the federation had already confirmed or paid that month (``note`` says so).
    settled_in: Annotated[str | None, msgspec.Meta(examples=["2026-03"])]
    note: str | None


class RedemptionItem(msgspec.Struct):
    id: uuid.UUID  # the redemption (what a reversal names)
    line_id: uuid.UUID
    program_id: uuid.UUID
    program_code: str
    program_version: int
    store_id: uuid.UUID | None
    terminal_id: uuid.UUID | None
    amount_fen: int
    discount_fen: int
    payable_fen: int
    units: int
    subsidy_fen: int
    occurred_at: datetime
    reversed: bool
    reversed_at: datetime | None
    bill_ref: str | None


class RedemptionPageOut(msgspec.Struct):
    items: list[RedemptionItem]
    next_cursor: str | None


# --- shaping ------------------------------------------------------------------------------


def remaining_of(limits: tuple[LimitState, ...], *, after: bool) -> list[RemainingOut]:
    return [
        RemainingOut(
            policy=s.policy,
            period=s.period,
            left=s.remaining_after if after else s.remaining_before,
            metric=s.metric,
            scope=s.scope,
            limit=s.limit,
            period_ends_at=s.period_ends_at,
        )
        for s in limits
    ]


def scan_out(r: ScanResult) -> ScanOut:
    benefits = []
    for p in r.applicable:
        value = (
            BenefitValue(p.discount_fen, p.payable_fen, p.units, p.subsidy_fen)
            if r.amount_given
            else BenefitValue(units=p.units)
        )
        benefits.append(
            ScanBenefit(
                program_id=p.program_id,
                program_code=p.code,
                name=p.name,
                kind=str(p.benefit.get("kind", "")),
                benefit=value,
                remaining=remaining_of(p.limits, after=False),
                rule=p.benefit,
            )
        )
    amount = r.amount_fen
    vouchers = [
        ScanVoucher(
            voucher_id=v.voucher_id,
            campaign_id=v.campaign_id,
            campaign_code=v.campaign_code,
            name=v.campaign_name,
            kind=v.kind,
            off_fen=v.off_fen,
            basis_points=v.basis_points,
            cap_fen=v.cap_fen,
            min_spend_fen=v.min_spend_fen,
            funded_by=v.funded_by,
            expires_at=v.expires_at,
            discount_fen=v.discount_fen,
            payable_fen=None
            if amount is None or v.discount_fen is None
            else amount - v.discount_fen,
            code=v.refusal,
        )
        for v in r.vouchers
    ]
    return ScanOut(
        scan_id=r.scan_id,
        vouchers=vouchers,
        card=CardOut(mask_card_number(r.card.card_number), "active"),
        member=MemberOut(r.name_masked, r.union_name),
        benefits=benefits,
        unavailable=[Unavailable(pid, code, name, err) for pid, code, name, err in r.unavailable],
    )


def _line_out(line: RedemptionLine) -> RedemptionLineOut:
    return RedemptionLineOut(
        program_id=line.program_id,
        program_code=line.program_code,
        program_name=line.program_name,
        program_version=line.version_number,
        amount_fen=line.amount_fen,
        discount_fen=line.discount_fen,
        payable_fen=line.payable_fen,
        units=line.units,
        subsidy_fen=line.subsidy_fen,
        remaining=remaining_of(line.limits, after=True),
    )


def redemption_out(done: Redeemed) -> RedemptionOut:
    result = done.result
    line = result.lines[0]
    return RedemptionOut(
        id=result.redemption_id,
        program_id=line.program_id,
        program_version=line.version_number,
        discount_fen=result.discount_fen,
        payable_fen=result.payable_fen,
        units=line.units,
        subsidy_fen=result.subsidy_fen,
        occurred_at=result.occurred_at,
        remaining=remaining_of(line.limits, after=True),
        amount_fen=result.amount_fen,
        program_code=line.program_code,
        program_name=line.program_name,
        card=MaskedCard(mask_card_number(done.card.card_number)),
        reversed=result.reversed,
        bill_ref=result.bill_ref,
        lines=[_line_out(x) for x in result.lines],
    )


def reversal_out(r: Reversed, booking: tuple[datetime, str] | None, time_zone: str) -> ReversalOut:
    """``booking``: when the redemption happened and the month the reversal was booked into."""
    red = r.redemption
    settled_in, note = None, None
    if booking is not None:
        settled_in = booking[1]
        redeemed_in = month_of(booking[0], time_zone)
        if settled_in != redeemed_in:
            note = (
                f"{redeemed_in} 已结算，本次撤销计入 {settled_in} 的结算单冲减。"
                f" {redeemed_in} is already settled: this reversal is deducted in {settled_in}."
            )
    return ReversalOut(
        id=r.id,
        redemption_id=red.redemption_id,
        reversed_at=r.reversed_at,
        reason=r.reason,
        program_id=red.lines[0].program_id,
        amount_fen=red.amount_fen,
        discount_fen=red.discount_fen,
        subsidy_fen=red.subsidy_fen,
        units=sum(line.units for line in red.lines),
        settled_in=settled_in,
        note=note,
    )


def item_out(r: RedemptionRecord) -> RedemptionItem:
    return RedemptionItem(
        id=r.redemption_id,
        line_id=r.id,
        program_id=r.program_id,
        program_code=r.program_code,
        program_version=r.version_number,
        store_id=r.store_id,
        terminal_id=r.terminal_id,
        amount_fen=r.amount_fen,
        discount_fen=r.discount_fen,
        payable_fen=r.payable_fen,
        units=r.units,
        subsidy_fen=r.subsidy_fen,
        occurred_at=r.occurred_at,
        reversed=r.reversed_at is not None,
        reversed_at=r.reversed_at,
        bill_ref=r.bill_ref,
    )


class TerminalSelfOut(msgspec.Struct):
    terminal_id: uuid.UUID
    terminal_name: str
    store_id: uuid.UUID
    store_name: str
    region: str
    merchant_id: uuid.UUID
    merchant_name: str
    category: MerchantCategory
    key_prefix: str
