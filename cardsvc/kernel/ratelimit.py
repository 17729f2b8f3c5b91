"""The one rate limiter: a sliding-window counter per key in Redis, or in-process when embedded.

Terminal keys (per minute), sign-in codes (per phone and address, per hour) and printed cards
(per hour) are all limited here. The estimate is ``previous window × (share of it still inside
the sliding window) + this window`` — two counters per key instead of a log of timestamps, and
no burst of 2× the limit across a window boundary as with a fixed window.

Redis: one pipeline per hit (``INCR`` + ``EXPIRE`` on this window's counter, ``GET`` of the
previous one); the keys ``unioncard:{rl:<key>}:<window>:<index>`` share a hash tag, so on
Redis Cluster both live in one slot. A refused hit is not counted (``DECR``), so a client that
waits ``Retry-After`` gets through.

If Redis fails or is slow, the limiter logs it and counts in-process for a few seconds before
trying Redis again: requests are never failed because of the limiter. While degraded, each
worker enforces the limit on its own (so the effective limit is multiplied by the workers).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisClusterException, RedisError

from cardsvc.kernel.stores import REDIS_RETRY_SECONDS, REDIS_TIMEOUT_SECONDS

WINDOW_SECONDS = 60
logger = logging.getLogger("unioncard.ratelimit")


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # whole seconds to wait; 0 when allowed
    backend: str  # "redis", "memory" or "off"


def decide(
    *,
    prev: int,
    curr: int,
    elapsed: float,
    limit: int,
    backend: str,
    window: float = WINDOW_SECONDS,
) -> Decision:
    """``curr`` includes this request; ``elapsed`` is how far into this window we are."""
    weight = (window - elapsed) / window
    estimate = prev * weight + curr
    if estimate <= limit:
        return Decision(True, limit, max(0, math.floor(limit - estimate)), 0, backend)
    before = curr - 1  # this request will not be counted
    if before + 1 <= limit and prev > 0:
        # Within this window, once enough of the previous minute has slid out.
        wait = (window - elapsed) - (limit - before - 1) * window / prev
    else:
        # This minute alone is full: wait for the next one, where it becomes "previous".
        spill = window * (1 - (limit - 1) / before) if before > 0 else 0.0
        wait = (window - elapsed) + max(0.0, spill)
    return Decision(False, limit, 0, max(1, math.ceil(wait)), backend)


class MemoryCounter:
    """Two counters per key in a dict; enough for one embedded process."""

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        # (key, window length) -> [window index, count, previous count]
        self._counts: dict[tuple[str, int], list[int]] = {}

    def hit(self, key: str, now: float, limit: int, window: int = WINDOW_SECONDS) -> Decision:
        index = int(now // window)
        slot = self._counts.get((key, window))
        if slot is None:
            if len(self._counts) >= self.MAX_KEYS:
                self._prune(now)
            slot = self._counts[(key, window)] = [index, 0, 0]
        if slot[0] != index:
            prev = slot[1] if slot[0] == index - 1 else 0
            slot[:] = [index, 0, prev]
        slot[1] += 1
        d = decide(
            prev=slot[2],
            curr=slot[1],
            elapsed=now - index * window,
            limit=limit,
            backend="memory",
            window=window,
        )
        if not d.allowed:
            slot[1] -= 1
        return d

    def _prune(self, now: float) -> None:
        """Forget keys whose counts no longer matter (both windows over)."""
        for k in [k for k, v in self._counts.items() if v[0] < int(now // k[1]) - 1]:
            del self._counts[k]


class RateLimiter:
    """``hit(key, limit, window)``: count one request for ``key``; a limit or window of 0 turns
    it off."""

    def __init__(
        self,
        redis: Any | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._clock = clock
        self._memory = MemoryCounter()
        self._redis_down_until = 0.0
        self._degraded = False

    @property
    def degraded(self) -> bool:
        """True while Redis is configured but the in-process counter stands in for it."""
        return self._degraded

    async def hit(self, key: str, limit: int, window: int = WINDOW_SECONDS) -> Decision:
        if limit <= 0 or window <= 0:  # a limit or a window of 0 turns the limit off
            return Decision(True, 0, 0, 0, "off")
        now = self._clock()
        if self._redis is not None and now >= self._redis_down_until:
            try:
                d = await self._redis_hit(self._redis, key, now, limit, window)
            except (RedisError, RedisClusterException, OSError, TimeoutError) as exc:
                self._redis_down_until = now + REDIS_RETRY_SECONDS
                if not self._degraded:
                    logger.warning(
                        "rate limiter: Redis unavailable (%s: %s); limiting in-process",
                        type(exc).__name__,
                        exc,
                    )
                self._degraded = True
            else:
                if self._degraded:
                    logger.warning("rate limiter: Redis is back; limiting in Redis again")
                    self._degraded = False
                return d
        return self._memory.hit(key, now, limit, window)

    async def _redis_hit(
        self, redis: Any, key: str, now: float, limit: int, window: int
    ) -> Decision:
        index = int(now // window)
        base = f"unioncard:{{rl:{key}}}:{window}:"
        cur, prev = f"{base}{index}", f"{base}{index - 1}"
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            pipe = redis.pipeline(transaction=False)
            pipe.incr(cur)
            pipe.expire(cur, 2 * window + 1)
            pipe.get(prev)
            count, _, previous = await pipe.execute()
        d = decide(
            prev=int(previous or 0),
            curr=int(count),
            elapsed=now - index * window,
            limit=limit,
            backend="redis",
            window=window,
        )
        if not d.allowed:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                await redis.decr(cur)
        return d
