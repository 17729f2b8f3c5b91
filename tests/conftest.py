"""Test fixtures shared by every package.

``engine`` runs each test on SQLite (always) and on PostgreSQL (when
``UNIONCARD_TEST_DATABASE_URL`` is set; the test is marked ``postgres``). Each test starts on
an empty schema. ``redis_url`` gives a flushed Redis database (marked ``redis``).
CI sets both variables and fails if any ``postgres``/``redis`` test was skipped.

What is costly is done once per session and copied per test: the SQLite schema and the seeded
demo federation are template files copied for each test; on PostgreSQL every test uses the
session's database, emptied (DELETE) or, for ``demo``, emptied and refilled from a snapshot of
the seeded template (``demo_tpl`` schema) instead of a CREATE/DROP DATABASE (a checkpoint each)
per test. Staff passwords are hashed at argon2's lowest cost (``TEST_ARGON2``, through the
settings); the production cost keeps its own tests (``tests/cardsvc/staff/test_auth.py``).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cardsvc.kernel.db import import_all_models, make_engine, make_sessionmaker, metadata
from cardsvc.kernel.settings import Settings
from cardsvc.staff.service import configure_password_hashing
from cardsvc.wiring import wire
from tests.support.appcost import index_routes, memoize, share_signature_models

PG_URL = os.environ.get("UNIONCARD_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("UNIONCARD_TEST_REDIS_URL")
# A streaming replica of PG_URL's server and PgBouncer in front of it (.ci/replica.sh): the
# tests marked ``replica`` / ``pgbouncer`` use the session's database through them.
REPLICA_URL = os.environ.get("UNIONCARD_TEST_REPLICA_URL")
PGBOUNCER_URL = os.environ.get("UNIONCARD_TEST_PGBOUNCER_URL")

import_all_models()
wire()  # the packages plugged together as the app and the CLI do (cardsvc.wiring)
# What every create_app() would do again, once per process (tests/support/appcost.py): handler
# signatures parsed, their msgspec models made; routes registered without remapping every route.
memoize()
share_signature_models()
index_routes()


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
    _keep_one_database(config, items)
    skip_pg = pytest.mark.skip(reason="UNIONCARD_TEST_DATABASE_URL not set")
    skip_redis = pytest.mark.skip(reason="UNIONCARD_TEST_REDIS_URL not set")
    skip_replica = pytest.mark.skip(reason="UNIONCARD_TEST_REPLICA_URL not set")
    skip_pgbouncer = pytest.mark.skip(reason="UNIONCARD_TEST_PGBOUNCER_URL not set")
    for item in items:
        if "postgres" in item.keywords and not PG_URL:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not REDIS_URL:
            item.add_marker(skip_redis)
        if "replica" in item.keywords and not REPLICA_URL:
            item.add_marker(skip_replica)
        if "pgbouncer" in item.keywords and not PGBOUNCER_URL:
            item.add_marker(skip_pgbouncer)


def _keep_one_database(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``only_on("sqlite")``: a test that does not depend on the database runs once, not
    as a PostgreSQL case that skips (which CI counts as a failure)."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        mark = item.get_closest_marker("only_on")
        spec = getattr(item, "callspec", None)
        db = spec.params.get("db_url") if spec else None
        (dropped if mark and db and db not in mark.args else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    services = ("postgres", "redis", "browser", "replica", "pgbouncer")
    if report.skipped and any(k in report.keywords for k in services):
        _service_skips.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """CI: a PostgreSQL, Redis, replica, PgBouncer or browser test that skipped is a failure,
    not a pass."""
    if REQUIRE_SERVICES and _service_skips:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if REQUIRE_SERVICES and _service_skips:
        terminalreporter.section("service tests skipped (CI requires them)", red=True)
        for nodeid in _service_skips:
            terminalreporter.write_line(nodeid)


def _worker_index() -> int:
    """0 outside pytest-xdist; N for its worker ``gwN``."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name[2:]) if name.startswith("gw") and name[2:].isdigit() else 0


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


# argon2's lowest cost (the production default costs ~0.15 s of CPU per hash and per sign-in).
TEST_ARGON2: dict[str, Any] = {
    "argon2_time_cost": 1,
    "argon2_memory_kib": 8,
    "argon2_parallelism": 1,
}


# Every test signs in from the same address, and many as the same demo accounts: the sign-in,
# join and look-up throttles are set out of reach. The tests of those throttles set their own.
TEST_THROTTLES: dict[str, Any] = {
    "login_pair_limits": ((10_000, 60),),
    "login_address_limits": ((10_000, 60),),
    "login_account_limits": ((10_000, 60),),
    "join_per_phone_day": 10_000,
    "join_per_ip_hour": 10_000,
    "identity_lookups_per_hour": 10_000,
}


def make_test_settings(db_url: str, var_dir: Path) -> Settings:
    """Settings for an app under test: fixed keys, so seeded templates decrypt everywhere;
    cheap password hashing (``TEST_ARGON2``); throttles out of reach (``TEST_THROTTLES``)."""
    return Settings(
        environment="test",
        var_dir=var_dir,
        database_url=db_url,
        secret_key="test-secret-key-0123456789abcdef0123456789",
        data_keys={"t1": b"k" * 32},
        lookup_key=b"test-lookup-key-0123456789abcdef",
        log_level="WARNING",
        # The 附近 map draws on a blank tile served by the app itself (no tile provider).
        map_tile_url="/assets/img/blank-tile.png",
        **TEST_ARGON2,
        **TEST_THROTTLES,
    )


def use_password_hashing(settings: Settings) -> None:
    """Hash staff passwords at ``settings``' argon2 cost, as ``create_app(settings)`` does."""
    configure_password_hashing(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )


@pytest.fixture(autouse=True)
def _test_password_hashing() -> None:
    """Every test starts at the tests' argon2 cost, whatever app an earlier test built; staff
    created without an app (seeds, helpers) get cheap hashes too."""
    use_password_hashing(make_test_settings("", Path()))


async def _seed(url: str, var_dir: Path) -> dict[str, Any]:
    from cardsvc.demo.seed import seed_demo

    settings = make_test_settings(url, var_dir)
    use_password_hashing(settings)  # the template's staff sign in at the tests' cost
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
            shutil.copyfile(_empty_sqlite(tmp_path_factory), path)
            url = f"sqlite+aiosqlite:///{path}"
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


_EMPTY_SQLITE: list[Path] = []


def _empty_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the empty schema, made once per session (copied for each test)."""
    if not _EMPTY_SQLITE:
        path = tmp_path_factory.mktemp("schema") / "empty.db"
        # Often first asked for inside an async fixture, where asyncio.run() may not run.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _create_schema(f"sqlite+aiosqlite:///{path}")).result()
        _EMPTY_SQLITE.append(path)
    return _EMPTY_SQLITE[0]


# PostgreSQL: the seeded template's rows are copied once into this schema of the session's
# database; each ``demo`` test empties the session's tables and refills them from it.
_SNAPSHOT = "demo_tpl"


def _plain_pg(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


async def _pg_snapshot(tpl_url: str, url: str) -> str:
    """Copy every table of the template database into ``_SNAPSHOT`` of ``url``; return the SQL
    that resets ``url``'s tables to it."""
    import asyncpg

    src = await asyncpg.connect(_plain_pg(tpl_url))
    dst = await asyncpg.connect(_plain_pg(url))
    try:
        await dst.execute(f"DROP SCHEMA IF EXISTS {_SNAPSHOT} CASCADE; CREATE SCHEMA {_SNAPSHOT}")
        refill: list[str] = []
        for t in metadata.sorted_tables:
            await dst.execute(f'CREATE TABLE {_SNAPSHOT}."{t.name}" (LIKE public."{t.name}")')
            data = io.BytesIO()
            await src.copy_from_table(t.name, output=data, format="binary")
            data.seek(0)
            await dst.copy_to_table(t.name, source=data, schema_name=_SNAPSHOT, format="binary")
            if await dst.fetchval(f'SELECT EXISTS (SELECT FROM {_SNAPSHOT}."{t.name}")'):
                cols = ", ".join(f'"{c.name}"' for c in t.columns)
                refill.append(
                    f'INSERT INTO public."{t.name}" ({cols}) '
                    f'SELECT {cols} FROM {_SNAPSHOT}."{t.name}";'
                )
    finally:
        await src.close()
        await dst.close()
    return "\n".join([_empty_sql(), *refill])


def _pg_demo_copy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session's database reset to the seeded demo federation."""
    url = request.getfixturevalue("pg_test_url")
    templates = request.getfixturevalue("demo_templates")
    tpl, _ = _template("postgres", templates, tmp_path_factory)
    if "postgres-refill" not in templates:
        tpl_url = _replace_db(_asyncpg_url(PG_URL or ""), tpl)
        templates["postgres-refill"] = asyncio.run(_pg_snapshot(tpl_url, url))
    asyncio.run(_pg_reset(url, templates["postgres-refill"]))
    return url


async def _pg_reset(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_plain_pg(url))
    try:
        # As DROP DATABASE … WITH (FORCE) did: nothing of an earlier test holds on.
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        await conn.execute(sql)  # one implicit transaction
    finally:
        await conn.close()


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty schema (SQLite file, or the session's PG database emptied), or — when the
    test asks for ``demo`` — a private copy of the seeded demo federation (on PostgreSQL: the
    session's database refilled from the template's snapshot)."""
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
    yield _pg_demo_copy(request, tmp_path_factory)


def _empty_sql() -> str:
    """Every table emptied, children first: for a few hundred rows DELETE costs a fraction of
    a TRUNCATE (which makes new files for every table and index). No table has a sequence."""
    return "\n".join(f'DELETE FROM public."{t.name}";' for t in reversed(metadata.sorted_tables))


async def _truncate_all(engine: AsyncEngine) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


async def _empty_all(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert raw.driver_connection is not None  # an open pooled connection has its driver's
        await raw.driver_connection.execute(_empty_sql())  # one implicit transaction


def _copy_empty_schema(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> bool:
    """A SQLite file not made yet gets the empty schema, as create_all makes it, copied."""
    path = Path(db_url.split("///", 1)[-1])
    if not db_url.startswith("sqlite") or not path.is_absolute() or path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_empty_sqlite(tmp_path_factory), path)
    return True


@pytest.fixture
async def engine(
    db_url: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    copied = "demo" not in request.fixturenames and _copy_empty_schema(db_url, tmp_path_factory)
    eng = make_engine(db_url, pool_size=20)
    if "demo" not in request.fixturenames and not copied:
        if db_url.startswith("sqlite"):
            async with eng.begin() as conn:
                await conn.run_sync(metadata.create_all)
        else:
            await _empty_all(eng)
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
    """A flushed Redis logical database (db 9, or 9 + the xdist worker's index) for one test."""
    if not REDIS_URL:
        pytest.skip("UNIONCARD_TEST_REDIS_URL not set")
    from redis.asyncio import Redis

    url = REDIS_URL.rstrip("/")
    if url.count("/") < 3:
        url += "/9"
    # Under pytest-xdist each worker flushes its own database: 9 for gw0, 10 for gw1, ….
    head, _, db = url.rpartition("/")
    url = f"{head}/{int(db) + _worker_index()}"
    client = Redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    yield url
