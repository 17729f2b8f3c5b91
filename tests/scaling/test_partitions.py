"""The scan log partitioned by month (migration ``0020_partitions``, PostgreSQL): the partition
job makes months ahead (moving rows the default partition caught), the retention purge and
``unioncard merchants purge-scans`` drop whole expired months and delete only the rest row by
row; the migration converts a database at the revision before it with rows and converts it back.
On SQLite the table stays plain and the same migration only adds the reversal's member."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner
from sqlalchemy import Table, column, insert, inspect, select, table, text
from sqlalchemy.engine import Connection

from benefits.models import Program, ProgramVersion, Redemption, Reversal
from cardsvc.flows.partitions import PARTITION_JOB, make_partitions_ahead
from cardsvc.jobs.kinds import all_handlers, schedule_for, services_for
from cardsvc.jobs.models import Job, JobStatus
from cardsvc.jobs.runner import JobRunner
from cardsvc.jobs.schedule import Scheduler
from cardsvc.kernel.db import make_engine, make_sessionmaker
from cardsvc.kernel.partitions import Month
from cardsvc.kernel.settings import Settings
from cardsvc.privacy.retention import run_retention
from merchants.cli import merchants_group
from merchants.models import ScanLog
from tests.conftest import make_test_settings
from tests.merchants.terminal.test_reversal_ledger import fresh_app
from tests.scaling.pgscratch import scratch_pg
from tests.test_migrations import _alembic, _run, script

NOW = datetime.now(UTC)
SCAN = "merchant_scan_log"
# The revision before this one (0015_consent when written; whatever it is once re-chained).
BEFORE = str(script().get_revision("0020_partitions").down_revision)
_SCAN_T = cast(Table, ScanLog.__table__)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with scratch_pg("scanlog") as url:
        yield url


def _scan(at: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(), "merchant_id": uuid.uuid4(), "store_id": uuid.uuid4(),
        "terminal_id": uuid.uuid4(), "card_id": None, "member_id": uuid.uuid4(), "at": at,
        "result": "ok",
    }  # fmt: skip


def _where(conn: Connection) -> dict[datetime, str]:
    """Each scan's time → the partition (or table) that holds it."""
    rows = conn.execute(text(f"SELECT at, tableoid::regclass::text FROM {SCAN}"))
    return {at: where for at, where in rows}


def _partitions(conn: Connection) -> set[str]:
    rows = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            f"WHERE i.inhparent = '{SCAN}'::regclass"
        )
    )
    return {r[0] for r in rows}


# ----------------------------------------------------------------- the job and retention


async def _run_partition_job(settings: Settings) -> dict[str, Any]:
    """Through the schedule and the job runner, as a worker runs it."""
    engine = make_engine(settings.database_url)
    try:
        only = dataclasses.replace(
            settings,
            retention_interval_hours=0,
            service_sweep_seconds=0,
            reconcile_interval_minutes=0,
            activity_reminder_minutes=0,
            voucher_lapse_minutes=0,
        )
        assert [p.kind for p in schedule_for(only)] == [PARTITION_JOB]
        runner = JobRunner(engine, only, all_handlers(), services=services_for(only))
        assert len(await Scheduler(engine, schedule_for(only), runner=runner).tick_once()) == 1
        assert await runner.run_once()
        async with make_sessionmaker(engine)() as session:
            job = await session.scalar(select(Job).where(Job.kind == PARTITION_JOB))
        assert job is not None and job.status == JobStatus.succeeded, job and job.error_en
        assert job.result is not None
        return job.result
    finally:
        await engine.dispose()


@pytest.mark.postgres
def test_job_makes_months_ahead_and_retention_drops_expired_months(
    pg_url: str, tmp_path: Path
) -> None:
    asyncio.run(_run(pg_url, _alembic, "upgrade", "heads"))
    settings = make_test_settings(pg_url, tmp_path)
    this = Month.of(NOW)
    # The migration made this month, three ahead and the default partition.
    made = asyncio.run(_run(pg_url, _partitions))
    assert made == {this.plus(i).name(SCAN) for i in range(4)} | {f"{SCAN}_default"}

    ages = [400, 200, 100, 95, 89, 1]
    past = [NOW - timedelta(days=d) for d in ages]
    soon, far = this.plus(5).start + timedelta(hours=1), NOW + timedelta(days=800)
    asyncio.run(
        _run(pg_url, lambda c: c.execute(insert(_SCAN_T), [_scan(t) for t in [*past, soon, far]]))
    )
    where = asyncio.run(_run(pg_url, _where))
    assert where[soon] == where[far] == where[past[0]] == f"{SCAN}_default"

    # The months of a year ago, as the job made them then: the rows move out of the default.
    async def _back_then() -> dict[str, list[str]]:
        engine = make_engine(pg_url)
        try:
            return await make_partitions_ahead(
                make_sessionmaker(engine), NOW - timedelta(days=420), 14
            )
        finally:
            await engine.dispose()

    assert asyncio.run(_back_then())[SCAN]
    # The job, on the schedule, five months ahead: the row five months out moves too.
    result = asyncio.run(
        _run_partition_job(dataclasses.replace(settings, partition_months_ahead=5))
    )
    assert result["made"][SCAN] == [this.plus(4).name(SCAN), this.plus(5).name(SCAN)]
    where = asyncio.run(_run(pg_url, _where))
    for at in [*past, soon]:
        assert where[at] == Month.of(at).name(SCAN), at
    assert where[far] == f"{SCAN}_default"  # no month made that far ahead

    # Retention (90 days): whole months before the cutoff dropped, the straddling month's old
    # rows deleted, the rest kept.
    out = asyncio.run(_retention(settings))
    assert out["scan_log"] == 4
    cutoff = NOW - timedelta(days=90)
    left = asyncio.run(_run(pg_url, _where))
    assert sorted(left) == sorted([*past[4:], soon, far])
    parts = asyncio.run(_run(pg_url, _partitions))
    expired = {Month.of(t).name(SCAN) for t in past[:4] if Month.of(t).end <= cutoff}
    assert expired and not (expired & parts)
    assert Month.of(cutoff).name(SCAN) in parts  # straddles the cutoff: kept, rows deleted

    # The operator's command, keeping 30 days: the 89-day-old scan's month goes whole if it
    # ended before the cutoff, its row in any case.
    cli = CliRunner().invoke(
        merchants_group,
        ["purge-scans", "--days", "30"],
        obj=fresh_app(settings),
        catch_exceptions=False,
    )
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout.strip().splitlines()[-1]) == {
        "deleted": 1,
        "retention_days": 30,
    }
    assert sorted(asyncio.run(_run(pg_url, _where))) == sorted([past[5], soon, far])


async def _retention(settings: Settings) -> dict[str, Any]:
    engine = make_engine(settings.database_url)
    try:
        return await run_retention(make_sessionmaker(engine), settings, now=NOW)
    finally:
        await engine.dispose()


# ----------------------------------------------------------------- the migration


def _seed_0015(conn: Connection) -> dict[str, Any]:
    """Scans over several months and a reversed redemption, at the revision before."""
    months = [datetime(2025, 3, 14, tzinfo=UTC), datetime(2026, 6, 30, 23, 59, tzinfo=UTC), NOW]
    scans = [_scan(t) for t in months]
    conn.execute(insert(_SCAN_T), scans)
    pid, vid, rid, member = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    conn.execute(
        insert(cast(Table, Program.__table__)).values(
            id=pid, code="P1", name="测试", owner_org_id=uuid.uuid4(), owner_org_path="a/",
            status="active", rules={}, timezone="Asia/Shanghai",
        )
    )  # fmt: skip
    conn.execute(
        insert(cast(Table, ProgramVersion.__table__)).values(
            id=vid, program_id=pid, number=1, rules={}, published_at=NOW
        )
    )
    conn.execute(
        insert(cast(Table, Redemption.__table__)).values(
            id=rid, checkout_id=rid, line=0, merchant_id=uuid.uuid4(), store_id=None,
            terminal_id=None, member_id=member, member_org_path="a/", card_id=None,
            program_id=pid, program_version_id=vid, version_number=1, amount_fen=1000,
            discount_fen=100, payable_fen=900, units=1, subsidy_fen=100, value_fen=100,
            occurred_at=NOW, idempotency_key="k1", fingerprint="f", token_id="t1", takes=[],
        )
    )  # fmt: skip
    # Only the columns of the revision before (no member_id yet): the table as it was then.
    now = cast(Table, Reversal.__table__).c
    then = ("id", "redemption_id", "checkout_id", "merchant_id", "reason", "reversed_at")
    before = table("benefit_reversal", *(column(c, now[c].type) for c in then))
    conn.execute(
        insert(before).values(
            id=uuid.uuid4(), redemption_id=rid, checkout_id=rid, merchant_id=uuid.uuid4(),
            reason="x", reversed_at=NOW,
        )
    )  # fmt: skip
    return {"scans": {s["id"]: s["at"] for s in scans}, "member": member, "redemption": rid}


def _scans_and_reversal(conn: Connection) -> tuple[dict[uuid.UUID, datetime], list[Any]]:
    """The scans by id, and the reversal's member where the column exists."""
    scans = {r[0]: r[1] for r in conn.execute(text(f"SELECT id, at FROM {SCAN}"))}
    cols = {c["name"] for c in inspect(conn).get_columns("benefit_reversal")}
    if "member_id" not in cols:
        return scans, []
    return scans, [r[0] for r in conn.execute(text("SELECT member_id FROM benefit_reversal"))]


def _is_partitioned(conn: Connection) -> bool:
    return (
        conn.execute(
            text(f"SELECT 1 FROM pg_partitioned_table WHERE partrelid = '{SCAN}'::regclass")
        ).first()
        is not None
    )


def _leftovers(conn: Connection) -> set[str]:
    rows = conn.execute(
        text("SELECT relname FROM pg_class WHERE relname LIKE 'merchant\\_scan\\_log\\_%'")
    )
    return {r[0] for r in rows}


@pytest.mark.postgres
def test_upgrade_from_0015_moves_rows_into_their_months_and_back(pg_url: str) -> None:
    asyncio.run(_run(pg_url, _alembic, "upgrade", BEFORE))
    seeded = asyncio.run(_run(pg_url, _seed_0015))
    asyncio.run(_run(pg_url, _alembic, "upgrade", "heads"))

    assert asyncio.run(_run(pg_url, _is_partitioned))
    where = asyncio.run(_run(pg_url, _where))
    assert sorted(where) == sorted(seeded["scans"].values())
    for at, part in where.items():
        assert part == Month.of(at).name(SCAN)  # each row in its own month, none in the default
    parts = asyncio.run(_run(pg_url, _partitions))
    assert {
        Month(2025, 3).name(SCAN),
        Month(2026, 6).name(SCAN),
        Month.of(NOW).plus(3).name(SCAN),
    } <= parts
    _, member = asyncio.run(_run(pg_url, _scans_and_reversal))
    assert member == [seeded["member"]]
    # The key now needs the member: the same redemption cannot be reversed twice.
    with pytest.raises(Exception, match="uq_benefit_reversal_member_redemption"):
        asyncio.run(
            _run(
                pg_url,
                lambda c: c.execute(
                    text(
                        "INSERT INTO benefit_reversal (id, redemption_id, member_id, checkout_id, "
                        "merchant_id, reversed_at) VALUES (:id, :r, :m, :r, :r, now())"
                    ).bindparams(id=uuid.uuid4(), r=seeded["redemption"], m=seeded["member"])
                ),
            )
        )

    asyncio.run(_run(pg_url, _alembic, "downgrade", BEFORE))
    assert not asyncio.run(_run(pg_url, _is_partitioned))
    scans, member = asyncio.run(_run(pg_url, _scans_and_reversal))
    assert scans == seeded["scans"] and member == []
    assert asyncio.run(_run(pg_url, _leftovers)) == set()  # no partition left behind
    asyncio.run(_run(pg_url, _alembic, "upgrade", "heads"))  # and up again
    assert asyncio.run(_run(pg_url, _is_partitioned))


def test_upgrade_from_0015_on_sqlite_keeps_the_table_plain(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    asyncio.run(_run(url, _alembic, "upgrade", BEFORE))
    seeded = asyncio.run(_run(url, _seed_0015))
    asyncio.run(_run(url, _alembic, "upgrade", "heads"))
    scans, member = asyncio.run(_run(url, _scans_and_reversal))
    assert len(scans) == 3 and len(member) == 1
    # The partition job runs and finds nothing to do; retention deletes rows as before.
    settings = make_test_settings(url, tmp_path)
    assert asyncio.run(_run_partition_job(settings))["made"] == {SCAN: [], "benefit_redemption": []}
    assert asyncio.run(_retention(settings))["scan_log"] == 2  # March 2025, June 2026
    asyncio.run(_run(url, _alembic, "downgrade", BEFORE))
    scans, member = asyncio.run(_run(url, _scans_and_reversal))
    assert len(scans) == 1 and member == []  # the recent one
    assert seeded["member"]
