"""Database wiring: one async engine per process, SQLite pragmas, the Alembic config.

Models of every package subclass advanced-alchemy's ``UUIDv7AuditBase`` (UUIDv7 ``id``,
UTC ``created_at``/``updated_at``) and so share one metadata.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advanced_alchemy.base import orm_registry
from advanced_alchemy.extensions.litestar import (
    AlembicAsyncConfig,
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from cardsvc.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
metadata = orm_registry.metadata


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    """WAL + busy timeout, and BEGIN IMMEDIATE so that writers queue instead of failing.

    With a deferred BEGIN two SQLite transactions that both read then write can dead-end in
    SQLITE_BUSY; taking the write lock up front serialises them, which is what the
    conditional counter updates of the benefits engine rely on in the embedded mode.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _sqlite_pragmas(engine)
        return engine
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def sqlalchemy_config(
    settings: Settings, engine: AsyncEngine | None = None
) -> SQLAlchemyAsyncConfig:
    engine = engine or make_engine(settings.database_url, pool_size=settings.db_pool_size)
    return SQLAlchemyAsyncConfig(
        engine_instance=engine,
        session_config=AsyncSessionConfig(expire_on_commit=False),
        engine_config=EngineConfig(),
        before_send_handler="autocommit",
        alembic_config=AlembicAsyncConfig(
            script_location=str(MIGRATIONS_DIR), version_table_name="alembic_version"
        ),
        create_all=False,
    )


def import_all_models() -> None:
    """Import every package's models so that ``metadata`` is complete (Alembic, tests)."""
    import importlib

    for name in (
        "cardsvc.models",
        "cardsvc.jobs.models",
        "cardsvc.roster.models",
        "cardsvc.servicereq.models",
        "cardsvc.hardship.models",
        "cardsvc.inbox.models",
        "benefits.models",
        "merchants.models",
    ):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
