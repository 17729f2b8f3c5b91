"""Key-value stores: Redis in production, in-process in the embedded mode.

Litestar's ``Store`` interface (get/set/delete with expiry) serves sessions, rate limits and
one-time nonces, so the callers do not care which one runs underneath.
"""

from __future__ import annotations

from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry
from redis.asyncio import Redis

from cardsvc.settings import Settings

STORE_NAMES = ("sessions", "ratelimit", "nonces", "otp")


def make_redis(settings: Settings) -> Redis | None:
    if not settings.redis_url:
        return None
    return Redis.from_url(
        settings.redis_url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
    )


def make_store_registry(redis: Redis | None) -> StoreRegistry:
    if redis is None:
        memory = {name: MemoryStore() for name in STORE_NAMES}
        return StoreRegistry(default_factory=lambda name: memory.get(name) or MemoryStore())
    root = RedisStore(redis, namespace="unioncard", handle_client_shutdown=False)
    return StoreRegistry(default_factory=lambda name: root.with_namespace(name))


def store(registry: StoreRegistry, name: str) -> Store:
    return registry.get(name)
