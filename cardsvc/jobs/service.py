"""Job rows: enqueue, claim (one runner at a time), fenced progress, finish, recover.

Every state change is one conditional ``UPDATE``: claims are ``… WHERE status = 'queued'``
(PostgreSQL picks the candidate with ``FOR UPDATE SKIP LOCKED`` so that several workers never
queue behind one row), and a running job's writes are fenced by its claim number
(``attempts``). Nothing here commits: callers own their transactions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.jobs.models import TERMINAL, Job, JobStatus
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import Conflict, NotFound
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal

# Why a job ended without finishing, in the words staff read.
STALE_FAILED_ZH = "后台任务所在进程多次中断（重启或崩溃），已停止重试"
STALE_FAILED_EN = "the worker running this job stopped repeatedly (restart or crash); gave up"


class LeaseLost(Exception):
    """This runner no longer owns the job (it was presumed dead and the job handed on)."""


class JobCancelled(Exception):
    """Staff asked for the job to stop; raised at the next checkpoint."""


@dataclass(frozen=True, slots=True)
class Claim:
    id: uuid.UUID
    kind: str
    attempt: int
    max_attempts: int
    params: dict[str, Any]
    checkpoint: dict[str, Any] | None
    org_path: str | None
    created_by: uuid.UUID | None


def enqueue(
    session: AsyncSession,
    kind: str,
    params: dict[str, Any],
    *,
    actor: Principal | None = None,
    org_path: str | None = None,
    max_attempts: int = 3,
) -> Job:
    job = Job(
        kind=kind,
        status=JobStatus.queued,
        params=params,
        org_path=org_path,
        created_by=actor.id if actor else None,
        created_by_name=actor.username if actor else None,
        max_attempts=max_attempts,
        rows_done=0,
        percent=0,
        attempts=0,
        cancel_requested=False,
    )
    session.add(job)
    return job


async def get_visible_job(
    session: AsyncSession, viewer: Principal, job_id: uuid.UUID, *, kind: str | None = None
) -> Job:
    """The job if the viewer started it or may read members where it runs; else 404."""
    job = await session.get(Job, job_id, populate_existing=True)
    if job is None or (kind is not None and job.kind != kind) or not can_see(viewer, job):
        raise NotFound("job_not_found", "未找到该任务", "Job not found")
    return job


def can_see(viewer: Principal, job: Job) -> bool:
    if viewer.is_system or (viewer.id is not None and viewer.id == job.created_by):
        return True
    return job.org_path is not None and viewer.can(Perm.member_read, job.org_path)


async def list_jobs(
    session: AsyncSession, viewer: Principal, *, kind: str, limit: int = 50, offset: int = 0
) -> tuple[list[Job], int]:
    conds: list[Any] = [Job.kind == kind]
    if not viewer.is_system:
        scope = viewer.scope_filter(Job.org_path, Perm.member_read)
        conds.append(scope | (Job.created_by == viewer.id) if viewer.id else scope)
    total = (await session.execute(select(func.count()).select_from(Job).where(*conds))).scalar()
    rows = await session.scalars(
        select(Job).where(*conds).order_by(Job.created_at.desc()).limit(limit).offset(offset)
    )
    return list(rows), int(total or 0)


async def request_cancel(session: AsyncSession, job: Job) -> Job:
    if job.status in TERMINAL:
        raise Conflict("job_finished", "任务已结束，无法取消", "the job has already finished")
    if job.status == JobStatus.queued:
        # Not claimed yet: cancel outright (the conditional update loses to a concurrent claim).
        res = await session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == JobStatus.queued)
            .values(status=JobStatus.cancelled, finished_at=utc_now(), cancel_requested=True)
        )
        if res.rowcount:  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult
            await session.refresh(job)
            return job
    await session.execute(update(Job).where(Job.id == job.id).values(cancel_requested=True))
    await session.refresh(job)
    return job


async def claim_next(
    session: AsyncSession, worker: str, *, kinds: list[str] | None = None
) -> Claim | None:
    """Take the oldest queued job for this worker, or None. Commit right after."""
    conds: list[Any] = [Job.status == JobStatus.queued]
    if kinds is not None:
        conds.append(Job.kind.in_(kinds))
    pick = select(Job.id).where(*conds).order_by(Job.created_at, Job.id).limit(1)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        pick = pick.with_for_update(skip_locked=True)
    job_id = await session.scalar(pick)
    if job_id is None:
        return None
    ts = utc_now()
    row = (
        await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.queued)
            .values(
                status=JobStatus.running,
                attempts=Job.attempts + 1,
                worker=worker,
                heartbeat_at=ts,
                started_at=func.coalesce(Job.started_at, ts),
                updated_at=ts,
            )
            .returning(
                Job.id,
                Job.kind,
                Job.attempts,
                Job.max_attempts,
                Job.params,
                Job.checkpoint,
                Job.org_path,
                Job.created_by,
            )
        )
    ).one_or_none()
    if row is None:  # SQLite without SKIP LOCKED: someone else won the race
        return None
    return Claim(
        id=row.id,
        kind=row.kind,
        attempt=row.attempts,
        max_attempts=row.max_attempts,
        params=dict(row.params or {}),
        checkpoint=dict(row.checkpoint) if row.checkpoint else None,
        org_path=row.org_path,
        created_by=row.created_by,
    )


def _fenced(job_id: uuid.UUID, attempt: int) -> Any:
    return and_(Job.id == job_id, Job.attempts == attempt, Job.status == JobStatus.running)


async def heartbeat(session: AsyncSession, job_id: uuid.UUID, attempt: int) -> bool:
    """Refresh the lease. Returns whether staff asked to cancel; raises LeaseLost."""
    ts = utc_now()
    cancel = await session.scalar(
        update(Job)
        .where(_fenced(job_id, attempt))
        .values(heartbeat_at=ts)
        .returning(Job.cancel_requested)
    )
    if cancel is None:
        raise LeaseLost(str(job_id))
    return bool(cancel)


async def save_progress(
    session: AsyncSession, job_id: uuid.UUID, attempt: int, **values: Any
) -> None:
    """Write progress/checkpoint in the caller's transaction, only while we hold the lease.

    Raises LeaseLost (the caller's transaction must roll back) or JobCancelled.
    """
    values["heartbeat_at"] = utc_now()
    cancel = await session.scalar(
        update(Job).where(_fenced(job_id, attempt)).values(**values).returning(Job.cancel_requested)
    )
    if cancel is None:
        raise LeaseLost(str(job_id))
    if cancel:
        raise JobCancelled(str(job_id))


async def finish(
    session: AsyncSession,
    job_id: uuid.UUID,
    attempt: int,
    status: JobStatus,
    *,
    result: dict[str, Any] | None = None,
    error: tuple[str, str, str] | None = None,
) -> bool:
    values: dict[str, Any] = {"status": status, "finished_at": utc_now(), "worker": None}
    if result is not None:
        values["result"] = result
    if status == JobStatus.succeeded:
        values["percent"] = 100
    if error is not None:
        values["error_code"], values["error"], values["error_en"] = error
    res = await session.execute(update(Job).where(_fenced(job_id, attempt)).values(**values))
    return bool(res.rowcount)  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult


async def release(
    session: AsyncSession, job_id: uuid.UUID, attempt: int, *, count_attempt: bool
) -> bool:
    """Hand a running job back to the queue (graceful shutdown, transient failure).

    A graceful shutdown does not use up one of the job's attempts.
    """
    values: dict[str, Any] = {"status": JobStatus.queued, "worker": None}
    if not count_attempt:
        values["attempts"] = Job.attempts - 1
    res = await session.execute(update(Job).where(_fenced(job_id, attempt)).values(**values))
    return bool(res.rowcount)  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult


async def recover_stale(session: AsyncSession, stale_after: timedelta) -> dict[str, int]:
    """Jobs whose runner stopped heart-beating: requeue (resume) or fail after max attempts."""
    cutoff = utc_now() - stale_after
    stale = and_(Job.status == JobStatus.running, Job.heartbeat_at < cutoff)
    failed = await session.execute(
        update(Job)
        .where(stale, Job.attempts >= Job.max_attempts)
        .values(
            status=JobStatus.failed,
            finished_at=utc_now(),
            worker=None,
            error_code="job_abandoned",
            error=STALE_FAILED_ZH,
            error_en=STALE_FAILED_EN,
        )
    )
    requeued = await session.execute(
        update(Job)
        .where(stale, Job.attempts < Job.max_attempts)
        .values(status=JobStatus.queued, worker=None)
    )
    return {
        "failed": int(failed.rowcount or 0),  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult
        "requeued": int(requeued.rowcount or 0),  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult
    }


async def latest_of_kind(
    session: AsyncSession, kind: str, *, statuses: frozenset[JobStatus] | None = None
) -> Job | None:
    """The newest job of ``kind`` (optionally only in ``statuses``): a periodic job's last
    run, for a page that shows it."""
    stmt = select(Job).where(Job.kind == kind)
    if statuses is not None:
        stmt = stmt.where(Job.status.in_(statuses))
    stmt = stmt.order_by(Job.created_at.desc(), Job.id.desc()).limit(1)
    return (await session.scalars(stmt)).first()
