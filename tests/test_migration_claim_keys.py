"""Migration ``0027_claim_keys`` on a database with vouchers, up and back, on SQLite and
PostgreSQL: a claim's request key becomes unique per campaign and member (two members may send
the same one), and the downgrade makes the keys unique per campaign again, the first voucher
keeping its key."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from benefits.vouchers.models import Voucher
from tests.test_migration_citus_keys import _migrate
from tests.test_migration_member_keys import _seed
from tests.test_migrations import _alembic, _run, fresh_pg_url, sqlite_url  # noqa: F401

BEFORE = "0026_member_keys"
AFTER = "0027_claim_keys"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _request_key(conn: Connection) -> list[str]:
    [key] = [
        u["column_names"]
        for u in inspect(conn).get_unique_constraints("voucher")
        if u["name"] == "uq_voucher_request"
    ]
    return list(key)


def _voucher(conn: Connection, ids: dict[str, uuid.UUID], member: uuid.UUID, slot: int) -> None:
    """Another voucher of the seeded campaign under the seeded voucher's request key."""
    conn.execute(
        insert(Voucher).values(id=uuid.uuid4(), campaign_id=ids["camp"], member_id=member,
                               slot=slot, nth=0, request_key="req-1", status="active",
                               claimed_at=NOW + timedelta(seconds=slot),
                               expires_at=NOW + timedelta(days=30))
    )  # fmt: skip


def _keys(conn: Connection) -> dict[uuid.UUID, str]:
    t = Voucher.__table__
    return {r[0]: r[1] for r in conn.execute(select(t.c.member_id, t.c.request_key))}


def _check(url: str) -> None:
    asyncio.run(_run(url, _alembic, "upgrade", BEFORE))
    ids = asyncio.run(_run(url, _seed))
    other = uuid.uuid4()
    with pytest.raises(IntegrityError):  # before: one campaign-wide key
        asyncio.run(_run(url, _voucher, ids, other, 1))
    asyncio.run(_migrate(url, "upgrade", AFTER))
    assert asyncio.run(_run(url, _request_key)) == ["campaign_id", "request_key", "member_id"]
    asyncio.run(_run(url, _voucher, ids, other, 1))  # the same key, another member's
    with pytest.raises(IntegrityError):  # the same member's twice: refused
        asyncio.run(_run(url, _voucher, ids, other, 2))
    assert asyncio.run(_run(url, _keys)) == {ids["m"]: "req-1", other: "req-1"}

    asyncio.run(_migrate(url, "downgrade", BEFORE))
    assert asyncio.run(_run(url, _request_key)) == ["campaign_id", "request_key"]
    kept = asyncio.run(_run(url, _keys))
    assert kept[ids["m"]] == "req-1" and kept[other].startswith("dup-")

    asyncio.run(_migrate(url, "upgrade", AFTER))
    assert asyncio.run(_run(url, _request_key)) == ["campaign_id", "request_key", "member_id"]


def test_claim_keys_sqlite(sqlite_url: str) -> None:  # noqa: F811
    _check(sqlite_url)


@pytest.mark.postgres
def test_claim_keys_postgres(fresh_pg_url: str) -> None:  # noqa: F811
    _check(fresh_pg_url)
