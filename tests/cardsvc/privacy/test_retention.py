"""Retention: old scans and ended applications are purged in batches; codes do not outlive
their TTL; the daily schedule enqueues exactly one purge job per period."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from redis.asyncio import Redis
from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.jobs.kinds import all_handlers, schedule_for, services_for
from cardsvc.jobs.models import Job, JobSchedule, JobStatus
from cardsvc.jobs.runner import JobRunner
from cardsvc.jobs.schedule import Periodic, Scheduler, tick
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.kv import MemoryKV, RedisKV
from cardsvc.kernel.settings import Settings
from cardsvc.membership.models import JoinApplication, RequestStatus
from cardsvc.privacy.retention import RETENTION_JOB, purge_otp, run_retention
from merchants.models import ScanLog

NOW = datetime.now(UTC)


async def _scans(engine: AsyncEngine, ages_days: list[float]) -> None:
    rows = [
        {
            "id": uuid.uuid4(),
            "merchant_id": uuid.uuid4(),
            "store_id": uuid.uuid4(),
            "terminal_id": uuid.uuid4(),
            "member_id": uuid.uuid4(),
            "card_id": None,
            "at": NOW - timedelta(days=d),
            "result": "ok",
        }
        for d in ages_days
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(cast(Table, ScanLog.__table__)), rows)


async def _count(engine: AsyncEngine, model: Any, *conds: Any) -> int:
    async with make_sessionmaker(engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*conds)) or 0)


async def test_purge_deletes_only_what_is_past_retention(
    engine: AsyncEngine, demo: dict[str, Any], settings: Settings
) -> None:
    await _scans(engine, [91, 95, 200, 400, 89, 1])
    async with make_sessionmaker(engine)() as session, session.begin():
        apps = (
            await session.scalars(
                select(JoinApplication).where(JoinApplication.status == RequestStatus.pending)
            )
        ).all()
        assert len(apps) >= 4
        # Rejected long ago, withdrawn long ago, rejected recently, still pending (kept).
        for app, status, age in zip(
            apps,
            (RequestStatus.rejected, RequestStatus.withdrawn, RequestStatus.rejected),
            (200, 181, 10),
            strict=False,
        ):
            app.status, app.decided_at = status, NOW - timedelta(days=age)
        old_ids = {apps[0].id, apps[1].id}
    pending_before = await _count(
        engine, JoinApplication, JoinApplication.status == RequestStatus.pending
    )
    kv = MemoryKV()
    await kv.set("otp:{x}", b"1", 1)
    await kv.set("otp:{y}", b"1", 300)
    await asyncio.sleep(1.1)

    seen: list[tuple[str, int]] = []

    async def _on_batch(name: str, total: int) -> None:
        seen.append((name, total))

    out = await run_retention(
        make_sessionmaker(engine), settings, kv=kv, now=NOW, batch=2, on_batch=_on_batch
    )
    assert out["scan_log"] == 4 and out["join_applications"] == 2 and out["otp_codes"] == 1
    assert ("scan_log", 2) in seen and ("scan_log", 4) in seen  # in batches of two
    assert await _count(engine, ScanLog) == 2
    assert await _count(engine, JoinApplication, JoinApplication.id.in_(old_ids)) == 0
    assert (
        await _count(engine, JoinApplication, JoinApplication.status == RequestStatus.pending)
        == pending_before
    )
    assert await kv.get("otp:{y}") == b"1"
    again = await run_retention(make_sessionmaker(engine), settings, kv=kv, now=NOW)
    assert again["scan_log"] == 0 and again["join_applications"] == 0

    # Shorter retention from settings: the 89-day-old scan goes too.
    import dataclasses

    short = dataclasses.replace(settings, scan_log_retention_days=30)
    assert (await run_retention(make_sessionmaker(engine), short, now=NOW))["scan_log"] == 1


@pytest.mark.redis
async def test_codes_without_expiry_are_removed_from_redis(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        kv = RedisKV(redis)
        await redis.set("uc:otp:{lost}", b"x")  # a code that lost its TTL
        await redis.set("uc:rl:{otp-phone:lost}", b"3")
        await kv.set("otp:{live}", b"y", 300)
        await redis.set("uc:other", b"z")  # not a code: untouched
        assert await purge_otp(kv) == 2
        assert await redis.exists("uc:otp:{lost}", "uc:rl:{otp-phone:lost}") == 0
        assert await redis.exists("uc:otp:{live}", "uc:other") == 2
    finally:
        await redis.aclose()


async def test_schedule_enqueues_one_job_per_period(engine: AsyncEngine) -> None:
    entry = [Periodic("privacy.retention", RETENTION_JOB, timedelta(hours=24))]
    maker = make_sessionmaker(engine)

    async def _tick(at: datetime) -> list[uuid.UUID]:
        async with maker() as session, session.begin():
            return await tick(session, entry, at)

    assert len(await _tick(NOW)) == 1
    assert await _tick(NOW + timedelta(hours=1)) == []
    assert await _tick(NOW + timedelta(hours=23, minutes=59)) == []
    assert len(await _tick(NOW + timedelta(hours=24))) == 1
    # Several workers ticking at once when a run is due: exactly one enqueues it.
    due = NOW + timedelta(hours=48, seconds=1)
    results = await asyncio.gather(*(_tick(due) for _ in range(4)))
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    assert await _count(engine, Job, Job.kind == RETENTION_JOB) == 3
    async with maker() as session:
        row = await session.scalar(select(JobSchedule))
        assert row is not None and row.next_run_at == due + timedelta(hours=24)


async def test_retention_job_runs_on_the_job_runner(
    engine: AsyncEngine, demo: dict[str, Any], settings: Settings
) -> None:
    await _scans(engine, [100, 120, 5])
    import dataclasses

    assert RETENTION_JOB in [p.kind for p in schedule_for(settings)]
    # Only the retention purge here (the service-request sweep, the reconciliation, the
    # partitions made ahead and the activity reminders have their own tests).
    settings = dataclasses.replace(
        settings,
        service_sweep_seconds=0,
        reconcile_interval_minutes=0,
        partition_interval_hours=0,
        activity_reminder_minutes=0,
        voucher_lapse_minutes=0,
    )
    assert [p.kind for p in schedule_for(settings)] == [RETENTION_JOB]

    assert schedule_for(dataclasses.replace(settings, retention_interval_hours=0)) == []
    runner = JobRunner(engine, settings, all_handlers(), services=services_for(settings))
    scheduler = Scheduler(engine, schedule_for(settings), runner=runner)
    assert len(await scheduler.tick_once()) == 1
    assert await runner.run_once()
    async with make_sessionmaker(engine)() as session:
        job = await session.scalar(select(Job).where(Job.kind == RETENTION_JOB))
        assert job is not None and job.status == JobStatus.succeeded, job.error_en
        assert job.result is not None and job.result["scan_log"] == 2
        assert job.rows_done >= 2
    assert await _count(engine, ScanLog) == 1
    # Not due again until the interval has passed.
    assert await scheduler.tick_once() == []
    async with make_sessionmaker(engine)() as session, session.begin():
        await session.execute(update(JobSchedule).values(next_run_at=NOW - timedelta(seconds=1)))
    assert len(await scheduler.tick_once()) == 1
