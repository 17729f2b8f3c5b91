"""Migration 0010_regions: free-text region names become GB/T 2260 codes where they name exactly
one division (left empty otherwise), and come back as full names on the way down."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from tests.test_migrations import _alembic, _run, fresh_pg_url, sqlite_url  # noqa: F401

NAMES = {
    "湖北省宜昌市远安县": "420525",  # a full name
    "西陵区": "420502",  # a short name unique nationwide
    "420503": "420503",  # already a code
    "朝阳区": None,  # 北京 and 长春: ambiguous, left empty
    "火星": None,  # unknown
}


def _orgs_with_names(conn: Connection) -> None:
    for i, name in enumerate(NAMES):
        org_id = uuid.uuid4()
        conn.execute(
            text(
                "INSERT INTO org (id, code, name, level, path, region, status, created_at,"
                " updated_at) VALUES (:id, :code, :name, 'grassroots', :path, :region,"
                " 'active', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {
                "id": org_id.bytes if conn.dialect.name == "sqlite" else org_id,
                "code": f"MIG-{i}",
                "name": f"迁移测试工会{i}",
                "path": org_id.hex + "/",
                "region": name,
            },
        )


def _read(conn: Connection, column: str) -> dict[str, Any]:
    rows = conn.execute(text(f"SELECT code, {column} FROM org WHERE code LIKE 'MIG-%'"))
    return {r[0]: r[1] for r in rows}


def _check(url: str) -> None:
    asyncio.run(_run(url, _alembic, "upgrade", "0009_privacy"))
    asyncio.run(_run(url, _orgs_with_names))
    asyncio.run(_run(url, _alembic, "upgrade", "0010_regions"))
    codes = asyncio.run(_run(url, _read, "region_code"))
    assert codes == {f"MIG-{i}": code for i, code in enumerate(NAMES.values())}
    asyncio.run(_run(url, _alembic, "downgrade", "0009_privacy"))
    names = asyncio.run(_run(url, _read, "region"))
    assert names == {
        "MIG-0": "湖北省宜昌市远安县",
        "MIG-1": "湖北省宜昌市西陵区",
        "MIG-2": "湖北省宜昌市伍家岗区",
        "MIG-3": None,
        "MIG-4": None,
    }


def test_region_names_become_codes_sqlite(sqlite_url: str) -> None:  # noqa: F811
    _check(sqlite_url)


@pytest.mark.postgres
def test_region_names_become_codes_postgres(fresh_pg_url: str) -> None:  # noqa: F811
    _check(fresh_pg_url)
