"""Phone sign-in with one-time codes: short-lived, single-use, hashed, rate-limited."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from cardsvc.kernel.errors import AppError, Unauthorized
from cardsvc.kernel.kv import KV
from cardsvc.kernel.ratelimit import RateLimiter
from cardsvc.memberauth.senders import Sender


class OtpRateLimited(AppError):
    status = 429
    code = "rate_limited"
    message_zh = "验证码发送过于频繁，请稍后再试"
    message_en = "Too many codes requested; retry later"


@dataclass(frozen=True, slots=True)
class OtpPolicy:
    ttl: int = 300
    length: int = 6
    max_attempts: int = 5
    resend_after: int = 60
    per_phone_hour: int = 5
    per_ip_hour: int = 30


def _digest(secret: bytes, phone_hash: str, code: str) -> str:
    return hmac.new(secret, f"{phone_hash}:{code}".encode(), hashlib.sha256).hexdigest()


async def request_code(
    kv: KV,
    limiter: RateLimiter,
    sender: Sender,
    *,
    secret: bytes,
    phone: str,
    phone_hash: str,
    ip: str | None,
    policy: OtpPolicy,
) -> None:
    for key, limit, window in (
        (f"otp-resend:{phone_hash}", 1, policy.resend_after),
        (f"otp-phone:{phone_hash}", policy.per_phone_hour, 3600),
        (f"otp-ip:{ip or '-'}", policy.per_ip_hour, 3600),
    ):
        if not (d := await limiter.hit(key, limit, window)).allowed:
            wait = d.retry_after
            raise OtpRateLimited(headers={"Retry-After": str(wait)}, retry_after=wait)
    code = "".join(secrets.choice("0123456789") for _ in range(policy.length))
    record = {"h": _digest(secret, phone_hash, code)}
    await kv.set(f"otp:{{{phone_hash}}}", json.dumps(record).encode(), policy.ttl)
    minutes = max(1, policy.ttl // 60)
    await sender.send(phone, f"【工会会员卡】验证码 {code}，{minutes} 分钟内有效，请勿告诉他人。")


async def verify_code(
    kv: KV,
    limiter: RateLimiter,
    *,
    secret: bytes,
    phone_hash: str,
    code: str,
    policy: OtpPolicy,
) -> None:
    """Raise unless ``code`` is the live code for the phone; a correct code is consumed."""
    wrong = Unauthorized("otp_invalid", "验证码错误或已过期", "Wrong or expired code")
    tried = await limiter.hit(f"otp-try:{phone_hash}", policy.max_attempts, policy.ttl)
    if not tried.allowed:
        wait = tried.retry_after
        # Too many guesses: the live code is void; the member must request a new one.
        await kv.delete(f"otp:{{{phone_hash}}}")
        raise OtpRateLimited(
            "otp_attempts_exceeded",
            "验证码尝试次数过多，请重新获取验证码",
            "Too many attempts; request a new code",
            headers={"Retry-After": str(wait)},
        )
    key = f"otp:{{{phone_hash}}}"
    raw = await kv.get(key)
    if raw is None or not code.isdigit() or len(code) != policy.length:
        raise wrong
    expected = json.loads(raw)["h"]
    if not hmac.compare_digest(expected, _digest(secret, phone_hash, code)):
        raise wrong
    # Single use: only the caller that deletes the code wins a concurrent double submit.
    if await kv.getdel(key) is None:
        raise wrong
    await kv.delete(f"rl:{{otp-try:{phone_hash}}}")
