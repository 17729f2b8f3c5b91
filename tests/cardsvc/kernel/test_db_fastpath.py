"""The terminal hot path's database plumbing (cardsvc.kernel.db): the pooled driver connection, Core
statements compiled for asyncpg, and the before-send handler that drops unused sessions."""

from __future__ import annotations

import uuid
from typing import Any, cast

from advanced_alchemy.extensions.litestar._utils import get_aa_scope_state, set_aa_scope_state
from litestar.types import Message, Scope
from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.kernel.db import asyncpg_sql, commit_before_send, driver_connection, make_sessionmaker
from cardsvc.orgs.models import Org, OrgLevel

KEY = "_test_session_scope"
START: Message = {"type": "http.response.start", "status": 200, "headers": []}


def _org(org_id: uuid.UUID, name: str) -> Org:
    return Org(
        id=org_id, code=org_id.hex[:12], name=name, level=OrgLevel.city, path=f"/{org_id.hex}/"
    )


def checked_out(engine: AsyncEngine) -> int:
    return engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined]  # QueuePool's, not Pool's


def test_asyncpg_sql_numbers_parameters_in_order() -> None:
    stmt = select(Org.id).where(Org.path == bindparam("p"), Org.name == bindparam("n"))
    sql, names = asyncpg_sql(stmt)
    assert "$1" in sql and "$2" in sql and ":p" not in sql
    assert names == ("p", "n")
    assert asyncpg_sql(stmt) == (sql, names)  # compiled once, the same answer


async def test_driver_connection_lends_and_returns(engine: AsyncEngine) -> None:
    async with driver_connection(engine) as pg:
        if engine.dialect.driver != "asyncpg":
            assert pg is None  # SQLite: callers take their SQLAlchemy path
            return
        assert pg is not None
        assert await pg.fetchval("SELECT 41 + 1") == 42
        assert checked_out(engine) == 1
    assert checked_out(engine) == 0


async def test_driver_connection_left_in_a_transaction_is_not_reused(
    engine: AsyncEngine,
) -> None:
    if engine.dialect.driver != "asyncpg":
        return
    async with driver_connection(engine) as pg:
        assert pg is not None
        pid = await pg.fetchval("SELECT pg_backend_pid()")
        tx = pg.transaction()
        await tx.start()  # never ended: a request cancelled mid-transaction
    assert checked_out(engine) == 0
    async with driver_connection(engine) as pg:
        assert pg is not None
        assert not pg.is_in_transaction()
        assert await pg.fetchval("SELECT pg_backend_pid()") != pid


async def _scope_with_session(engine: AsyncEngine) -> tuple[Scope, Any]:
    scope = cast("Scope", {"type": "http"})  # the handler reads only its state
    session = make_sessionmaker(engine)()
    set_aa_scope_state(scope, KEY, session)
    return scope, session


async def test_unused_session_is_dropped_without_a_transaction(engine: AsyncEngine) -> None:
    handler = commit_before_send(KEY)
    scope, session = await _scope_with_session(engine)
    await handler(START, scope)
    assert get_aa_scope_state(scope, KEY) is None
    assert not session.in_transaction()
    assert checked_out(engine) == 0


async def test_used_session_is_committed_and_closed(engine: AsyncEngine) -> None:
    handler = commit_before_send(KEY)
    scope, session = await _scope_with_session(engine)
    org_id = uuid.uuid4()
    session.add(_org(org_id, "测试工会"))
    await handler(START, scope)
    assert get_aa_scope_state(scope, KEY) is None
    assert checked_out(engine) == 0
    async with engine.connect() as conn:
        found = await conn.scalar(text("SELECT count(*) FROM org WHERE name = '测试工会'"))
    assert found == 1


async def test_failed_request_rolls_back(engine: AsyncEngine) -> None:
    handler = commit_before_send(KEY)
    scope, session = await _scope_with_session(engine)
    org_id = uuid.uuid4()
    session.add(_org(org_id, "回滚工会"))
    await handler({"type": "http.response.start", "status": 409, "headers": []}, scope)
    assert checked_out(engine) == 0
    async with engine.connect() as conn:
        found = await conn.scalar(text("SELECT count(*) FROM org WHERE name = '回滚工会'"))
    assert found == 0
