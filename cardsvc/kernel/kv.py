"""Short-lived keys with atomic operations: Redis in production, in-process when embedded.

Litestar's ``Store`` has no atomic increment, set-if-absent or get-and-delete, which rate
limits, one-time codes and burned QR token ids need. Redis keys are hash-tagged by the part
in braces so that a Redis Cluster keeps related keys on one slot.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

# What "Redis is down" looks like: a cluster client that reaches no node raises
# RedisClusterException, which is not a RedisError.
REDIS_ERRORS = (RedisError, RedisClusterException, OSError)


class KVUnavailable(Exception):
    """Redis did not answer; callers degrade (documented per use) rather than fail."""


class MemoryKV:
    """One process's keys; fine for the embedded single-process mode and as a fallback."""

    def __init__(self, max_keys: int = 200_000) -> None:
        self._data: dict[str, tuple[float, bytes | int]] = {}
        self._max = max_keys
        self._lock = asyncio.Lock()

    def _live(self, key: str, now: float) -> bytes | int | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[0] <= now:
            del self._data[key]
            return None
        return item[1]

    def _sweep(self, now: float) -> None:
        if len(self._data) > self._max:
            for k in [k for k, (exp, _) in self._data.items() if exp <= now]:
                del self._data[k]

    async def incr(self, key: str, window: int) -> tuple[int, int]:
        now = time.monotonic()
        async with self._lock:
            self._sweep(now)
            current = self._live(key, now)
            if current is None:
                self._data[key] = (now + window, 1)
                return 1, window
            exp = self._data[key][0]
            count = int(current) + 1
            self._data[key] = (exp, count)
            return count, max(1, int(exp - now + 0.999))

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        self._data[key] = (time.monotonic() + ttl, value)

    async def set_nx(self, key: str, value: bytes, ttl: int) -> bool:
        now = time.monotonic()
        async with self._lock:
            self._sweep(now)
            if self._live(key, now) is not None:
                return False
            self._data[key] = (now + ttl, value)
            return True

    async def get(self, key: str) -> bytes | None:
        value = self._live(key, time.monotonic())
        return value if isinstance(value, bytes) else None

    async def getdel(self, key: str) -> bytes | None:
        async with self._lock:
            value = self._live(key, time.monotonic())
            self._data.pop(key, None)
        return value if isinstance(value, bytes) else None

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def sweep_expired(self) -> int:
        """Drop every expired key now (retention job), not only when the store is full."""
        now = time.monotonic()
        async with self._lock:
            dead = [k for k, (exp, _) in self._data.items() if exp <= now]
            for k in dead:
                del self._data[k]
        return len(dead)


@dataclass
class RedisKV:
    redis: Redis | RedisCluster
    prefix: str = "uc:"

    async def incr(self, key: str, window: int) -> tuple[int, int]:
        k = self.prefix + key
        try:
            # Not MULTI/EXEC: one key, and EXPIRE NX makes the order of concurrent callers
            # irrelevant; a plain pipeline also works on every Redis Cluster client.
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.incr(k)
                pipe.expire(k, window, nx=True)
                pipe.ttl(k)
                count, _, ttl = await pipe.execute()
        except REDIS_ERRORS as exc:
            raise KVUnavailable(str(exc)) from exc
        return int(count), max(1, int(ttl))

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        try:
            await self.redis.set(self.prefix + key, value, ex=ttl)
        except REDIS_ERRORS as exc:
            raise KVUnavailable(str(exc)) from exc

    async def set_nx(self, key: str, value: bytes, ttl: int) -> bool:
        try:
            return bool(await self.redis.set(self.prefix + key, value, ex=ttl, nx=True))
        except REDIS_ERRORS as exc:
            raise KVUnavailable(str(exc)) from exc

    async def get(self, key: str) -> bytes | None:
        try:
            # The client decodes nothing (no decode_responses): values are bytes.
            return cast("bytes | None", await self.redis.get(self.prefix + key))
        except REDIS_ERRORS as exc:
            raise KVUnavailable(str(exc)) from exc

    async def getdel(self, key: str) -> bytes | None:
        try:
            return cast("bytes | None", await self.redis.getdel(self.prefix + key))
        except REDIS_ERRORS as exc:
            raise KVUnavailable(str(exc)) from exc

    async def delete(self, key: str) -> None:
        try:
            await self.redis.delete(self.prefix + key)
        except REDIS_ERRORS as exc:
            raise KVUnavailable(str(exc)) from exc


KV = MemoryKV | RedisKV


def make_kv(redis: Redis | RedisCluster | None) -> KV:
    return RedisKV(redis) if redis is not None else MemoryKV()
