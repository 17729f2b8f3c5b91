"""Retention: delete personal data past its keeping period, in small batches.

What is purged (periods in settings, see docs/privacy.md): the merchants' scan log, join
applications that never became a membership, notifications, finished background jobs,
attachment files no row refers to any more, and one-time sign-in codes. Codes live only in
the key-value store with a TTL (``UNIONCARD_OTP_TTL_SECONDS``): Redis expires them itself and
the purge only removes any that lost their TTL; the in-process store is swept.

``run_retention`` runs every purge once (``unioncard privacy purge``); the ``privacy.retention``
job does the same from the job runner, enqueued every ``UNIONCARD_RETENTION_INTERVAL_HOURS``
by the schedule (``cardsvc/jobs/schedule.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.kv import KV, KVUnavailable, MemoryKV, RedisKV
from cardsvc.kernel.settings import Settings
from cardsvc.privacy.parts import PrivacyParts, all_parts

logger = logging.getLogger("unioncard.privacy")

RETENTION_JOB = "privacy.retention"
BATCH = 1000
# Keys of one-time codes and their per-phone counters (cardsvc/memberauth/otp.py).
_OTP_PATTERNS = ("otp:*", "rl:{otp-*")


async def purge_otp(kv: KV | None) -> int:
    """Sign-in codes past their TTL: sweep the in-process store; on Redis, delete any code
    key without an expiry (Redis removes expired ones by itself)."""
    if isinstance(kv, MemoryKV):
        return await kv.sweep_expired()
    if not isinstance(kv, RedisKV):
        return 0
    removed = 0
    try:
        for pattern in _OTP_PATTERNS:
            async for key in kv.redis.scan_iter(match=kv.prefix + pattern, count=500):
                if await kv.redis.ttl(key) == -1:
                    removed += int(await kv.redis.delete(key))
    except Exception as exc:  # Redis down: the next run catches up
        raise KVUnavailable(str(exc)) from exc
    return removed


async def run_retention(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    kv: KV | None = None,
    parts: PrivacyParts | None = None,
    now: datetime | None = None,
    batch: int = BATCH,
    on_batch: Callable[[str, int], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """Every purge until nothing is left; one transaction per batch. Returns counts."""
    parts = parts or all_parts()
    now = now or utc_now()
    out: dict[str, Any] = {}
    for name, purge in {**parts.purges, **parts.file_sweeps}.items():
        total = 0
        while True:
            async with sessionmaker() as session, session.begin():
                n = await purge(session, now, settings, batch)
            total += n
            if on_batch is not None and n:
                await on_batch(name, total)
            if n < batch:
                break
        out[name] = total
    try:
        out["otp_codes"] = await purge_otp(kv)
    except KVUnavailable as exc:
        logger.warning("retention: key-value store unavailable, codes not swept: %s", exc)
        out["otp_codes"] = None
    out["at"] = now.isoformat(timespec="seconds")
    logger.info("retention purge: %s", out)
    return out


async def run_retention_job(ctx: Any) -> dict[str, Any]:
    """Job handler (``privacy.retention``): progress is the number of rows deleted so far."""
    done: dict[str, int] = {}

    async def _progress(name: str, total: int) -> None:
        done[name] = total
        await ctx.progress(phase=name, rows_done=sum(done.values()))

    return await run_retention(
        ctx.sessionmaker, ctx.settings, kv=ctx.services.get("kv"), on_batch=_progress
    )
