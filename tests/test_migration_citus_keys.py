"""Migration ``0025_citus_keys`` on a database with rows, upgraded from the version before and
back, on SQLite and PostgreSQL: the lookup tables are filled from the rows they guard and hold
what the old unique keys held, every join application gets its member (the member with its ID
number, else one new id per ID number), and the downgrade puts the old keys back."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from cardsvc.activities.models import Activity, ActivitySignup
from cardsvc.cards.models import Card, CardEvent
from cardsvc.kernel.db import make_engine
from cardsvc.members.models import Member
from cardsvc.membership.models import JoinApplication
from cardsvc.orgs.models import Org
from tests.test_migrations import _alembic, _run, fresh_pg_url, sqlite_url  # noqa: F401

BEFORE = "0024_colocated_keys"
AFTER = "0025_citus_keys"  # later revisions change these keys again (0026_member_keys)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
LOOKUPS = {"member_identity", "application_identity", "card_index", "certificate"}


def _seed(conn: Connection) -> dict[str, uuid.UUID]:
    ids = {k: uuid.uuid4() for k in ("union", "kept", "left", "card", "next", "course", "signup")}
    conn.execute(
        insert(Org).values(id=ids["union"], code="U", name="基层工会", level="grassroots",
                           parent_id=None, path="u/", status="active")
    )  # fmt: skip
    conn.execute(
        insert(Member),
        [
            {"id": ids[key], "member_no": f"0000000000{n}", "name": "测试", "id_number_enc": "x",
             "id_number_hash": f"h-{key}", "data_key_id": "t1", "gender": "M",
             "org_id": ids["union"], "org_path": "u/", "status": status, "categories": [],
             "extra": {}}
            for n, (key, status) in enumerate((("kept", "active"), ("left", "left")))
        ],
    )  # fmt: skip
    conn.execute(
        insert(Card),
        [
            {"id": ids["card"], "member_id": ids["kept"], "number": "9000000000000001",
             "generation": 1, "status": "revoked", "status_index": 7, "issued_at": NOW,
             "previous_id": None},
            {"id": ids["next"], "member_id": ids["kept"], "number": "9000000000000002",
             "generation": 2, "status": "active", "status_index": 8, "issued_at": NOW,
             "previous_id": ids["card"]},  # a replacement: the foreign key with the member
        ],
    )  # fmt: skip
    conn.execute(
        insert(CardEvent).values(id=uuid.uuid4(), card_id=ids["next"], member_id=ids["kept"],
                                 kind="reissued", generation=2, actor_name="u.admin", at=NOW)
    )  # fmt: skip
    apps = [  # key, ID number's hash, status, review flag, member id (set at approval)
        ("new", "h-new", "pending", None, None),
        ("new_twin", "h-new", "pending", "pending", None),  # the same person, another phone
        ("approved", "h-kept", "approved", None, ids["kept"]),
        ("returning", "h-left", "rejected", None, None),
        ("gone", "h-gone", "withdrawn", None, None),
    ]
    for key, *_ in apps:
        ids[f"app_{key}"] = uuid.uuid4()
    conn.execute(
        insert(JoinApplication),
        [
            {"id": ids[f"app_{key}"], "org_id": ids["union"], "org_path": "u/", "status": status,
             "source": "self", "name": "申请人", "id_number_enc": "x", "id_number_hash": digest,
             "phone_enc": "x", "phone_hash": f"p-{key}", "data_key_id": "t1",
             "birth_date": date(1990, 1, 1), "gender": "M", "privacy_version": "1",
             "consented_at": NOW, "submitted_at": NOW, "review_flag": flag, "member_id": member}
            for key, digest, status, flag, member in apps
        ],
    )  # fmt: skip
    conn.execute(
        insert(Activity).values(
            id=ids["course"], org_id=ids["union"], org_path="u/", kind="training",
            status="published", title="课程", description="d", starts_at=NOW, ends_at=NOW,
            place="p", capacity=10, eligibility={}, signup_opens_at=NOW, signup_closes_at=NOW,
            cancel_deadline=NOW, cost_fen=0, subsidy_fen=0, signed_count=1, waitlist_seq=0,
            created_by="u.admin",
        )
    )  # fmt: skip
    conn.execute(
        insert(ActivitySignup).values(id=ids["signup"], activity_id=ids["course"],
                                      member_id=ids["kept"], status="signed", signed_up_at=NOW,
                                      passed=True, cert_no="TC2026ABCDEF")
    )  # fmt: skip
    return ids


def _lookups(conn: Connection) -> dict[str, set[tuple[Any, ...]]]:
    names = set(inspect(conn).get_table_names())
    return {
        t: {tuple(r) for r in conn.execute(text(f"SELECT * FROM {t}"))} if t in names else set()
        for t in sorted(LOOKUPS)
    }


def _app_members(conn: Connection) -> dict[uuid.UUID, uuid.UUID | None]:
    rows = conn.execute(
        select(JoinApplication.__table__.c.id, JoinApplication.__table__.c.member_id)
    )
    return {r[0]: r[1] for r in rows}


def _uniques(conn: Connection, table: str) -> set[tuple[str, ...]]:
    return {tuple(u["column_names"]) for u in inspect(conn).get_unique_constraints(table)}


def _as_uuid(value: Any) -> uuid.UUID:
    """A GUID read by raw SQL: a uuid on PostgreSQL, 16 bytes on SQLite."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(bytes=value)


async def _migrate(url: str, action: str, revision: str) -> None:
    """As ``unioncard database upgrade`` runs it: on SQLite with foreign keys off for the
    migration's connection (migrations/env.py), since batch mode recreates referenced tables."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                raw = await conn.get_raw_connection()
                assert raw.driver_connection is not None
                await raw.driver_connection.execute("PRAGMA foreign_keys=OFF")
            async with conn.begin():
                await conn.run_sync(_alembic, action, revision)
    finally:
        await engine.dispose()


def _check_upgraded(url: str, ids: dict[str, uuid.UUID]) -> None:
    lookups = {
        t: {tuple(_as_uuid(v) if isinstance(v, bytes) else v for v in row) for row in rows}
        for t, rows in asyncio.run(_run(url, _lookups)).items()
    }
    given = asyncio.run(_run(url, _app_members))
    new_id = given[ids["app_new"]]
    assert new_id is not None and new_id not in (ids["kept"], ids["left"])
    assert given[ids["app_new_twin"]] == new_id  # one person, one member id
    assert given[ids["app_approved"]] == ids["kept"]
    assert given[ids["app_returning"]] == ids["left"]  # the member with that ID number
    assert given[ids["app_gone"]] not in (None, new_id, ids["kept"], ids["left"])
    assert lookups == {
        "member_identity": {("h-kept", ids["kept"]), ("h-left", ids["left"])},
        "application_identity": {("h-new", new_id, ids["app_new"])},  # flagged: no hold
        "card_index": {(7, ids["kept"], ids["card"]), (8, ids["kept"], ids["next"])},
        "certificate": {("TC2026ABCDEF", ids["kept"], ids["signup"])},
    }
    assert ("member_no", "id") in asyncio.run(_run(url, _uniques, "member"))
    assert {("number", "member_id"), ("member_id", "id")} <= asyncio.run(
        _run(url, _uniques, "card")
    )


def _duplicate_identity(conn: Connection) -> None:
    conn.execute(
        text("INSERT INTO member_identity (id_number_hash, member_id) VALUES ('h-kept', :m)"),
        {"m": uuid.uuid4() if conn.dialect.name == "postgresql" else uuid.uuid4().bytes},
    )


def _check(url: str) -> None:
    asyncio.run(_run(url, _alembic, "upgrade", BEFORE))
    ids = asyncio.run(_run(url, _seed))
    asyncio.run(_migrate(url, "upgrade", AFTER))
    _check_upgraded(url, ids)
    # A second membership of an ID number is refused by the lookup table.
    with pytest.raises(IntegrityError):
        asyncio.run(_run(url, _duplicate_identity))

    asyncio.run(_migrate(url, "downgrade", BEFORE))
    assert asyncio.run(_run(url, _lookups)) == {t: set() for t in sorted(LOOKUPS)}
    given = asyncio.run(_run(url, _app_members))
    # Before 0025 an application named its member only once approved.
    assert given == {k: (ids["kept"] if k == ids["app_approved"] else None) for k in given}
    assert {("member_no",), ("id_number_hash",)} <= asyncio.run(_run(url, _uniques, "member"))
    assert {("number",), ("status_index",)} <= asyncio.run(_run(url, _uniques, "card"))
    assert ("cert_no",) in asyncio.run(_run(url, _uniques, "activity_signup"))

    asyncio.run(_migrate(url, "upgrade", AFTER))  # and up again, the same
    assert asyncio.run(_run(url, _app_members))[ids["app_returning"]] == ids["left"]


def test_citus_keys_sqlite(sqlite_url: str) -> None:  # noqa: F811
    _check(sqlite_url)


@pytest.mark.postgres
def test_citus_keys_postgres(fresh_pg_url: str) -> None:  # noqa: F811
    _check(fresh_pg_url)
