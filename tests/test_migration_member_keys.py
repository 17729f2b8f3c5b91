"""Migration ``0026_member_keys`` on a database with rows, upgraded from the version before and
back, on SQLite and PostgreSQL: ``card``, ``benefit_reversal``, ``voucher`` and
``voucher_application`` keep their rows under the primary key ``(id, member_id)``, the card's
foreign keys with the member still hold (now on that key), and the downgrade puts the single-
column keys and ``uq_card_member_id`` back."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from benefits.models import Reversal
from benefits.vouchers.models import Application, Campaign, Voucher
from cardsvc.cards.models import Card, CardEvent
from cardsvc.members.models import Member
from cardsvc.orgs.models import Org
from tests.test_migration_citus_keys import _migrate
from tests.test_migrations import _alembic, _run, fresh_pg_url, sqlite_url  # noqa: F401

BEFORE = "0025_citus_keys"
AFTER = "0026_member_keys"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
TABLES = ("card", "benefit_reversal", "voucher", "voucher_application")


def _seed(conn: Connection) -> dict[str, uuid.UUID]:
    ids = {k: uuid.uuid4() for k in ("union", "m", "card", "next", "rev", "camp", "v", "app")}
    conn.execute(
        insert(Org).values(id=ids["union"], code="U", name="基层工会", level="grassroots",
                           parent_id=None, path="u/", status="active")
    )  # fmt: skip
    conn.execute(
        insert(Member).values(id=ids["m"], member_no="00000000001", name="测试", id_number_enc="x",
                              id_number_hash="h-m", data_key_id="t1", gender="M",
                              org_id=ids["union"], org_path="u/", status="active", categories=[],
                              extra={})
    )  # fmt: skip
    conn.execute(
        insert(Card),
        [
            {"id": ids["card"], "member_id": ids["m"], "number": "9000000000000001",
             "generation": 1, "status": "revoked", "status_index": 7, "issued_at": NOW,
             "previous_id": None},
            {"id": ids["next"], "member_id": ids["m"], "number": "9000000000000002",
             "generation": 2, "status": "active", "status_index": 8, "issued_at": NOW,
             "previous_id": ids["card"]},
        ],
    )  # fmt: skip
    conn.execute(
        insert(CardEvent).values(id=uuid.uuid4(), card_id=ids["next"], member_id=ids["m"],
                                 kind="reissued", generation=2, actor_name="u.admin", at=NOW)
    )  # fmt: skip
    conn.execute(
        insert(Reversal).values(id=ids["rev"], redemption_id=uuid.uuid4(), member_id=ids["m"],
                                checkout_id=uuid.uuid4(), merchant_id=uuid.uuid4(),
                                reversed_at=NOW)
    )  # fmt: skip
    conn.execute(
        insert(Campaign).values(id=ids["camp"], code="C1", name="券", owner_org_id=ids["union"],
                                owner_org_path="u/", status="published", mode="first_come",
                                terms={}, stock=10, per_member=2, opens_at=NOW,
                                closes_at=NOW + timedelta(days=1))
    )  # fmt: skip
    conn.execute(
        insert(Voucher).values(id=ids["v"], campaign_id=ids["camp"], member_id=ids["m"], slot=0,
                               nth=0, request_key="req-1", status="active", claimed_at=NOW,
                               expires_at=NOW + timedelta(days=30))
    )  # fmt: skip
    conn.execute(
        insert(Application).values(id=ids["app"], campaign_id=ids["camp"], member_id=ids["m"],
                                   pseudonym="p-1", applied_at=NOW)
    )  # fmt: skip
    return ids


def _keys(conn: Connection) -> dict[str, list[str]]:
    return {t: inspect(conn).get_pk_constraint(t)["constrained_columns"] for t in TABLES}


def _uniques(conn: Connection, table: str) -> set[tuple[str, ...]]:
    return {tuple(u["column_names"]) for u in inspect(conn).get_unique_constraints(table)}


def _rows(conn: Connection) -> dict[str, int]:
    return {t: conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES}


def _card_of(conn: Connection, card_id: uuid.UUID) -> uuid.UUID | None:
    return conn.scalar(select(Card.__table__.c.previous_id).where(Card.__table__.c.id == card_id))


def _foreign_event(conn: Connection, card_id: uuid.UUID) -> None:
    """An event naming the card under another member: the foreign key with the member refuses."""
    conn.execute(
        insert(CardEvent).values(id=uuid.uuid4(), card_id=card_id, member_id=uuid.uuid4(),
                                 kind="revoked", generation=2, actor_name="u.admin", at=NOW)
    )  # fmt: skip


def _check(url: str) -> None:
    asyncio.run(_run(url, _alembic, "upgrade", BEFORE))
    ids = asyncio.run(_run(url, _seed))
    asyncio.run(_migrate(url, "upgrade", AFTER))
    assert asyncio.run(_run(url, _keys)) == {t: ["id", "member_id"] for t in TABLES}
    assert ("member_id", "id") not in asyncio.run(_run(url, _uniques, "card"))
    assert asyncio.run(_run(url, _rows)) == dict.fromkeys(TABLES, 1) | {"card": 2}
    assert asyncio.run(_run(url, _card_of, ids["next"])) == ids["card"]
    with pytest.raises(IntegrityError):
        asyncio.run(_run(url, _foreign_event, ids["next"]))

    asyncio.run(_migrate(url, "downgrade", BEFORE))
    assert asyncio.run(_run(url, _keys)) == {t: ["id"] for t in TABLES}
    assert ("member_id", "id") in asyncio.run(_run(url, _uniques, "card"))
    assert asyncio.run(_run(url, _rows)) == dict.fromkeys(TABLES, 1) | {"card": 2}
    with pytest.raises(IntegrityError):
        asyncio.run(_run(url, _foreign_event, ids["next"]))

    asyncio.run(_migrate(url, "upgrade", AFTER))  # and up again, the same
    assert asyncio.run(_run(url, _keys)) == {t: ["id", "member_id"] for t in TABLES}


def test_member_keys_sqlite(sqlite_url: str) -> None:  # noqa: F811
    _check(sqlite_url)


@pytest.mark.postgres
def test_member_keys_postgres(fresh_pg_url: str) -> None:  # noqa: F811
    _check(fresh_pg_url)
