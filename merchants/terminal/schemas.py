"""Merchant API shapes (with OpenAPI examples and problem responses) and their mapping."""

# No ``from __future__ import annotations``: some shapes name another module (below), and string
# annotations would be resolved there.
import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from benefits.public import LimitState, RedemptionRecord
from cardsvc.kernel.errors import PROBLEM_MEDIA_TYPE
from cardsvc.kernel.masking import mask_card_number
from merchants.models import MerchantCategory
from merchants.terminal.redeem import Redeemed, Reversed
from merchants.terminal.scan import ScanResult
from merchants.terminal.settlement import Settlement, SettlementRow

# OpenAPI names a component after its module too when another package has a class of the same
# name (merchants_terminal_routes_CardOut): CardOut, MemberOut and Problem keep the module they
# were defined in, so that the published schema does not change.
_ROUTES_MODULE = "merchants.terminal.routes"

EXAMPLE_CODE = "UC1" + "A" * 144
MAX_FEN = 10**12

Fen = Annotated[int, msgspec.Meta(ge=0, le=MAX_FEN, examples=[8800])]
Units = Annotated[int, msgspec.Meta(ge=1, le=10_000, examples=[1])]
QrCode = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=512,
        description="扫码得到的会员卡码原文 / the scanned QR text (UC1…)",
        examples=[EXAMPLE_CODE],
    ),
]


# --- shapes -------------------------------------------------------------------------------


class ScanIn(msgspec.Struct, forbid_unknown_fields=True):
    code: QrCode
    amount_fen: Fen | None = None
    units: Units = 1


class CardOut(msgspec.Struct):
    __module__ = _ROUTES_MODULE

    number_masked: Annotated[str, msgspec.Meta(examples=["**** **** **** 0019"])]
    status: Annotated[str, msgspec.Meta(examples=["active"])]


class MemberOut(msgspec.Struct):
    __module__ = _ROUTES_MODULE

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


class ScanOut(msgspec.Struct):
    scan_id: uuid.UUID
    card: CardOut
    member: MemberOut
    benefits: list[ScanBenefit]
    unavailable: list[Unavailable]


class RedeemIn(msgspec.Struct, forbid_unknown_fields=True):
    code: QrCode
    program_id: uuid.UUID
    amount_fen: Fen
    units: Units = 1


class MaskedCard(msgspec.Struct):
    number_masked: str


class RedemptionOut(msgspec.Struct):
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


class RedemptionPageOut(msgspec.Struct):
    items: list[RedemptionItem]
    next_cursor: str | None


class SettlementLineOut(msgspec.Struct):
    program_id: uuid.UUID | None
    program_code: str
    store_id: uuid.UUID | None
    store_name: str
    redemptions: int
    reversed: int
    count: int
    gross_fen: int
    discount_fen: int
    payable_fen: int
    subsidy_fen: int
    units: int
    reversed_gross_fen: int
    reversed_discount_fen: int
    reversed_subsidy_fen: int


class SettlementOut(msgspec.Struct):
    merchant_id: uuid.UUID
    month: Annotated[str, msgspec.Meta(examples=["2026-03"])]
    time_zone: str
    since: datetime = msgspec.field(name="from")
    until: datetime = msgspec.field(name="to")
    currency: str = "CNY"
    lines: list[SettlementLineOut] = msgspec.field(default_factory=list)
    totals: SettlementLineOut | None = None


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
    return ScanOut(
        scan_id=r.scan_id,
        card=CardOut(mask_card_number(r.card.card_number), "active"),
        member=MemberOut(r.name_masked, r.union_name),
        benefits=benefits,
        unavailable=[Unavailable(pid, code, name, err) for pid, code, name, err in r.unavailable],
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
    )


def reversal_out(r: Reversed) -> ReversalOut:
    red = r.redemption
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
    )


def _line(g: SettlementRow, *, total: bool = False) -> SettlementLineOut:
    return SettlementLineOut(
        program_id=None if total else g.program_id,
        program_code="TOTAL" if total else g.program_code,
        store_id=g.store_id,
        store_name=g.store_name,
        redemptions=g.redemptions,
        reversed=g.reversed,
        count=g.count,
        gross_fen=g.gross_fen,
        discount_fen=g.discount_fen,
        payable_fen=g.payable_fen,
        subsidy_fen=g.subsidy_fen,
        units=g.units,
        reversed_gross_fen=g.reversed_gross_fen,
        reversed_discount_fen=g.reversed_discount_fen,
        reversed_subsidy_fen=g.reversed_subsidy_fen,
    )


def settlement_out(s: Settlement) -> SettlementOut:
    return SettlementOut(
        merchant_id=s.merchant_id,
        month=s.month,
        time_zone=s.time_zone,
        since=s.since,
        until=s.until,
        lines=[_line(g) for g in s.rows],
        totals=_line(s.totals, total=True) if s.totals else None,
    )


# --- OpenAPI: errors with examples ----------------------------------------------------------


class Problem(msgspec.Struct):
    """RFC 9457 problem details (extra members such as ``retry_after`` may follow)."""

    __module__ = _ROUTES_MODULE

    type: str
    title: str
    status: int
    code: str
    detail: str
    message_zh: str
    message_en: str
    instance: str
    request_id: str


_EXAMPLES: dict[str, tuple[int, str, str]] = {
    "unauthorized": (401, "终端密钥无效或已吊销", "Invalid or revoked terminal key"),
    "merchant_suspended": (403, "商户已暂停或终止合作,终端暂不可用", "The merchant is suspended"),
    "rate_limited": (429, "请求过于频繁,请稍后再试", "Too many requests, retry later"),
    "malformed": (422, "会员卡码无法识别", "Not a valid UnionCard token"),
    "signature_invalid": (422, "会员卡码签名无效", "Token signature is invalid"),
    "unknown_key": (422, "会员卡码的签名密钥未知或已停用", "Token signed by an unknown key"),
    "token_expired": (422, "会员卡码已过期,请刷新后重试", "Token has expired, refresh the code"),
    "card_revoked": (403, "会员卡已注销或已补办新卡", "Card revoked or replaced"),
    "card_suspended": (403, "会员卡已挂失或暂停使用", "Card suspended"),
    "member_inactive": (403, "会员状态无效,不能享受普惠", "The membership is not active"),
    "not_eligible": (403, "会员不符合该项目的享受条件", "The member is not eligible"),
    "not_in_scope": (403, "该门店不在项目适用范围内", "This store is not in scope"),
    "static_token_refused": (403, "此处不接受实体卡静态码", "Static codes are not accepted"),
    "quota_exhausted": (409, "本期额度已用完", "The quota for this period is used up"),
    "budget_exhausted": (409, "项目预算已用完", "The programme's budget is spent"),
    "token_replayed": (409, "该二维码已被使用", "This QR code has already been used"),
    "idempotency_conflict": (409, "该 Idempotency-Key 已用于另一笔不同的请求", "Key reused"),
    "program_inactive": (409, "项目未在有效期内或未启用", "The programme is not active"),
    "already_reversed": (409, "该笔核销已撤销", "Already reversed"),
    "reversal_window_closed": (409, "已超过可撤销期限", "The reversal window has passed"),
    "redemption_not_found": (404, "未找到该核销记录", "Redemption not found"),
    "program_not_found": (404, "未找到该普惠项目", "Programme not found"),
    "idempotency_key_required": (400, "缺少 Idempotency-Key 请求头", "Missing Idempotency-Key"),
    "validation_error": (400, "amount_fen:应为整数", "amount_fen: Expected `int`"),
    "invalid_cursor": (400, "分页游标无效", "Invalid page cursor"),
    "invalid_month": (400, "月份格式应为 YYYY-MM", "The month must be YYYY-MM"),
    "below_min_spend": (422, "未达到最低消费金额", "The amount is below the minimum spend"),
}


def problems(*codes: str) -> dict[int, ResponseSpec]:
    """``responses=`` for a handler: one problem-details entry per status, an example per code."""
    by_status: dict[int, list[str]] = {}
    for code in ("unauthorized", "merchant_suspended", "rate_limited", *codes):
        by_status.setdefault(_EXAMPLES[code][0], []).append(code)
    out: dict[int, ResponseSpec] = {}
    for status, names in sorted(by_status.items()):
        out[status] = ResponseSpec(
            data_container=Problem,
            generate_examples=False,
            media_type=PROBLEM_MEDIA_TYPE,
            description="; ".join(f"`{n}`" for n in names),
            examples=[
                Example(
                    id=f"{status}_{n}",
                    summary=n,
                    value={
                        "type": f"urn:unioncard:problem:{n}",
                        "title": _EXAMPLES[n][1],
                        "status": status,
                        "code": n,
                        "detail": _EXAMPLES[n][1],
                        "message_zh": _EXAMPLES[n][1],
                        "message_en": _EXAMPLES[n][2],
                        "instance": "/api/v1/…",
                        "request_id": "3f9c0a7e5b1d2c44",
                    },
                )
                for n in names
            ],
        )
    return out


_TOKEN_CODES = (
    "malformed",
    "signature_invalid",
    "unknown_key",
    "token_expired",
    "card_revoked",
    "card_suspended",
    "member_inactive",
)
SCAN_RESPONSES = problems(*_TOKEN_CODES, "validation_error")
REDEEM_RESPONSES: dict[int, ResponseSpec] = {
    **problems(
        *_TOKEN_CODES,
        "not_eligible",
        "not_in_scope",
        "static_token_refused",
        "quota_exhausted",
        "budget_exhausted",
        "token_replayed",
        "idempotency_conflict",
        "program_inactive",
        "program_not_found",
        "idempotency_key_required",
        "below_min_spend",
    ),
    200: ResponseSpec(
        data_container=RedemptionOut,
        description=(
            "同一 Idempotency-Key 与相同请求的重试:原结果,带 `Idempotent-Replayed: true` / "
            "a retry with the same key and body: the original result, with "
            "`Idempotent-Replayed: true`"
        ),
    ),
}
REVERSAL_RESPONSES: dict[int, ResponseSpec] = {
    **problems(
        "redemption_not_found",
        "already_reversed",
        "reversal_window_closed",
        "idempotency_conflict",
        "idempotency_key_required",
    ),
    200: ResponseSpec(data_container=ReversalOut, description="a retry: the original result"),
}

SCAN_EXAMPLE = {
    "scan_id": "01961a2b-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
    "card": {"number_masked": "**** **** **** 0019", "status": "active"},
    "member": {"name_masked": "张*明", "union_name": "宜昌市西陵区总工会"},
    "benefits": [
        {
            "program_id": "01961a2b-0000-7000-8000-000000000001",
            "program_code": "YC-DINING-10",
            "name": "职工餐饮九折",
            "kind": "percent_off",
            "benefit": {"discount_fen": 880, "payable_fen": 7920, "units": 1, "subsidy_fen": 0},
            "remaining": [
                {
                    "policy": "member_month_count",
                    "period": "month",
                    "left": 3,
                    "metric": "count",
                    "scope": "member",
                    "limit": 4,
                    "period_ends_at": "2026-03-31T16:00:00Z",
                }
            ],
            "rule": {"kind": "percent_off", "basis_points": 1000, "funded_by": "merchant"},
        }
    ],
    "unavailable": [],
}


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
