"""Migration ``0011_facts`` on a database upgraded from the version before: members in
hardship without an approved record are carried over as an approved record due for review, or
lose the hardship where no record can be made, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from cardsvc.kernel.db import make_engine
from cardsvc.members.models import Member
from cardsvc.orgs.models import Org
from cardsvc.servicereq.hardship.models import HardshipRecord
from tests.test_migrations import _alembic, _run, fresh_pg_url, sqlite_url  # noqa: F401

BEFORE = "0009_privacy"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _seed(conn: Connection) -> dict[str, uuid.UUID]:
    ids = {k: uuid.uuid4() for k in ("district", "union", "kept", "left", "waiting", "plain")}
    conn.execute(
        insert(Org),
        [
            {"id": ids["district"], "code": "D", "name": "区总工会", "level": "district",
             "parent_id": None, "path": "d/", "status": "active"},
            {"id": ids["union"], "code": "U", "name": "基层工会", "level": "grassroots",
             "parent_id": ids["district"], "path": "d/u/", "status": "active"},
        ],
    )  # fmt: skip
    rows = [
        ("kept", "active", ["hardship", "model_worker"], 2),
        ("left", "left", ["hardship"], 1),
        ("waiting", "active", ["hardship"], 3),
        ("plain", "active", ["retired"], None),
    ]
    conn.execute(
        insert(Member),
        [
            {"id": ids[key], "member_no": f"0000000000{n}", "name": "测试", "id_number_enc": "x",
             "id_number_hash": f"h{n}", "data_key_id": "t1", "gender": "M",
             "org_id": ids["union"], "org_path": "d/u/", "status": status, "categories": cats,
             "hardship_level": level, "extra": {}}
            for n, (key, status, cats, level) in enumerate(rows)
        ],
    )  # fmt: skip
    conn.execute(
        insert(HardshipRecord).values(
            member_id=ids["waiting"], org_id=ids["union"], org_path="d/u/",
            approver_org_id=ids["district"], approver_org_path="d/", status="pending",
            category="deep", level=3, circumstances="待审批", applied_by="u.admin", applied_at=NOW,
        )
    )  # fmt: skip
    return ids


def _state(conn: Connection) -> tuple[dict[uuid.UUID, Any], list[Any]]:
    members = {m.id: m for m in conn.execute(select(Member.__table__))}
    records = list(conn.execute(select(HardshipRecord.__table__)))
    return members, records


async def _upgrade_heads(url: str) -> None:
    """As ``unioncard database upgrade`` runs it: on SQLite, foreign keys off for the
    migration's connection (migrations/env.py), which batch-recreates referenced tables."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                raw = await conn.get_raw_connection()
                assert raw.driver_connection is not None
                await raw.driver_connection.execute("PRAGMA foreign_keys=OFF")
            async with conn.begin():
                await conn.run_sync(_alembic, "upgrade", "heads")
    finally:
        await engine.dispose()


def _check(url: str) -> None:
    asyncio.run(_run(url, _alembic, "upgrade", BEFORE))
    ids = asyncio.run(_run(url, _seed))
    asyncio.run(_upgrade_heads(url))
    members, records = asyncio.run(_run(url, _state))
    kept = members[ids["kept"]]
    assert sorted(kept.categories) == ["hardship", "model_worker"] and kept.hardship_level == 2
    (carried,) = [r for r in records if r.member_id == ids["kept"]]
    assert (carried.status, carried.level, carried.applied_by) == ("approved", 2, "upgrade")
    assert carried.approver_org_id == ids["district"]
    assert date.today() < carried.review_on <= date.today() + timedelta(days=91)
    # Gone, or waiting for its own record's decision: no hardship, no new record.
    for key in ("left", "waiting"):
        assert "hardship" not in members[ids[key]].categories
        assert members[ids[key]].hardship_level is None
    (waiting,) = [r for r in records if r.member_id == ids["waiting"]]
    assert waiting.status == "pending"
    assert not [r for r in records if r.member_id in (ids["left"], ids["plain"])]
    assert members[ids["plain"]].categories == ["retired"]


def test_hardship_without_record_sqlite(sqlite_url: str) -> None:  # noqa: F811
    _check(sqlite_url)


@pytest.mark.postgres
def test_hardship_without_record_postgres(fresh_pg_url: str) -> None:  # noqa: F811
    _check(fresh_pg_url)
