"""Alembic environment: runs on the engine that the app's settings (or the caller) give."""

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from cardsvc.kernel.db import import_all_models, make_engine, metadata
from cardsvc.kernel.partitions import skip_partitions
from cardsvc.kernel.settings import get_settings

import_all_models()
config: Any = context.config


def _configure(**kw: Any) -> None:
    context.configure(
        target_metadata=metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things in place
        compare_type=True,
        user_module_prefix="sa.",
        **kw,
    )


async def foreign_keys_off(conn: Any) -> None:
    """SQLite: a batch migration recreates a table (copy, DROP, rename), and dropping a table
    other rows refer to fails while foreign keys are enforced. The pragma only works outside
    a transaction: sent on the driver's connection before SQLAlchemy begins one."""
    raw = await conn.get_raw_connection()
    await raw.driver_connection.execute("PRAGMA foreign_keys=OFF")


def do_run_migrations(connection: Connection) -> None:
    _configure(connection=connection, include_name=skip_partitions(connection))
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = getattr(config, "engine", None)
    owned = engine is None
    if engine is None:
        engine = make_engine(get_settings().database_url)
    async with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            await foreign_keys_off(conn)
        await conn.run_sync(do_run_migrations)
        await conn.commit()
    if owned:
        await engine.dispose()


if context.is_offline_mode():
    _configure(
        url=getattr(config, "db_url", None) or get_settings().database_url, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_online())
