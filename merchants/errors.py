"""Errors of the merchant API, each with a stable ``code`` (rendered as problem details)."""

from __future__ import annotations

from cardsvc.kernel.errors import AppError, NotFound


class TerminalUnauthorized(AppError):
    status = 401
    code = "unauthorized"
    message_zh = "终端密钥缺失、格式错误或已吊销"
    message_en = "Missing, malformed or revoked terminal key"

    def __init__(self, message_zh: str | None = None, message_en: str | None = None) -> None:
        # RFC 6750: a 401 for a bearer token names the scheme.
        super().__init__(
            message_zh=message_zh,
            message_en=message_en,
            headers={"WWW-Authenticate": 'Bearer realm="unioncard-terminal"'},
        )


class MerchantSuspended(AppError):
    status = 403
    code = "merchant_suspended"
    message_zh = "商户已暂停或终止合作，终端暂不可用"
    message_en = "The merchant is suspended or terminated; its terminals cannot be used"


class RateLimited(AppError):
    status = 429
    code = "rate_limited"
    message_zh = "请求过于频繁，请稍后再试"
    message_en = "Too many requests, retry later"

    def __init__(self, retry_after: int, limit: int) -> None:
        super().__init__(
            headers={"Retry-After": str(retry_after)}, retry_after=retry_after, limit=limit
        )


class MerchantNotFound(NotFound):
    code = "merchant_not_found"
    message_zh = "未找到该商户"
    message_en = "Merchant not found"


class StoreNotFound(NotFound):
    code = "store_not_found"
    message_zh = "未找到该门店"
    message_en = "Store not found"


class TerminalNotFound(NotFound):
    code = "terminal_not_found"
    message_zh = "未找到该终端"
    message_en = "Terminal not found"


class KeyNotFound(NotFound):
    code = "terminal_key_not_found"
    message_zh = "未找到该终端密钥"
    message_en = "Terminal key not found"
