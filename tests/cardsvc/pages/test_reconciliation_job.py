"""The reconciliation job: scheduled hourly by default (0 turns it off), run by the job runner,
its drift kept as the job's result and read back, scoped, by ``reconcile_status``; a staff
re-run is audited and not queued twice."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from benefits.models import Counter, Program
from cardsvc.flows.reconciliation import (
    RECONCILE_JOB,
    reconcile_status,
    request_reconcile,
)
from cardsvc.jobs.kinds import all_handlers, schedule_for, services_for
from cardsvc.jobs.models import Job, JobStatus
from cardsvc.jobs.runner import JobRunner
from cardsvc.jobs.schedule import Scheduler
from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.errors import Forbidden
from cardsvc.kernel.settings import Settings
from cardsvc.staff.models import StaffUser
from cardsvc.staff.service import principal_of


async def _drift(engine: AsyncEngine) -> uuid.UUID:
    async with make_sessionmaker(engine)() as session, session.begin():
        prog = (await session.scalars(select(Program).order_by(Program.code))).first()
        assert prog is not None
        session.add(
            Counter(
                id=uuid.uuid4(),
                program_id=prog.id,
                policy_key="drifted",
                metric="count",
                scope_key="p",
                period_key="2026-12",
                used=5,
                limit=100,
                last_take=0,
                stripes=1,
            )
        )
        return prog.id


async def _staff(engine: AsyncEngine, username: str) -> Any:
    async with make_sessionmaker(engine)() as session:
        user = await session.scalar(select(StaffUser).where(StaffUser.username == username))
        assert user is not None
        return principal_of(user)


async def test_scheduled_hourly_and_off_at_zero(settings: Settings) -> None:
    only = [p for p in schedule_for(settings) if p.kind == RECONCILE_JOB]
    assert len(only) == 1 and only[0].every == timedelta(minutes=60)
    off = dataclasses.replace(settings, reconcile_interval_minutes=0)
    assert RECONCILE_JOB not in [p.kind for p in schedule_for(off)]


async def test_the_schedule_runs_it_and_the_result_is_read_back_in_scope(
    engine: AsyncEngine, demo: dict[str, Any], settings: Settings
) -> None:
    program_id = await _drift(engine)
    settings = dataclasses.replace(
        settings,
        service_sweep_seconds=0,
        retention_interval_hours=0,
        partition_interval_hours=0,
        activity_reminder_minutes=0,
        voucher_lapse_minutes=0,
    )
    runner = JobRunner(engine, settings, all_handlers(), services=services_for(settings))
    scheduler = Scheduler(engine, schedule_for(settings), runner=runner)
    assert len(await scheduler.tick_once()) == 1
    assert await runner.run_once()
    benefits_staff, auditor_staff, admin = [
        await _staff(engine, u) for u in ("yc.benefits", "hb.auditor", "xl.admin")
    ]
    async with make_sessionmaker(engine)() as session:
        job = await session.scalar(select(Job).where(Job.kind == RECONCILE_JOB))
        assert job is not None and job.status == JobStatus.succeeded, job.error_en
        assert job.result is not None and job.result["drifts_total"] == 1
        counter = await session.scalar(select(Counter).where(Counter.policy_key == "drifted"))
        assert counter is not None and counter.used == 0  # fixed from the ledger

        benefits = await reconcile_status(session, benefits_staff)
        assert benefits.last is not None and not benefits.failed
        assert [d["program_id"] for d in benefits.drifts] == [str(program_id)]
        assert benefits.can_run and benefits.pending is None
        auditor = await reconcile_status(session, auditor_staff)
        assert len(auditor.drifts) == 1 and not auditor.can_run
        with pytest.raises(Forbidden):
            await reconcile_status(session, admin)


async def test_rerun_is_audited_and_not_queued_twice(
    engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    actor = await _staff(engine, "yc.benefits")
    auditor = await _staff(engine, "hb.auditor")
    async with make_sessionmaker(engine)() as session, session.begin():
        first = await request_reconcile(session, actor)
        again = await request_reconcile(session, actor)
        assert first.id == again.id
    async with make_sessionmaker(engine)() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(Job).where(Job.kind == RECONCILE_JOB)
            )
            == 1
        )
        actions = list(
            await session.scalars(
                select(AuditEntry.actor_name).where(AuditEntry.action == "benefits.reconcile_run")
            )
        )
        assert actions == ["yc.benefits", "yc.benefits"]
        with pytest.raises(Forbidden):
            await request_reconcile(session, auditor)
