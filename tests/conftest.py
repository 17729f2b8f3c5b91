"""Test fixtures shared by every package.

``engine`` runs each test on SQLite (always) and on PostgreSQL (when
``UNIONCARD_TEST_DATABASE_URL`` is set; the test is marked ``postgres``). Each test starts on
an empty schema. ``redis_url`` gives a flushed Redis database (marked ``redis``).
CI sets both variables and fails if any ``postgres``/``redis`` test was skipped.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cardsvc.kernel.db import import_all_models, make_engine, make_sessionmaker, metadata
from cardsvc.kernel.settings import Settings
from cardsvc.wiring import wire

PG_URL = os.environ.get("UNIONCARD_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("UNIONCARD_TEST_REDIS_URL")

import_all_models()
wire()  # the packages plugged together as the app and the CLI do (cardsvc.wiring)


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
    if report.skipped and any(k in report.keywords for k in ("postgres", "redis", "browser")):
        _service_skips.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """CI: a PostgreSQL, Redis or browser test that skipped is a failure, not a pass."""
    if REQUIRE_SERVICES and _service_skips:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if REQUIRE_SERVICES and _service_skips:
        terminalreporter.section("service tests skipped (CI requires them)", red=True)
        for nodeid in _service_skips:
            terminalreporter.write_line(nodeid)


def _replace_db(url: str, name: str) -> str:
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


async def _pg_admin(sql: str) -> None:
    assert PG_URL
    eng = make_engine(_asyncpg_url(PG_URL))
    try:
        async with eng.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(sql))
    finally:
        await eng.dispose()


async def _create_schema(url: str) -> None:
    eng = make_engine(url)
    async with eng.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await eng.dispose()


def make_test_settings(db_url: str, var_dir: Path) -> Settings:
    """Settings for an app under test: fixed keys, so seeded templates decrypt everywhere."""
    return Settings(
        environment="test",
        var_dir=var_dir,
        database_url=db_url,
        secret_key="test-secret-key-0123456789abcdef0123456789",
        data_keys={"t1": b"k" * 32},
        lookup_key=b"test-lookup-key-0123456789abcdef",
        log_level="WARNING",
    )


async def _seed(url: str, var_dir: Path) -> dict[str, Any]:
    from cardsvc.demo.seed import seed_demo

    settings = make_test_settings(url, var_dir)
    await seed_demo(settings, steps=demo_steps())
    return json.loads((var_dir / "demo.json").read_text())


def demo_steps() -> list[Any]:
    """The demo seed steps of every package, as the composition root wires them."""
    from cardsvc.wiring import demo_steps as wired_demo_steps

    return list(wired_demo_steps())


_PREFIX = f"unioncard_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def pg_test_url() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test session, with the schema created."""
    assert PG_URL
    name = _PREFIX

    async def _create() -> None:
        await _pg_admin(f'CREATE DATABASE "{name}"')
        await _create_schema(_replace_db(_asyncpg_url(PG_URL), name))

    asyncio.run(_create())
    yield _replace_db(_asyncpg_url(PG_URL), name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def demo_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The demo federation seeded once per session per database, copied for each test."""
    made: dict[str, Any] = {}
    yield made
    if "postgres" in made:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{made["postgres"][0]}" WITH (FORCE)'))


def _template(
    kind: str, templates: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, Any]]:
    if kind not in templates:
        var_dir = tmp_path_factory.mktemp(f"demo-{kind}")
        if kind == "sqlite":
            path = var_dir / "template.db"
            url = f"sqlite+aiosqlite:///{path}"
            asyncio.run(_create_schema(url))
            demo = asyncio.run(_seed(url, var_dir))
            templates[kind] = (str(path), demo)
        else:
            assert PG_URL
            name = f"{_PREFIX}_tpl"

            async def _make() -> dict[str, Any]:
                await _pg_admin(f'CREATE DATABASE "{name}"')
                url = _replace_db(_asyncpg_url(PG_URL), name)
                await _create_schema(url)
                return await _seed(url, var_dir)

            templates[kind] = (name, asyncio.run(_make()))
    return templates[kind]


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty schema (SQLite file, or the session's PG database truncated), or — when the
    test asks for ``demo`` — a private copy of the seeded demo federation."""
    wants_demo = "demo" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        if wants_demo:
            src, _ = _template(
                "sqlite", request.getfixturevalue("demo_templates"), tmp_path_factory
            )
            shutil.copyfile(src, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    if not wants_demo:
        yield request.getfixturevalue("pg_test_url")
        return
    tpl, _ = _template("postgres", request.getfixturevalue("demo_templates"), tmp_path_factory)
    name = f"{_PREFIX}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{tpl}" STRATEGY FILE_COPY'))
    yield _replace_db(_asyncpg_url(PG_URL or ""), name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate_all(engine: AsyncEngine) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def engine(db_url: str, request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(db_url, pool_size=20)
    if "demo" not in request.fixturenames:
        if db_url.startswith("sqlite"):
            async with eng.begin() as conn:
                await conn.run_sync(metadata.create_all)
        else:
            await _truncate_all(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
def demo(
    db_url: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The demo federation's ``demo.json`` (logins, sample members, cards, terminals)."""
    kind = "sqlite" if db_url.startswith("sqlite") else "postgres"
    return _template(kind, request.getfixturevalue("demo_templates"), tmp_path_factory)[1]


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
