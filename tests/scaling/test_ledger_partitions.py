"""The redemption ledger partitioned by month (migration ``0023_ledger_partitions``,
PostgreSQL): redemptions, retries, token replays and reversals across a month boundary; the
partition job makes the ledger's months ahead and retention leaves them (the ledger is the
financial record, never deleted); the migration converts a database with ledger rows and
converts it back. On SQLite the ledger stays plain and the same migration fills the lookup
tables of idempotency keys and tokens."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Table, insert, inspect, select, text
from sqlalchemy.engine import Connection

from benefits.engine.checkout import find_redemption
from benefits.engine.redeem import redeem
from benefits.engine.reverse import reverse
from benefits.errors import AlreadyReversed, TokenReplayed
from benefits.models import (
    Program,
    ProgramVersion,
    Redemption,
    RedemptionKey,
    RedemptionToken,
    Reversal,
)
from cardsvc.flows.partitions import make_partitions_ahead
from cardsvc.kernel.db import make_engine, make_sessionmaker
from cardsvc.kernel.partitions import Month
from tests.benefits.conftest import CITY_PATH, member, merchant, published, rules
from tests.conftest import make_test_settings
from tests.scaling.pgscratch import scratch_pg
from tests.scaling.test_partitions import _retention, _run_partition_job
from tests.test_migrations import _alembic, _run, script

NOW = datetime.now(UTC)
LEDGER = "benefit_redemption"
BEFORE = str(script().get_revision("0023_ledger_partitions").down_revision)
_R = cast(Table, Redemption.__table__)
_K = cast(Table, RedemptionKey.__table__)
_T = cast(Table, RedemptionToken.__table__)
# The last millisecond of January 2026 and the first second of February.
JAN_END = datetime(2026, 1, 31, 23, 59, 59, 999_000, tzinfo=UTC)
FEB = datetime(2026, 2, 1, 0, 0, 0, 500_000, tzinfo=UTC)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with scratch_pg("ledger") as url:
        yield url


def _where(conn: Connection) -> dict[uuid.UUID, str]:
    """Each ledger row's id → the partition (or table) that holds it."""
    rows = conn.execute(text(f"SELECT id, tableoid::regclass::text FROM {LEDGER}"))
    return {i: where for i, where in rows}


def _partitions(conn: Connection) -> set[str]:
    rows = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            f"WHERE i.inhparent = '{LEDGER}'::regclass"
        )
    )
    return {r[0] for r in rows}


def _is_partitioned(conn: Connection) -> bool:
    row = conn.execute(
        text(f"SELECT 1 FROM pg_partitioned_table WHERE partrelid = '{LEDGER}'::regclass")
    ).first()
    return row is not None


def _count(table: str) -> Any:
    return lambda conn: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()


# ----------------------------------------------------------------- the money path


def _rules() -> dict[str, Any]:
    return {
        "limits": [
            {"key": "per_month", "metric": "count", "scope": "member", "period": "month",
             "limit": 5},
            {"key": "budget", "metric": "amount", "scope": "program", "period": "month",
             "limit": 1_000_000},
        ]
    }  # fmt: skip


async def _across_the_boundary(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        # January and February 2026 made as the job made them then.
        await make_partitions_ahead(make_sessionmaker(engine), JAN_END, 1)
        p = await published(engine, CITY_PATH, **_rules())
        m, shop = member(), merchant()
        kw: dict[str, Any] = {"member": m, "merchant": shop, "program_ids": p.id}
        async with engine.connect() as conn:
            first = await redeem(
                conn, **kw, amount_fen=10_000, idempotency_key="k1", at=JAN_END, token_id="t1"
            )
            # The retry arrives in February: the January checkout, replayed, nothing charged.
            retry = await redeem(
                conn, **kw, amount_fen=10_000, idempotency_key="k1", at=FEB, token_id="t1"
            )
            # The same token under another key, in February: refused.
            with pytest.raises(TokenReplayed):
                await redeem(
                    conn, **kw, amount_fen=5_000, idempotency_key="k2", at=FEB, token_id="t1"
                )
            second = await redeem(conn, **kw, amount_fen=5_000, idempotency_key="k3", at=FEB)
        # Inside a caller's transaction (the SQLAlchemy statements): the retry is replayed too.
        async with engine.begin() as conn:
            again = await redeem(conn, **kw, amount_fen=10_000, idempotency_key="k1", at=FEB)
        async with engine.connect() as conn:
            found = await find_redemption(conn, redemption_id=first.redemption_id)
            by_key = await find_redemption(conn, merchant_id=shop.merchant_id, idempotency_key="k1")
            undone = await reverse(
                conn, redemption_id=first.redemption_id, merchant_id=shop.merchant_id, at=FEB
            )
            with pytest.raises(AlreadyReversed):
                await reverse(conn, redemption_id=first.redemption_id, at=FEB)
            after = await find_redemption(conn, redemption_id=first.redemption_id)
            counters = {
                (r[0], r[1]): r[2]
                for r in await conn.execute(
                    text(
                        "SELECT policy_key, period_key, used FROM benefit_counter "
                        "WHERE program_id = :p UNION ALL "
                        "SELECT policy_key, period_key, used FROM benefit_member_counter "
                        "WHERE program_id = :p"
                    ),
                    {"p": p.id},
                )
            }
        return {
            "first": first, "retry": retry, "second": second, "again": again, "found": found,
            "by_key": by_key, "undone": undone, "after": after, "counters": counters,
        }  # fmt: skip
    finally:
        await engine.dispose()


@pytest.mark.postgres
def test_redeem_retry_token_and_reversal_across_a_month_boundary(pg_url: str) -> None:
    asyncio.run(_run(pg_url, _alembic, "upgrade", "heads"))
    out = asyncio.run(_across_the_boundary(pg_url))
    first, retry, second = out["first"], out["retry"], out["second"]
    assert not first.replayed and first.discount_fen == 1_000
    assert retry.replayed and retry.redemption_id == first.redemption_id
    assert out["again"].replayed and out["again"].redemption_id == first.redemption_id
    assert out["found"].redemption_id == out["by_key"].redemption_id == first.redemption_id
    assert out["undone"].restored and out["after"].reversed
    # One charge per checkout (the retries charged nothing); the reversed one given back.
    used = out["counters"]
    assert sum(n for (k, _), n in used.items() if k == "per_month") == 1
    assert sum(n for (k, _), n in used.items() if k == "budget") == 500
    where = asyncio.run(_run(pg_url, _where))
    assert where == {
        first.redemption_id: Month(2026, 1).name(LEDGER),
        second.redemption_id: Month(2026, 2).name(LEDGER),
    }
    assert asyncio.run(_run(pg_url, _count("benefit_redemption_key"))) == 2
    assert asyncio.run(_run(pg_url, _count("benefit_redemption_token"))) == 1


# ----------------------------------------------------------------- the job and retention


async def _old_redemption(url: str, at: datetime) -> uuid.UUID:
    engine = make_engine(url)
    try:
        p = await published(engine, CITY_PATH)
        async with engine.connect() as conn:
            r = await redeem(
                conn, member=member(), merchant=merchant(), program_ids=p.id, amount_fen=1_000,
                idempotency_key="old", at=at,
            )  # fmt: skip
        return r.redemption_id
    finally:
        await engine.dispose()


@pytest.mark.postgres
def test_job_makes_ledger_months_ahead_and_retention_keeps_every_month(
    pg_url: str, tmp_path: Path
) -> None:
    asyncio.run(_run(pg_url, _alembic, "upgrade", "heads"))
    settings = make_test_settings(pg_url, tmp_path)
    this = Month.of(NOW)
    made = asyncio.run(_run(pg_url, _partitions))
    assert made == {this.plus(i).name(LEDGER) for i in range(4)} | {f"{LEDGER}_default"}

    # A redemption of 400 days ago lands in the default partition until its month is made.
    old_at = NOW - timedelta(days=400)
    old = asyncio.run(_old_redemption(pg_url, old_at))
    assert asyncio.run(_run(pg_url, _where)) == {old: f"{LEDGER}_default"}

    async def _back_then() -> dict[str, list[str]]:
        engine = make_engine(pg_url)
        try:
            return await make_partitions_ahead(make_sessionmaker(engine), old_at, 0)
        finally:
            await engine.dispose()

    assert asyncio.run(_back_then())[LEDGER] == [Month.of(old_at).name(LEDGER)]
    assert asyncio.run(_run(pg_url, _where)) == {old: Month.of(old_at).name(LEDGER)}

    # The job, on the schedule, five months ahead: the ledger's two further months are made.
    result = asyncio.run(
        _run_partition_job(dataclasses.replace(settings, partition_months_ahead=5))
    )
    assert result["made"][LEDGER] == [this.plus(4).name(LEDGER), this.plus(5).name(LEDGER)]

    # Retention (scan log 90 days) leaves the ledger whole: every month and its row stay.
    before = asyncio.run(_run(pg_url, _partitions))
    asyncio.run(_retention(settings))
    assert asyncio.run(_run(pg_url, _partitions)) == before
    assert asyncio.run(_run(pg_url, _where)) == {old: Month.of(old_at).name(LEDGER)}
    assert asyncio.run(_find(pg_url, old)) == old


async def _find(url: str, redemption_id: uuid.UUID) -> uuid.UUID | None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            found = await find_redemption(conn, redemption_id=redemption_id)
        return None if found is None else found.redemption_id
    finally:
        await engine.dispose()


# ----------------------------------------------------------------- the migration


def _line(checkout: uuid.UUID, line: int, at: datetime, **kw: Any) -> dict[str, Any]:
    values = {
        "id": checkout if line == 0 else uuid.uuid4(), "checkout_id": checkout, "line": line,
        "merchant_id": kw["merchant"], "store_id": None, "terminal_id": None,
        "member_id": kw["member"], "member_org_path": CITY_PATH, "card_id": None,
        "program_id": kw["program"], "program_version_id": kw["version"], "version_number": 1,
        "amount_fen": 1000, "discount_fen": 100, "payable_fen": 900, "units": 1,
        "subsidy_fen": 100, "value_fen": 100, "occurred_at": at,
        "idempotency_key": kw["key"], "fingerprint": "f", "token_id": kw.get("token"),
        "takes": [],
    }  # fmt: skip
    return values


def _seed(conn: Connection) -> dict[str, Any]:
    """Checkouts over three months (one of two lines, two with a QR token) and a reversal,
    written as the revision before wrote them (ids of the clock, not of the time)."""
    pid, vid = uuid.uuid4(), uuid.uuid4()
    conn.execute(
        insert(cast(Table, Program.__table__)).values(
            id=pid, code="P1", name="测试", owner_org_id=uuid.uuid4(), owner_org_path=CITY_PATH,
            status="active", rules={}, timezone="Asia/Shanghai",
        )
    )  # fmt: skip
    conn.execute(
        insert(cast(Table, ProgramVersion.__table__)).values(
            id=vid, program_id=pid, number=1, rules=rules(), published_at=NOW
        )
    )
    shop, who = uuid.uuid4(), uuid.uuid4()
    base = {"merchant": shop, "member": who, "program": pid, "version": vid}
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    times = {
        a: datetime(2025, 3, 14, tzinfo=UTC),
        b: datetime(2026, 6, 30, 23, 59, tzinfo=UTC),
        c: NOW,
    }
    rows = [
        _line(a, 0, times[a], **base, key="ka", token="ta"),
        _line(a, 1, times[a], **base, key="ka", token="ta"),
        _line(b, 0, times[b], **base, key="kb"),
        _line(c, 0, times[c], **base, key="kc", token="tc"),
    ]
    conn.execute(insert(_R), rows)
    conn.execute(
        insert(cast(Table, Reversal.__table__)).values(
            id=uuid.uuid4(), redemption_id=b, member_id=who, checkout_id=b, merchant_id=shop,
            reason="x", reversed_at=NOW,
        )
    )  # fmt: skip
    return {"rows": {r["id"]: r["occurred_at"] for r in rows}, "a": a, "b": b, "shop": shop}


def _ledger(conn: Connection) -> dict[uuid.UUID, datetime]:
    return {r[0]: r[1] for r in conn.execute(select(_R.c.id, _R.c.occurred_at))}


def _lookups(conn: Connection) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    names = set(inspect(conn).get_table_names())
    if "benefit_redemption_key" not in names:
        return set(), set()
    keys = conn.execute(select(_K.c.idempotency_key, _K.c.checkout_id))
    tokens = conn.execute(select(_T.c.token_id, _T.c.checkout_id))
    return {tuple(r) for r in keys}, {tuple(r) for r in tokens}


def _uniques(conn: Connection) -> set[str]:
    return {u["name"] for u in inspect(conn).get_unique_constraints(LEDGER) if u["name"]}


def _leftovers(conn: Connection) -> set[str]:
    rows = conn.execute(
        text("SELECT relname FROM pg_class WHERE relname LIKE 'benefit\\_redemption\\_%' "
             "AND relkind IN ('r', 'p')")
    )  # fmt: skip
    return {r[0] for r in rows}


async def _retry_and_reverse(url: str, seeded: dict[str, Any]) -> tuple[Any, Any]:
    """Engine reads of the converted rows: a lookup by key, a reversal of a two-line checkout."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            found = await find_redemption(conn, merchant_id=seeded["shop"], idempotency_key="ka")
            undone = await reverse(conn, redemption_id=seeded["a"], merchant_id=seeded["shop"])
        return found, undone
    finally:
        await engine.dispose()


@pytest.mark.postgres
def test_upgrade_partitions_a_ledger_with_rows_and_back(pg_url: str) -> None:
    asyncio.run(_run(pg_url, _alembic, "upgrade", BEFORE))
    seeded = asyncio.run(_run(pg_url, _seed))
    asyncio.run(_run(pg_url, _alembic, "upgrade", "heads"))

    assert asyncio.run(_run(pg_url, _is_partitioned))
    assert asyncio.run(_run(pg_url, _ledger)) == seeded["rows"]
    for row_id, part in asyncio.run(_run(pg_url, _where)).items():
        assert part == Month.of(seeded["rows"][row_id]).name(LEDGER)  # none in the default
    parts = asyncio.run(_run(pg_url, _partitions))
    assert {Month(2025, 3).name(LEDGER), Month.of(NOW).plus(3).name(LEDGER)} <= parts
    keys, tokens = asyncio.run(_run(pg_url, _lookups))
    assert {k for k, _ in keys} == {"ka", "kb", "kc"} and {t for t, _ in tokens} == {"ta", "tc"}
    assert asyncio.run(_run(pg_url, _uniques)) == set()
    found, undone = asyncio.run(_retry_and_reverse(pg_url, seeded))
    assert found.redemption_id == seeded["a"] and len(found.lines) == 2
    assert undone.redemption_id == seeded["a"]
    # A second row under a converted key is refused by the lookup table.
    with pytest.raises(Exception, match="pk_benefit_redemption_key"):
        asyncio.run(
            _run(
                pg_url,
                lambda c: c.execute(
                    text(
                        "INSERT INTO benefit_redemption_key VALUES (:m, 'kb', :i, :i, now())"
                    ).bindparams(m=seeded["shop"], i=uuid.uuid4())
                ),
            )
        )

    asyncio.run(_run(pg_url, _alembic, "downgrade", BEFORE))
    assert not asyncio.run(_run(pg_url, _is_partitioned))
    assert asyncio.run(_run(pg_url, _ledger)) == seeded["rows"]
    assert asyncio.run(_run(pg_url, _uniques)) == {
        "uq_benefit_redemption_idem",
        "uq_benefit_redemption_token",
    }
    assert asyncio.run(_run(pg_url, _leftovers)) == set()  # no partition, no lookup table
    asyncio.run(_run(pg_url, _alembic, "upgrade", "heads"))  # and up again
    assert asyncio.run(_run(pg_url, _is_partitioned))
    assert asyncio.run(_run(pg_url, _ledger)) == seeded["rows"]


def test_upgrade_on_sqlite_keeps_the_ledger_plain(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    asyncio.run(_run(url, _alembic, "upgrade", BEFORE))
    seeded = asyncio.run(_run(url, _seed))
    asyncio.run(_run(url, _alembic, "upgrade", "heads"))
    assert asyncio.run(_run(url, _ledger)) == seeded["rows"]
    keys, tokens = asyncio.run(_run(url, _lookups))
    assert {k for k, _ in keys} == {"ka", "kb", "kc"} and {t for t, _ in tokens} == {"ta", "tc"}
    assert asyncio.run(_run(url, _uniques)) == set()
    found, undone = asyncio.run(_retry_and_reverse(url, seeded))
    assert found.redemption_id == seeded["a"] and undone.redemption_id == seeded["a"]
    # The partition job finds nothing to do on SQLite.
    settings = make_test_settings(url, tmp_path)
    assert asyncio.run(_run_partition_job(settings))["made"] == {
        "merchant_scan_log": [],
        LEDGER: [],
    }
    asyncio.run(_run(url, _alembic, "downgrade", BEFORE))
    assert asyncio.run(_run(url, _ledger)) == seeded["rows"]
    assert asyncio.run(_run(url, _uniques)) == {
        "uq_benefit_redemption_idem",
        "uq_benefit_redemption_token",
    }
