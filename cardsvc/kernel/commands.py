"""Helpers for the ``unioncard`` commands: run a coroutine with a database session.

A light module on purpose: a command's module imports it at the top, and the database stack
loads only when the command runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def run_db(fn: Callable[[Any], Awaitable[T]]) -> T:
    """For commands: run ``fn(session)`` in one transaction on the configured database, then
    dispose of the engine."""
    from cardsvc.kernel.db import import_all_models, make_sessionmaker, settings_engine
    from cardsvc.kernel.settings import get_settings

    async def _main() -> T:
        import_all_models()
        engine = settings_engine(get_settings())
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                return await fn(session)
        finally:
            await engine.dispose()

    return asyncio.run(_main())
