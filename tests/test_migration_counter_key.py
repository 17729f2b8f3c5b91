"""Migration ``0029_counter_key`` on a database with counters, up and back, on SQLite and
PostgreSQL: the counters keep their rows under the primary key ``(id, program_id)``, and the
engine's unique key still refuses a second counter of the same key."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, cast

import pytest
from sqlalchemy import Table, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from benefits.models import Counter, Program
from tests.test_migration_citus_keys import _migrate
from tests.test_migrations import _alembic, _run, fresh_pg_url, sqlite_url  # noqa: F401

BEFORE = "0028_campaign_keys"
AFTER = "0029_counter_key"
_K = cast(Table, Counter.__table__)


def _seed(conn: Connection) -> uuid.UUID:
    pid = uuid.uuid4()
    conn.execute(
        insert(cast(Table, Program.__table__)).values(
            id=pid, code="P1", name="测试", owner_org_id=uuid.uuid4(), owner_org_path="u/",
            status="active", rules={}, timezone="Asia/Shanghai",
        )
    )  # fmt: skip
    _counter(conn, pid)
    return pid


def _counter(conn: Connection, pid: uuid.UUID) -> None:
    conn.execute(
        insert(_K).values(id=uuid.uuid4(), program_id=pid, policy_key="budget", metric="fen",
                          scope_key="p", period_key="all", used=300, limit=1000, last_take=300,
                          stripes=1)
    )  # fmt: skip


def _state(conn: Connection) -> tuple[list[str], list[Any]]:
    key = inspect(conn).get_pk_constraint("benefit_counter")["constrained_columns"]
    return key, [tuple(r) for r in conn.execute(select(_K.c.scope_key, _K.c.used))]


def _check(url: str) -> None:
    asyncio.run(_run(url, _alembic, "upgrade", BEFORE))
    pid = asyncio.run(_run(url, _seed))
    asyncio.run(_migrate(url, "upgrade", AFTER))
    assert asyncio.run(_run(url, _state)) == (["id", "program_id"], [("p", 300)])
    with pytest.raises(IntegrityError):
        asyncio.run(_run(url, _counter, pid))
    asyncio.run(_migrate(url, "downgrade", BEFORE))
    assert asyncio.run(_run(url, _state)) == (["id"], [("p", 300)])
    asyncio.run(_migrate(url, "upgrade", AFTER))
    assert asyncio.run(_run(url, _state))[0] == ["id", "program_id"]


def test_counter_key_sqlite(sqlite_url: str) -> None:  # noqa: F811
    _check(sqlite_url)


@pytest.mark.postgres
def test_counter_key_postgres(fresh_pg_url: str) -> None:  # noqa: F811
    _check(fresh_pg_url)
