"""Staff sign-in throttling: growing delays per account and per address, no lock-out.

Every attempt is counted, before the account is looked up, under three keys: the account from
this address, the address, and the account from anywhere. Each has tiers of (attempts, window)
with longer windows for more attempts (5 a minute, 10 in 15 minutes, 20 a day by default), so
delays grow the longer guessing goes on. The answer, 429 with ``Retry-After``, depends only on
the name typed and the address: it is the same for an account that exists and one that does
not, and nobody can lock another person's account from their own address (the account-wide
tier is set above what one address may try in a day).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cardsvc.kernel.errors import AppError
from cardsvc.kernel.ratelimit import RateLimiter
from cardsvc.kernel.settings import Settings

Tiers = Sequence[tuple[int, int]]


class SignInThrottled(AppError):
    status = 429
    code = "rate_limited"
    message_zh = "登录尝试过于频繁，请稍后再试"
    message_en = "Too many sign-in attempts; retry later"


@dataclass(frozen=True, slots=True)
class SignInLimits:
    pair: Tiers = ()  # one account from one address
    address: Tiers = ()  # any account from one address
    account: Tiers = ()  # one account from any address


def _account_key(username: str) -> str:
    # Hashed: the typed name may be long or hold characters that do not belong in a key.
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


async def throttle_sign_in(
    limiter: RateLimiter, limits: SignInLimits, *, username: str, ip: str | None
) -> None:
    """Count one attempt; raise :class:`SignInThrottled` if any tier is over its limit."""
    account, address = _account_key(username), ip or "-"
    groups = (
        (f"staff-login-pair:{account}:{address}", limits.pair),
        (f"staff-login-ip:{address}", limits.address),
        (f"staff-login-acct:{account}", limits.account),
    )
    # Every tier is asked, so the wait is that of the longest one over its limit; an attempt
    # refused by a short tier still counts in the longer ones (guessing on makes it longer).
    wait = 0
    for key, tiers in groups:
        for limit, window in tiers:
            decision = await limiter.hit(key, limit, window)
            if not decision.allowed:
                wait = max(wait, decision.retry_after)
    if wait:
        raise SignInThrottled(headers={"Retry-After": str(wait)}, retry_after=wait)


def limits_from(settings: Settings) -> SignInLimits:
    """The throttle as configured (``UNIONCARD_LOGIN_*_LIMITS``)."""
    return SignInLimits(
        pair=settings.login_pair_limits,
        address=settings.login_address_limits,
        account=settings.login_account_limits,
    )
