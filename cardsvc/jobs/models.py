from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Boolean, Enum, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column


class JobStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


TERMINAL = frozenset({JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled})


class Job(UUIDv7AuditBase):
    """One unit of background work, claimed by one runner at a time.

    ``attempts`` doubles as the lease's fencing token: a runner writes progress only
    ``WHERE attempts = <its claim>``, so a runner that was presumed dead and replaced can no
    longer write anything once it wakes up.
    """

    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_status_created", "status", "created_at"),
        Index("ix_job_org_path", "org_path"),
    )

    kind: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, length=16), default=JobStatus.queued
    )
    # Scope: staff see the jobs of the org subtrees they may read.
    org_path: Mapped[str | None] = mapped_column(String(400))
    created_by: Mapped[uuid.UUID | None] = mapped_column(index=True)
    created_by_name: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)

    phase: Mapped[str | None] = mapped_column(String(32))
    rows_total: Mapped[int | None]
    rows_done: Mapped[int] = mapped_column(default=0)
    percent: Mapped[int] = mapped_column(SmallInteger, default=0)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JsonB)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonB)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)  # Chinese, shown to staff
    error_en: Mapped[str | None] = mapped_column(Text)

    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(SmallInteger, default=3)
    worker: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)


class JobSchedule(UUIDv7AuditBase):
    """A periodic job (e.g. the daily privacy retention purge): when it is next due.

    Every runner ticks the schedule; enqueuing is one conditional ``UPDATE … WHERE
    next_run_at <= now``, so exactly one of several workers enqueues each run.
    """

    __tablename__ = "job_schedule"

    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    next_run_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    last_job_id: Mapped[uuid.UUID | None] = mapped_column()
