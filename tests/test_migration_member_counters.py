"""Migration ``0030_member_counters`` on a database with counters, up and back, on SQLite and
PostgreSQL: a member's own counters (``m:…``, ``mx:…``) move to ``benefit_member_counter`` with
the member their scope key names, the shared ones (budget, merchant cap) stay, and the
downgrade moves them back."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, cast

import pytest
from sqlalchemy import Table, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from benefits.models import Counter, MemberCounter, Program
from tests.test_migration_citus_keys import _migrate
from tests.test_migrations import _alembic, _run, fresh_pg_url, sqlite_url  # noqa: F401

BEFORE = "0029_counter_key"
AFTER = "0030_member_counters"
_C = cast(Table, Counter.__table__)
_MC = cast(Table, MemberCounter.__table__)
MEMBER, OTHER, SHOP = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
SCOPES = {
    "budget": "p",
    "cap": f"x:{SHOP.hex}",
    "mine": f"m:{MEMBER.hex}",
    "theirs": f"m:{OTHER.hex}",
    "here": f"mx:{MEMBER.hex}:{SHOP.hex}",
}


def _seed(conn: Connection) -> uuid.UUID:
    pid = uuid.uuid4()
    conn.execute(
        insert(cast(Table, Program.__table__)).values(
            id=pid, code="P1", name="测试", owner_org_id=uuid.uuid4(), owner_org_path="u/",
            status="active", rules={}, timezone="Asia/Shanghai",
        )
    )  # fmt: skip
    for used, (policy, scope) in enumerate(SCOPES.items(), start=1):
        conn.execute(
            insert(_C).values(id=uuid.uuid4(), program_id=pid, policy_key=policy, metric="count",
                              scope_key=scope, period_key="2026-12", used=used, limit=10,
                              last_take=1, stripes=1)
        )  # fmt: skip
    return pid


def _shared(conn: Connection) -> list[Any]:
    rows = conn.execute(select(_C.c.policy_key, _C.c.scope_key, _C.c.used, _C.c.stripes))
    return sorted(tuple(r) for r in rows)


def _own(conn: Connection) -> list[Any]:
    rows = conn.execute(select(_MC.c.policy_key, _MC.c.member_id, _MC.c.scope_key, _MC.c.used))
    return sorted(tuple(r) for r in rows)


def _has_table(conn: Connection) -> bool:
    return "benefit_member_counter" in inspect(conn).get_table_names()


def _duplicate(conn: Connection, pid: uuid.UUID) -> None:
    conn.execute(
        insert(_MC).values(id=uuid.uuid4(), member_id=MEMBER, program_id=pid, policy_key="mine",
                           metric="count", scope_key=SCOPES["mine"], period_key="2026-12", used=0,
                           limit=10, last_take=0)
    )  # fmt: skip


def _check(url: str) -> None:
    asyncio.run(_run(url, _alembic, "upgrade", BEFORE))
    pid = asyncio.run(_run(url, _seed))
    before = asyncio.run(_run(url, _shared))
    asyncio.run(_migrate(url, "upgrade", AFTER))
    assert asyncio.run(_run(url, _shared)) == [("budget", "p", 1, 1), ("cap", SCOPES["cap"], 2, 1)]
    assert asyncio.run(_run(url, _own)) == sorted(
        [
            ("here", MEMBER, SCOPES["here"], 5),
            ("mine", MEMBER, SCOPES["mine"], 3),
            ("theirs", OTHER, SCOPES["theirs"], 4),
        ]
    )
    with pytest.raises(IntegrityError):
        asyncio.run(_run(url, _duplicate, pid))
    asyncio.run(_migrate(url, "downgrade", BEFORE))
    assert asyncio.run(_run(url, _shared)) == before
    assert not asyncio.run(_run(url, _has_table))
    asyncio.run(_migrate(url, "upgrade", AFTER))
    assert len(asyncio.run(_run(url, _own))) == 3


def test_member_counters_sqlite(sqlite_url: str) -> None:  # noqa: F811
    _check(sqlite_url)


@pytest.mark.postgres
def test_member_counters_postgres(fresh_pg_url: str) -> None:  # noqa: F811
    _check(fresh_pg_url)
