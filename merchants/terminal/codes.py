"""What a terminal may send as ``code`` besides the QR token: the member's numeric one-time
code (18 digits, cardsvc's ``numeric_codes``), and whether a rotating code was already used.

A number is looked up in the key store and replaced by the QR token it stands for; everything
after that (signature, expiry, card state, single use) is the token's. Look-ups are limited per
terminal so that numbers cannot be guessed (docs/token-format.md §9 has the arithmetic).
"""

from __future__ import annotations

import asyncio

from cardsvc.kernel.errors import AppError
from cardsvc.kernel.kv import KVUnavailable
from cardsvc.kernel.stores import REDIS_TIMEOUT_SECONDS
from cardsvc.public import VerifiedCard, numeric_codes
from merchants.errors import RateLimited
from merchants.terminal.auth import TerminalContext
from merchants.terminal.wiring import RedeemServices

# Numeric look-ups per terminal and minute (a scan and its redemption are two).
NUMERIC_PER_MINUTE = 20


class NumericCodeInvalid(AppError):
    status = 422
    code = "numeric_code_invalid"
    message_zh = "数字码不正确或已失效，请核对后重新输入，或请会员刷新会员卡页面"
    message_en = "The number is wrong or no longer valid; check it, or ask the member to refresh"


class NumericCodeUnavailable(AppError):
    status = 503
    code = "numeric_code_unavailable"
    message_zh = "数字码暂时无法验证，请扫描会员的二维码"
    message_en = "Numbers cannot be checked right now; scan the member's QR code"


def burned_key(token_id: str) -> str:
    """The key store's mark of a used rotating token (set by the redemption's burn)."""
    return f"tok:{{{token_id}}}"


async def resolve_code(services: RedeemServices, terminal: TerminalContext, code: str) -> str:
    """``code`` itself, or for a numeric code the QR token it stands for."""
    if not numeric_codes.looks_numeric(code):
        return code
    d = await services.limiter.hit(f"numeric:{terminal.terminal_id}", NUMERIC_PER_MINUTE)
    if not d.allowed:
        raise RateLimited(d.retry_after, d.limit)
    try:
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            text = await numeric_codes.resolve(services.kv, code)
    except (KVUnavailable, TimeoutError):
        raise NumericCodeUnavailable() from None
    if text is None:
        raise NumericCodeInvalid()
    return text


async def already_used(services: RedeemServices, card: VerifiedCard) -> bool:
    """A rotating code burned by a redemption (for the scan to say so before 核销). False if
    the store does not answer: the redemption still refuses a replay."""
    if card.kind.name == "static":
        return False
    try:
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            return await services.kv.get(burned_key(card.token_id)) is not None
    except (KVUnavailable, TimeoutError):
        return False
