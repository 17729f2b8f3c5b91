"""Key-value stores: Redis in production, in-process in the embedded mode.

Litestar's ``Store`` interface (get/set/delete with expiry) serves sessions, rate limits and
one-time nonces, so the callers do not care which one runs underneath.

``UNIONCARD_REDIS_URL`` selects the Redis:

* ``redis://[user:password@]host:port/db`` (``rediss://`` for TLS): one server (or a proxy);
* ``redis+cluster://[user:password@]host:port[,host:port…]`` (``rediss+cluster://`` for TLS):
  a Redis Cluster, reached through any of the listed nodes (the client discovers the rest and
  follows slot moves and fail-overs). A cluster has only database 0, so no ``/db``.

Everything the app does with Redis works on a cluster: each operation touches one key, and the
keys used together (a rate limit's minute counters) share a hash tag (``{…}``), so no command
or pipeline spans two slots; nothing uses SELECT, KEYS or multi-key commands.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster

from cardsvc.kernel.settings import Settings, SettingsError

# Hot-path Redis calls (rate limits, token burns) slower than this count as Redis being down:
# they must not stall a redemption. After a failure, the caller works without Redis this long.
REDIS_TIMEOUT_SECONDS = 0.5
REDIS_RETRY_SECONDS = 5.0

STORE_NAMES = ("sessions", "ratelimit", "nonces", "otp")


CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}  # scheme -> TLS


def is_cluster_url(url: str) -> bool:
    return url.partition("://")[0].lower() in CLUSTER_SCHEMES


def cluster_options(url: str) -> dict[str, Any]:
    """``redis+cluster://[user:password@]host:port[,host:port…]`` → RedisCluster arguments."""
    scheme, _, rest = url.partition("://")
    netloc, _, path = rest.partition("/")
    if path.split("?")[0] not in ("", "0"):
        raise SettingsError(
            "UNIONCARD_REDIS_URL: a Redis Cluster has only database 0; drop the /db part"
        )
    userinfo, _, hosts = netloc.rpartition("@")
    nodes: list[ClusterNode] = []
    for part in hosts.split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit():
            raise SettingsError(
                f"UNIONCARD_REDIS_URL: cluster nodes are host:port[,host:port…], got {part!r}"
            )
        nodes.append(ClusterNode(host.strip("[]"), int(port)))
    user, _, password = userinfo.partition(":")
    return {
        "startup_nodes": nodes,
        "username": unquote(user) or None,
        "password": unquote(password) or None,
        "ssl": CLUSTER_SCHEMES[scheme.lower()],
    }


def make_redis(settings: Settings) -> Redis | RedisCluster | None:
    if not settings.redis_url:
        return None
    if is_cluster_url(settings.redis_url):
        return RedisCluster(
            **cluster_options(settings.redis_url),
            socket_timeout=2,
            socket_connect_timeout=2,
            health_check_interval=30,
        )
    return Redis.from_url(
        settings.redis_url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
    )


def make_store_registry(redis: Redis | RedisCluster | None) -> StoreRegistry:
    if redis is None:
        memory = {name: MemoryStore() for name in STORE_NAMES}
        return StoreRegistry(default_factory=lambda name: memory.get(name) or MemoryStore())
    # Litestar's RedisStore issues single-key commands (GET, SET, DEL, a one-key script for
    # renewals): the cluster client routes each by its key.
    root = RedisStore(redis, namespace="unioncard", handle_client_shutdown=False)  # type: ignore[arg-type]  # typed for Redis only
    return StoreRegistry(default_factory=lambda name: root.with_namespace(name))


def store(registry: StoreRegistry, name: str) -> Store:
    return registry.get(name)
