"""A PostgreSQL database of its own for a test module (migrated by the test), dropped after."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from cardsvc.kernel.db import make_engine
from tests.test_migrations import _admin_url


async def _admin(sql: str) -> None:
    engine = make_engine(_admin_url())
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@contextmanager
def scratch_pg(purpose: str) -> Iterator[str]:
    name = f"partitions_{purpose}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{_admin_url().rpartition('/')[0]}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
