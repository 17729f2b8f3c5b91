"""Database wiring: one async engine per process, SQLite pragmas, the Alembic config.

Models of every package subclass advanced-alchemy's ``UUIDv7AuditBase`` (UUIDv7 ``id``,
UTC ``created_at``/``updated_at``) and so share one metadata.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import asyncpg
from advanced_alchemy.base import orm_registry
from advanced_alchemy.extensions.litestar import (
    AlembicAsyncConfig,
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from advanced_alchemy.extensions.litestar._utils import delete_aa_scope_state, get_aa_scope_state
from advanced_alchemy.extensions.litestar.plugins.init.config.asyncio import (
    autocommit_handler_maker,
)
from litestar.types import Message, Scope
from sqlalchemy import ClauseElement, event
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import greenlet_spawn

from cardsvc.kernel.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
# Column info of a copy of an org's path that follows the org when it moves in the union tree
# (``cardsvc.orgs.service.move_org`` rewrites every such column; benefits marks its own alike).
FOLLOWS_ORG: dict[str, Any] = {"follows_org": True}
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


def _drop_closed_connections(engine: AsyncEngine) -> None:
    """At checkout, replace a pooled asyncpg connection whose socket the server closed.

    A local flag, no round trip: it catches backends ended by a restart, a failover or
    ``pg_terminate_backend`` while idle, with or without ``pool_pre_ping`` (which also catches
    silently dead peers, for one round trip per checkout). The pool retries with a fresh one.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        is_closed = getattr(getattr(dbapi_conn, "driver_connection", None), "is_closed", None)
        if is_closed is not None and is_closed():
            raise DisconnectionError("connection closed by the server")


# asyncpg errors after which a connection must not be used again: the server ended it, or its
# protocol was left mid-operation ("another operation is in progress" on the next use).
_BROKEN = (
    asyncpg.InterfaceError,  # includes ConnectionDoesNotExistError
    asyncpg.exceptions.InternalClientError,
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.exceptions.OperatorInterventionError,  # class 57: terminated by an administrator
    OSError,
    TimeoutError,
)


def is_broken_connection(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the connection it came from is unusable."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _BROKEN) or (
            isinstance(seen, DBAPIError) and seen.connection_invalidated
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _disconnect_on_broken_protocol(engine: AsyncEngine) -> None:
    """SQLAlchemy takes asyncpg's protocol-state errors for ordinary ones and would pool the
    connection again; they are disconnects (the connection and the pool are invalidated)."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(ctx: ExceptionContext) -> None:
        orig = ctx.original_exception
        if isinstance(orig, asyncpg.exceptions.InternalClientError) or (
            isinstance(orig, asyncpg.InterfaceError) and "another operation is" in str(orig)
        ):
            ctx.is_disconnect = True


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    pre_ping: bool = False,
    pgbouncer: bool = False,
) -> AsyncEngine:
    """The process's engine. Without ``pre_ping`` (the default) a connection is not tested on
    every checkout (on asyncpg that test is BEGIN, a query and ROLLBACK: three round trips per
    request); a connection that turns out dead fails its request with a 503
    ``database_unavailable`` and SQLAlchemy then invalidates the whole pool, so after a
    database restart each worker fails one request, not every one. The redemption hot path
    speaks asyncpg directly, out of SQLAlchemy's sight: there a connection the server closed
    is dropped at its next checkout instead (``_drop_closed_connections``). ``pgbouncer``: see
    :func:`_pgbouncer_args`."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _sqlite_pragmas(engine)
        return engine
    engine = create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=pre_ping,
        **(_pgbouncer_args() if pgbouncer else {}),
    )
    _drop_closed_connections(engine)
    _disconnect_on_broken_protocol(engine)
    return engine


def _pgbouncer_args() -> dict[str, Any]:
    """Behind PgBouncer in transaction mode, consecutive transactions of one client connection
    may run on different server connections, which do not share prepared statements: asyncpg
    keeps no statement cache (its statements are unnamed) and SQLAlchemy's prepared statements
    get names unique across clients, used only within their transaction."""
    return {
        "connect_args": {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": lambda: f"__uc_{uuid.uuid4().hex}__",
        }
    }


def settings_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    """An engine for ``url`` (default: the primary) as the settings configure it."""
    return make_engine(
        url or settings.database_url,
        pool_size=settings.db_pool_size,
        pre_ping=settings.db_pre_ping,
        pgbouncer=settings.db_pgbouncer,
    )


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[Any | None]:
    """The asyncpg connection of one connection from the engine's pool; ``None`` unless the
    engine speaks asyncpg (then callers take their SQLAlchemy path).

    For requests of a few hot statements (a terminal's scan and redemption): per statement,
    SQLAlchemy's session and execution layers cost more CPU than the round trip. The pool's
    size limit and checkout events still apply. A connection is closed rather than returned
    when it is left inside a transaction (the pool cannot see a transaction begun on the
    driver), when the request was cancelled or when a connection error ended it
    (:func:`is_broken_connection`): the server may have ended it before the client noticed,
    and its next user would get "another operation is in progress".
    """
    if engine.dialect.driver != "asyncpg":
        yield None
        return
    pooled = await engine.raw_connection()
    broken = False
    try:
        yield pooled.driver_connection
    except BaseException as exc:
        broken = not isinstance(exc, Exception) or is_broken_connection(exc)
        raise
    finally:
        driver = pooled.driver_connection
        if broken or driver is None or driver.is_closed() or driver.is_in_transaction():
            await greenlet_spawn(pooled.invalidate)
        await greenlet_spawn(pooled.close)


def engine_of(session: AsyncSession) -> AsyncEngine:
    """The engine a request's session is bound to."""
    return cast(AsyncEngine, session.bind)


_ASYNCPG_DIALECT = asyncpg_dialect()
_compiled: dict[int, tuple[ClauseElement, str, tuple[str, ...]]] = {}


def asyncpg_sql(statement: ClauseElement) -> tuple[str, tuple[str, ...]]:
    """A Core statement as asyncpg's SQL and its parameter names in argument order, compiled
    once: the SQL of :func:`driver_connection`'s callers is written once, as SQLAlchemy Core.
    (Result rows come back without SQLAlchemy's type processing.)"""
    hit = _compiled.get(id(statement))
    if hit is None or hit[0] is not statement:
        c = cast(SQLCompiler, statement.compile(dialect=_ASYNCPG_DIALECT))  # not DDL: SQL
        hit = _compiled[id(statement)] = (statement, str(c), tuple(c.positiontup or ()))
    return hit[1], hit[2]


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def commit_before_send(scope_key: str) -> Callable[[Message, Scope], Awaitable[None]]:
    """advanced-alchemy's ``autocommit`` handler (commit on 2xx and on a redirect, else roll
    back; then close: a page's form posted without JavaScript answers 303 See Other after its
    work, which must stay), except for a request whose session never began a transaction and holds no changes (a
    terminal's scan or redemption, which talk to the driver directly): that one is simply
    dropped, since committing it would first begin, then end, a transaction in the ORM."""
    autocommit = autocommit_handler_maker(commit_on_redirect=True, session_scope_key=scope_key)

    async def handler(message: Message, scope: Scope) -> None:
        session = get_aa_scope_state(scope, scope_key)
        if (
            session is not None
            and not session.in_transaction()
            and not (session.new or session.dirty or session.deleted)
        ):
            delete_aa_scope_state(scope, scope_key)
            return
        await autocommit(message, scope)

    return handler


def sqlalchemy_config(
    settings: Settings, engine: AsyncEngine | None = None
) -> SQLAlchemyAsyncConfig:
    engine = engine or settings_engine(settings)
    config = SQLAlchemyAsyncConfig(
        engine_instance=engine,
        session_config=AsyncSessionConfig(expire_on_commit=False),
        engine_config=EngineConfig(),
        alembic_config=AlembicAsyncConfig(
            script_location=str(MIGRATIONS_DIR), version_table_name="alembic_version"
        ),
        create_all=False,
    )
    # Made from the config's own scope key: advanced-alchemy makes it unique per config.
    config.before_send_handler = commit_before_send(config.session_scope_key)
    return config


def import_all_models() -> None:
    """Import every package's models so that ``metadata`` is complete (Alembic, tests)."""
    import importlib

    for name in (
        "cardsvc.models",
        "cardsvc.jobs.models",
        "cardsvc.roster.models",
        "cardsvc.servicereq.models",
        "cardsvc.servicereq.hardship.models",
        "cardsvc.inbox.models",
        "cardsvc.founding.models",
        "cardsvc.activities.models",
        "benefits.models",
        "benefits.vouchers.models",
        "merchants.models",
    ):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
