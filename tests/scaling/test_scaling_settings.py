"""The scaling settings: the Redis Cluster URL and the number of budget stripes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from cardsvc.kernel.settings import Settings, SettingsError
from cardsvc.kernel.stores import cluster_options, is_cluster_url, make_redis


def test_cluster_urls() -> None:
    assert is_cluster_url("redis+cluster://a:7000") and is_cluster_url("rediss+cluster://a:1")
    assert not is_cluster_url("redis://127.0.0.1:6379/0")
    opts = cluster_options("rediss+cluster://app:p%40ss@10.0.0.1:7000,10.0.0.2:7001/")
    assert [(n.host, n.port) for n in opts["startup_nodes"]] == [
        ("10.0.0.1", 7000),
        ("10.0.0.2", 7001),
    ]
    assert (opts["username"], opts["password"], opts["ssl"]) == ("app", "p@ss", True)
    assert cluster_options("redis+cluster://h:1")["password"] is None


@pytest.mark.parametrize(
    "url", ["redis+cluster://h:7000/3", "redis+cluster://h", "redis+cluster://h:7000,:x"]
)
def test_bad_cluster_urls_are_refused(url: str) -> None:
    with pytest.raises(SettingsError):
        cluster_options(url)


async def test_make_redis_picks_the_client() -> None:
    # Clients connect lazily: nothing listens on these ports and nothing needs to.
    plain = make_redis(Settings(redis_url="redis://127.0.0.1:1/0"))
    assert isinstance(plain, Redis)
    await plain.aclose()
    cluster = make_redis(Settings(redis_url="redis+cluster://127.0.0.1:1,127.0.0.1:2"))
    assert isinstance(cluster, RedisCluster)
    await cluster.aclose()
    assert make_redis(Settings()) is None


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("UNIONCARD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("UNIONCARD_VAR_DIR", str(tmp_path / "var"))
    return monkeypatch


def test_budget_stripes_setting(env: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().budget_stripes == 1
    env.setenv("UNIONCARD_BUDGET_STRIPES", "16")
    assert Settings.from_env().budget_stripes == 16
    for bad in ("0", "65", "x"):
        env.setenv("UNIONCARD_BUDGET_STRIPES", bad)
        with pytest.raises(SettingsError):
            Settings.from_env()


def test_replica_and_pgbouncer_settings(env: pytest.MonkeyPatch) -> None:
    plain = Settings.from_env()
    assert plain.database_replica_urls == () and not plain.db_pgbouncer
    env.setenv(
        "UNIONCARD_DATABASE_REPLICA_URL",
        " postgresql://r1/uc, ,postgresql+asyncpg://r2:5433/uc",
    )
    env.setenv("UNIONCARD_REPLICA_MAX_LAG_SECONDS", "2.5")
    env.setenv("UNIONCARD_READ_YOUR_WRITES_SECONDS", "30")
    env.setenv("UNIONCARD_DB_PGBOUNCER", "1")
    s = Settings.from_env()
    assert s.database_replica_urls == (
        "postgresql+asyncpg://r1/uc",
        "postgresql+asyncpg://r2:5433/uc",
    )
    assert (s.replica_max_lag_seconds, s.replica_check_seconds) == (2.5, 1.0)
    assert s.read_your_writes_seconds == 30 and s.db_pgbouncer
    for bad in ("x", "-1", "nan", "1e9"):
        env.setenv("UNIONCARD_REPLICA_MAX_LAG_SECONDS", bad)
        with pytest.raises(SettingsError):
            Settings.from_env()
