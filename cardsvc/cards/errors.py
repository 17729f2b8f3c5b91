"""Errors of the card service, each with a stable ``code`` and a Chinese and an English message.

:class:`TokenError` is the only exception the token codec raises for bad input; its codes are
part of the token format (docs/token-format.md). :class:`CardError` covers card state, keys and
the published verification material.
"""

from __future__ import annotations

from typing import Any, ClassVar

from cardsvc.kernel.errors import AppError

# code → (status, message_zh, message_en). Token errors are 422, not 401: the request (and the
# terminal's API key) is fine, the scanned code is not.
TOKEN_ERRORS: dict[str, tuple[int, str, str]] = {
    "malformed": (422, "会员卡码无法识别", "Not a valid UnionCard token"),
    "unsupported_version": (422, "不支持的会员卡码版本", "Unsupported token format version"),
    "unknown_key": (
        422,
        "会员卡码的签名密钥未知或已停用",
        "Token signed by an unknown or retired key",
    ),
    "signature_invalid": (422, "会员卡码签名无效", "Token signature is invalid"),
    "token_expired": (422, "会员卡码已过期，请刷新后重试", "Token has expired, refresh the code"),
    "not_yet_valid": (
        422,
        "会员卡码尚未生效，请检查设备时间",
        "Token is not yet valid, check the device clock",
    ),
}

CARD_ERRORS: dict[str, tuple[int, str, str]] = {
    "card_revoked": (403, "会员卡已注销或已补办新卡", "Card revoked or replaced by a newer card"),
    "card_suspended": (403, "会员卡已挂失或暂停使用", "Card suspended"),
    "card_not_found": (404, "未找到会员卡", "Card not found"),
    "card_exists": (409, "该会员已有有效会员卡", "The member already has a current card"),
    "card_state_conflict": (409, "会员卡当前状态不允许此操作", "Not allowed in the card's state"),
    "member_not_found": (404, "未找到会员", "Member not found"),
    "member_inactive": (403, "会员状态无效，不能发卡", "Member is not active"),
    "static_token_refused": (
        403,
        "此处不接受实体卡静态码，请出示手机动态码",
        "Static (printed) codes are not accepted here, show the rotating code",
    ),
    "no_signing_key": (503, "没有可用的签名密钥", "No active signing key"),
    "key_not_found": (404, "未找到签名密钥", "Signing key not found"),
    "key_active": (
        409,
        "不能停用当前签名密钥，请先轮换",
        "The active signing key cannot be retired; rotate first",
    ),
    "key_retired": (409, "签名密钥已停用", "Signing key already retired"),
    "jwks_invalid": (400, "公钥集格式无效", "Invalid JWKS"),
    "status_list_invalid": (400, "吊销列表无效或签名错误", "Invalid or badly signed status list"),
    "status_list_expired": (
        400,
        "吊销列表已过期，请联网更新",
        "Status list has expired, refresh it",
    ),
    "qr_unreadable": (422, "图片中未识别到二维码", "No QR code found in the image"),
    "cjk_font_missing": (
        500,
        "缺少中文字体，无法生成卡面",
        "No CJK font available to render the card",
    ),
}


class _CodedError(AppError):
    table: ClassVar[dict[str, tuple[int, str, str]]] = {}

    def __init__(self, code: str, message_en: str | None = None, **extra: Any) -> None:
        status, zh, en = self.table[code]
        super().__init__(code, zh, message_en or en, status=status, **extra)


class TokenError(_CodedError):
    """The one error of the token codec; ``code`` is one of :data:`TOKEN_ERRORS`."""

    table = TOKEN_ERRORS


class CardError(_CodedError):
    """Card state, keys, JWKS and status-list errors; ``code`` is one of :data:`CARD_ERRORS`."""

    table = CARD_ERRORS
