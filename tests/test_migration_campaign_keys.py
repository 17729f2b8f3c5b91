"""Migration ``0028_campaign_keys`` on a database with vouchers and lottery entries, up and back,
on SQLite and PostgreSQL: the stock slots and pseudonyms are copied to ``voucher_slot`` and
``draw_entry`` (their unique keys now), and the downgrade puts the unique keys on ``voucher``
and ``voucher_application`` back."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tests.test_migration_citus_keys import _as_uuid, _migrate
from tests.test_migration_member_keys import _seed
from tests.test_migrations import _alembic, _run, fresh_pg_url, sqlite_url  # noqa: F401

BEFORE = "0027_claim_keys"
AFTER = "0028_campaign_keys"


def _lookups(conn: Connection) -> dict[str, set[tuple[Any, ...]]]:
    names = set(inspect(conn).get_table_names())
    return {
        t: {
            tuple(_as_uuid(v) if isinstance(v, bytes) else v for v in row)
            for row in conn.execute(text(f"SELECT * FROM {t}"))
        }
        if t in names
        else set()
        for t in ("voucher_slot", "draw_entry")
    }


def _uniques(conn: Connection) -> set[str | None]:
    return {
        u["name"]
        for t in ("voucher", "voucher_application")
        for u in inspect(conn).get_unique_constraints(t)
    }


def _take_slot(conn: Connection, campaign: uuid.UUID) -> None:
    pg = conn.dialect.name == "postgresql"
    conn.execute(
        text(
            "INSERT INTO voucher_slot (campaign_id, slot, member_id, voucher_id) "
            "VALUES (:c, 0, :m, :v)"
        ),
        {
            k: u if pg else u.bytes
            for k, u in (("c", campaign), ("m", uuid.uuid4()), ("v", uuid.uuid4()))
        },
    )


def _check(url: str) -> None:
    asyncio.run(_run(url, _alembic, "upgrade", BEFORE))
    ids = asyncio.run(_run(url, _seed))
    asyncio.run(_migrate(url, "upgrade", AFTER))
    assert asyncio.run(_run(url, _lookups)) == {
        "voucher_slot": {(ids["camp"], 0, ids["m"], ids["v"])},
        "draw_entry": {(ids["camp"], "p-1", ids["m"])},
    }
    left = asyncio.run(_run(url, _uniques))
    assert not left & {"uq_voucher_slot", "uq_voucher_application_pseudonym"}
    with pytest.raises(IntegrityError):  # the slot is taken, now in its own table
        asyncio.run(_run(url, _take_slot, ids["camp"]))

    asyncio.run(_migrate(url, "downgrade", BEFORE))
    assert asyncio.run(_run(url, _lookups)) == {"voucher_slot": set(), "draw_entry": set()}
    back = asyncio.run(_run(url, _uniques))
    assert {"uq_voucher_slot", "uq_voucher_application_pseudonym"} <= back

    asyncio.run(_migrate(url, "upgrade", AFTER))
    assert len(asyncio.run(_run(url, _lookups))["voucher_slot"]) == 1


def test_campaign_keys_sqlite(sqlite_url: str) -> None:  # noqa: F811
    _check(sqlite_url)


@pytest.mark.postgres
def test_campaign_keys_postgres(fresh_pg_url: str) -> None:  # noqa: F811
    _check(fresh_pg_url)
