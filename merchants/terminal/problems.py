"""The terminal API's documented errors: the problem shape, the problem responses with examples
of each route, and the scan's example, for the OpenAPI document."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIType

from cardsvc.kernel.openapi import problem_responses
from merchants.terminal.schemas import RedemptionOut, ReversalOut
from merchants.terminal.settlement import CSV_COLUMNS

_EXAMPLES: dict[str, tuple[int, str, str]] = {
    "unauthorized": (401, "终端密钥无效或已吊销", "Invalid or revoked terminal key"),
    "merchant_suspended": (403, "商户已暂停或终止合作，终端暂不可用", "The merchant is suspended"),
    "rate_limited": (429, "请求过于频繁，请稍后再试", "Too many requests, retry later"),
    "malformed": (422, "会员卡码无法识别", "Not a valid UnionCard token"),
    "signature_invalid": (422, "会员卡码签名无效", "Token signature is invalid"),
    "unknown_key": (422, "会员卡码的签名密钥未知或已停用", "Token signed by an unknown key"),
    "token_expired": (422, "会员卡码已过期，请刷新后重试", "Token has expired, refresh the code"),
    "numeric_code_invalid": (
        422,
        "数字码不正确或已失效，请核对后重新输入，或请会员刷新会员卡页面",
        "The number is wrong or no longer valid",
    ),
    "numeric_code_unavailable": (
        503,
        "数字码暂时无法验证，请扫描会员的二维码",
        "Cannot check numbers",
    ),
    "card_revoked": (403, "会员卡已注销或已补办新卡", "Card revoked or replaced"),
    "card_suspended": (403, "会员卡已挂失或暂停使用", "Card suspended"),
    "member_inactive": (403, "会员状态无效，不能享受普惠", "The membership is not active"),
    "not_eligible": (403, "会员不符合该项目的享受条件", "The member is not eligible"),
    "not_in_scope": (403, "该门店不在项目适用范围内", "This store is not in scope"),
    "static_token_refused": (403, "此处不接受实体卡静态码", "Static codes are not accepted"),
    "quota_exhausted": (409, "本期额度已用完", "The quota for this period is used up"),
    "budget_exhausted": (409, "项目预算已用完", "The programme's budget is spent"),
    "token_replayed": (409, "该二维码已被使用", "This QR code has already been used"),
    "idempotency_conflict": (409, "该 Idempotency-Key 已用于另一笔不同的请求", "Key reused"),
    "program_inactive": (409, "项目未在有效期内或未启用", "The programme is not active"),
    "stacking_conflict": (409, "这些项目不能叠加使用", "These programmes cannot be combined"),
    "bill_stacking_conflict": (
        409,
        "该账单已核销的项目不能与本项目叠加使用",
        "A programme already on this bill cannot be combined with this one",
    ),
    "already_reversed": (409, "该笔核销已撤销", "Already reversed"),
    "reversal_window_closed": (409, "已超过可撤销期限", "The reversal window has passed"),
    "redemption_not_found": (404, "未找到该核销记录", "Redemption not found"),
    "program_not_found": (404, "未找到该普惠项目", "Programme not found"),
    "idempotency_key_required": (400, "缺少 Idempotency-Key 请求头", "Missing Idempotency-Key"),
    "idempotency_key_invalid": (400, "Idempotency-Key 应为 1–128 个可见 ASCII 字符", "Bad key"),
    "validation_error": (400, "amount_fen：应为整数", "amount_fen: Expected `int`"),
    "invalid_cursor": (400, "分页游标无效", "Invalid page cursor"),
    "invalid_month": (400, "月份格式应为 YYYY-MM", "The month must be YYYY-MM"),
    "below_min_spend": (422, "未达到最低消费金额", "The amount is below the minimum spend"),
    "voucher_not_found": (404, "未找到该会员的这张消费券", "This member has no such voucher"),
    "voucher_not_usable_here": (403, "该消费券不能在本店使用", "Not usable at this store"),
    "voucher_already_used": (409, "该消费券已使用", "This voucher has already been used"),
    "voucher_expired": (409, "该消费券已过期", "This voucher has expired"),
    "voucher_use_not_found": (404, "未找到该笔消费券核销", "Voucher redemption not found"),
}


def problems(*codes: str) -> dict[int, ResponseSpec]:
    """``responses=`` for a terminal handler: its errors and those of every terminal request
    (key, merchant, rate limit), one problem-details response per status."""
    return problem_responses(
        _EXAMPLES, "unauthorized", "merchant_suspended", "rate_limited", *codes
    )


# Every request that presents a member's code may be refused with these.
TOKEN_CODES = (
    "malformed",
    "signature_invalid",
    "unknown_key",
    "token_expired",
    "card_revoked",
    "card_suspended",
    "member_inactive",
    "numeric_code_invalid",
    "numeric_code_unavailable",
)
SCAN_RESPONSES = problems(*TOKEN_CODES, "token_replayed", "validation_error")
REDEEM_RESPONSES: dict[int, ResponseSpec] = {
    **problems(
        *TOKEN_CODES,
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
        "idempotency_key_invalid",
        "below_min_spend",
        "stacking_conflict",
        "bill_stacking_conflict",
        "validation_error",
    ),
    200: ResponseSpec(
        data_container=RedemptionOut,
        description=(
            "同一 Idempotency-Key 与相同请求的重试：原结果，带 `Idempotent-Replayed: true` / "
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
        "idempotency_key_invalid",
    ),
    200: ResponseSpec(data_container=ReversalOut, description="a retry: the original result"),
}

SETTLEMENT_RESPONSES = problems("invalid_month")

_CSV_EXAMPLE = (
    ",".join(CSV_COLUMNS)
    + "\r\n01961a2b-0000-7000-8000-000000000001,YC-DINING-10,,解放路店,"
    + ",".join(["1"] * (len(CSV_COLUMNS) - 4))
    + "\r\n"
)


@dataclass
class SettlementOperation(Operation):
    """The settlement's 200 is JSON or, with ``Accept: text/csv``, the same lines as CSV: one
    status, two media types, which a response spec cannot say."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content["text/csv"] = OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, description="UTF-8 CSV, amounts in fen"),
                example=_CSV_EXAMPLE,
            )
            ok.headers = {
                **(ok.headers or {}),
                "Content-Disposition": OpenAPIHeader(
                    schema=Schema(type=OpenAPIType.STRING),
                    description="with the CSV: attachment; filename=…",
                    required=False,
                ),
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
    "vouchers": [
        {
            "voucher_id": "01961a2d-0000-7000-8000-000000000007",
            "campaign_id": "01961a2d-0000-7000-8000-000000000003",
            "campaign_code": "YC-SPRING",
            "name": "春季餐饮消费券",
            "kind": "amount_off",
            "off_fen": 1000,
            "basis_points": None,
            "cap_fen": None,
            "min_spend_fen": 5000,
            "funded_by": "federation",
            "expires_at": "2026-03-22T16:00:00Z",
            "discount_fen": 1000,
            "payable_fen": 7800,
            "code": None,
        }
    ],
}
