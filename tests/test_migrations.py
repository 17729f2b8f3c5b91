"""Alembic migrations: base → head → base → head on SQLite and PostgreSQL, and the models
match the migrated schema (no autogenerate diff, over every table of the shared metadata).

The migrations run through ``migrations/env.py`` with the app's own async engine (asyncpg /
aiosqlite), handing it the connection via ``config.attributes["connection"]``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from advanced_alchemy.types import GUID
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import NUMERIC, inspect, text
from sqlalchemy.engine import Connection

from cardsvc.kernel.db import MIGRATIONS_DIR, import_all_models, make_engine, metadata
from cardsvc.kernel.partitions import skip_partitions
from merchants.spatial import EARTH_INDEX, RTREE_TABLES

import_all_models()

FOUNDATION_TABLES = {"org", "member", "staff_user", "role_grant", "audit_entry", "number_sequence"}
PG_MIGRATION_BUG = (
    "BUG: migrations/versions/0001_foundation.py runs AUDIT_GUARD (CREATE FUNCTION + CREATE "
    "TRIGGER) in one op.execute; asyncpg refuses several commands in one prepared statement, "
    "so upgrading PostgreSQL fails. Fix: split it into two op.execute calls."
)


def alembic_config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def _alembic(conn: Connection, action: str, revision: str) -> None:
    getattr(command, action)(alembic_config(conn), revision)


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _version(conn: Connection) -> set[str]:
    return set(MigrationContext.configure(conn).get_current_heads())


def _compare_type(
    ctx: MigrationContext, inspected_col: Any, metadata_col: Any, inspected: Any, declared: Any
) -> bool | None:
    """SQLite reflects ``BINARY(16)`` (advanced-alchemy's GUID) as NUMERIC by type affinity;
    that is the reflection talking, not a schema difference. Everything else: Alembic decides.
    """
    if (
        ctx.dialect.name == "sqlite"
        and isinstance(declared, GUID)
        and isinstance(inspected, NUMERIC)
        and inspected.precision == 16
    ):
        return False
    return None


def _include_name(name: str | None, type_: str, parents: dict[str, Any]) -> bool:
    """The stores' spatial index is made by raw DDL on each engine (merchants/spatial.py): the
    R*Tree module's tables on SQLite, a GiST index over an extension's function on PostgreSQL."""
    return not (
        (type_ == "table" and name in RTREE_TABLES) or (type_ == "index" and name == EARTH_INDEX)
    )


def _diff(conn: Connection) -> list[Any]:
    partitions = skip_partitions(conn)

    def include(name: str | None, type_: str, parents: dict[str, Any]) -> bool:
        return partitions(name, type_, parents) and _include_name(name, type_, parents)

    opts = {"compare_type": _compare_type, "include_name": include}
    return compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)


def _describe(op: Any) -> str:
    """One line per difference: what, which table, which column or index."""
    if isinstance(op, list):  # column-level changes come grouped
        return "; ".join(_describe(o) for o in op)
    kind, *rest = op
    if kind in ("add_table", "remove_table"):
        return f"{kind} {rest[0].name}"
    if kind in ("add_index", "remove_index"):
        return f"{kind} {rest[0].table.name}.{rest[0].name}"
    if kind in ("add_column", "remove_column"):
        return f"{kind} {rest[1]}.{rest[2].name}"
    if kind.startswith("modify_"):
        return f"{kind} {rest[1]}.{rest[2]}: {rest[-2]!r} → {rest[-1]!r}"
    return repr(op)


async def _run(url: str, fn: Any, *args: Any) -> Any:
    """Run ``fn(sync_connection, *args)`` in one committed transaction on the app's engine."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(fn, *args)
    finally:
        await engine.dispose()


def round_trip(url: str) -> None:
    heads = set(script().get_heads())

    asyncio.run(_run(url, _alembic, "upgrade", "heads"))
    tables = asyncio.run(_run(url, _tables))
    assert tables >= FOUNDATION_TABLES
    assert asyncio.run(_run(url, _version)) == heads

    asyncio.run(_run(url, _alembic, "downgrade", "base"))
    left = asyncio.run(_run(url, _tables)) - {"alembic_version"}
    assert left == set(), f"downgrade to base left tables behind: {sorted(left)}"
    assert asyncio.run(_run(url, _version)) == set()

    asyncio.run(_run(url, _alembic, "upgrade", "heads"))
    assert asyncio.run(_run(url, _tables)) >= FOUNDATION_TABLES
    assert asyncio.run(_run(url, _version)) == heads


def models_match(url: str) -> None:
    asyncio.run(_run(url, _alembic, "upgrade", "heads"))
    diff = asyncio.run(_run(url, _diff))
    if diff:
        pytest.fail("models and migrations differ:\n" + "\n".join(map(_describe, diff)))


# ----------------------------------------------------------------- databases


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"


def _admin_url() -> str:
    url = os.environ["UNIONCARD_TEST_DATABASE_URL"]
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """An empty PostgreSQL database of its own, dropped afterwards."""
    admin = _admin_url()
    name = f"unioncard_mig_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def _admin(sql: str) -> None:
        eng = make_engine(admin)
        async with eng.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(sql))
        await eng.dispose()

    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield f"{admin.rpartition('/')[0]}/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# ----------------------------------------------------------------- tests


def test_single_head_and_linear_history() -> None:
    sd = script()
    assert len(sd.get_heads()) == 1, f"several heads: {sd.get_heads()} (merge or re-chain)"
    assert sd.get_base() == "0001_foundation"
    revisions = list(sd.walk_revisions())
    assert all(len(r._normalized_down_revisions) <= 1 for r in revisions)


def test_round_trip_sqlite(sqlite_url: str) -> None:
    round_trip(sqlite_url)


def test_models_match_migrations_sqlite(sqlite_url: str) -> None:
    models_match(sqlite_url)


@pytest.mark.postgres
def test_round_trip_postgres(fresh_pg_url: str) -> None:
    round_trip(fresh_pg_url)


@pytest.mark.postgres
def test_models_match_migrations_postgres(fresh_pg_url: str) -> None:
    models_match(fresh_pg_url)


def test_cli_upgrade_on_the_embedded_database(tmp_path: Path) -> None:
    """The operator's command, ``unioncard database upgrade``, on the default SQLite file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UNIONCARD_", "LITESTAR_"))}
    env["UNIONCARD_VAR_DIR"] = str(tmp_path / "var")
    exe = Path(sys.executable).with_name("unioncard")
    proc = subprocess.run(
        [str(exe), "database", "upgrade", "--no-prompt"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    db = tmp_path / "var" / "unioncard.db"
    assert db.exists()
    url = f"sqlite+aiosqlite:///{db}"
    assert asyncio.run(_run(url, _version)) == set(script().get_heads())
    assert asyncio.run(_run(url, _tables)) >= FOUNDATION_TABLES
