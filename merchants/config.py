"""Merchant API settings, read from the app's ``Settings`` with defaults until it has them.

The fields of ``cardsvc.kernel.settings.Settings`` it reads (env ``UNIONCARD_<NAME>``):

| Settings field | env | default | meaning |
|---|---|---|---|
| ``terminal_rate_limit_per_minute`` | ``TERMINAL_RATE_LIMIT_PER_MINUTE`` | 600 | per key, sliding minute; 0 = off |
| ``terminal_auth_cache_seconds`` | ``TERMINAL_AUTH_CACHE_SECONDS`` | 5 | how long a worker trusts a key lookup; a revocation takes effect within it |
| ``terminal_key_rotation_grace_seconds`` | ``TERMINAL_KEY_ROTATION_GRACE_SECONDS`` | 0 | default time the old key keeps working after a rotation |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RATE_LIMIT_PER_MINUTE = 600
AUTH_CACHE_SECONDS = 5.0
ROTATION_GRACE_SECONDS = 0
MAX_ROTATION_GRACE_SECONDS = 7 * 24 * 3600
# last_used_at is written at most this often per key, so authentication stays read-only.
LAST_USED_RESOLUTION_SECONDS = 60


@dataclass(frozen=True, slots=True)
class MerchantConfig:
    rate_limit_per_minute: int = RATE_LIMIT_PER_MINUTE
    auth_cache_seconds: float = AUTH_CACHE_SECONDS
    rotation_grace_seconds: int = ROTATION_GRACE_SECONDS

    @classmethod
    def from_settings(cls, settings: Any) -> MerchantConfig:
        return cls(
            rate_limit_per_minute=int(
                getattr(settings, "terminal_rate_limit_per_minute", RATE_LIMIT_PER_MINUTE)
            ),
            auth_cache_seconds=float(
                getattr(settings, "terminal_auth_cache_seconds", AUTH_CACHE_SECONDS)
            ),
            rotation_grace_seconds=int(
                getattr(settings, "terminal_key_rotation_grace_seconds", ROTATION_GRACE_SECONDS)
            ),
        )
