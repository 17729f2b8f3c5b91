"""Test fixtures shared by every package.

``engine`` runs each test on SQLite (always) and on PostgreSQL (when
``UNIONCARD_TEST_DATABASE_URL`` is set; the test is marked ``postgres``). Each test starts on
an empty schema. ``redis_url`` gives a flushed Redis database (marked ``redis``).
CI sets both variables and fails if any ``postgres``/``redis`` test was skipped.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cardsvc.db import import_all_models, make_engine, make_sessionmaker, metadata

PG_URL = os.environ.get("UNIONCARD_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("UNIONCARD_TEST_REDIS_URL")

import_all_models()


def _asyncpg_url(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


REQUIRE_SERVICES = os.environ.get("UNIONCARD_REQUIRE_SERVICES") == "1"
_service_skips: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if REQUIRE_SERVICES and not (PG_URL and REDIS_URL):
        raise pytest.UsageError(
            "UNIONCARD_REQUIRE_SERVICES=1 needs UNIONCARD_TEST_DATABASE_URL and "
            "UNIONCARD_TEST_REDIS_URL"
        )
    skip_pg = pytest.mark.skip(reason="UNIONCARD_TEST_DATABASE_URL not set")
    skip_redis = pytest.mark.skip(reason="UNIONCARD_TEST_REDIS_URL not set")
    for item in items:
        if "postgres" in item.keywords and not PG_URL:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not REDIS_URL:
            item.add_marker(skip_redis)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and ("postgres" in report.keywords or "redis" in report.keywords):
        _service_skips.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """CI: a PostgreSQL/Redis test that skipped is a failure, not a pass."""
    if REQUIRE_SERVICES and _service_skips:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if REQUIRE_SERVICES and _service_skips:
        terminalreporter.section("service tests skipped (CI requires them)", red=True)
        for nodeid in _service_skips:
            terminalreporter.write_line(nodeid)


@pytest.fixture(scope="session")
def pg_test_url() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test session, created at head."""
    assert PG_URL
    base = _asyncpg_url(PG_URL)
    name = f"unioncard_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_url = base

    async def _create() -> None:
        eng = make_engine(admin_url)
        async with eng.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await eng.dispose()
        eng = make_engine(_replace_db(base, name))
        async with eng.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await eng.dispose()

    async def _drop() -> None:
        eng = make_engine(admin_url)
        async with eng.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await eng.dispose()

    asyncio.run(_create())
    yield _replace_db(base, name)
    asyncio.run(_drop())


def _replace_db(url: str, name: str) -> str:
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


async def _truncate_all(engine: AsyncEngine) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL with an empty schema at head: SQLite file, or the session's PG database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("pg_test_url")


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(db_url, pool_size=20)
    if db_url.startswith("sqlite"):
        async with eng.begin() as conn:
            await conn.run_sync(metadata.create_all)
    else:
        await _truncate_all(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with make_sessionmaker(engine)() as s:
        yield s


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """A flushed Redis logical database (db 9) for one test."""
    if not REDIS_URL:
        pytest.skip("UNIONCARD_TEST_REDIS_URL not set")
    from redis.asyncio import Redis

    url = REDIS_URL.rstrip("/")
    if url.count("/") < 3:
        url += "/9"
    client = Redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    yield url
