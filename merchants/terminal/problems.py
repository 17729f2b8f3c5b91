"""The terminal API's documented errors: the problem shape, the problem responses with examples
of each route, and the scan's example, for the OpenAPI document."""

# No ``from __future__ import annotations``: Problem names another module (below), and string
# annotations would be resolved there.

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from cardsvc.kernel.errors import PROBLEM_MEDIA_TYPE
from merchants.terminal.schemas import (
    _ROUTES_MODULE,
    RedemptionOut,
    ReversalOut,
)


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
        "stacking_conflict",
        "bill_stacking_conflict",
        "validation_error",
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
