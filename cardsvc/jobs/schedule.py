"""Periodic jobs: each due run is enqueued once, however many workers tick the schedule.

A schedule row per entry holds ``next_run_at``. A tick moves it forward with one conditional
``UPDATE … WHERE next_run_at <= now`` and, if that matched, enqueues the job in the same
transaction: of several workers ticking at once exactly one wins, and a crash between the
two writes loses nothing (both roll back). The job itself runs on the ordinary job runner,
with its retries and progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cardsvc.jobs.models import JobSchedule
from cardsvc.jobs.service import enqueue
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.db import make_sessionmaker

logger = logging.getLogger("unioncard.jobs")


@dataclass(frozen=True, slots=True)
class Periodic:
    name: str
    kind: str
    every: timedelta
    params: dict[str, Any] = field(default_factory=dict)


async def tick(
    session: AsyncSession, entries: Sequence[Periodic], now: datetime | None = None
) -> list[uuid.UUID]:
    """Enqueue the entries that are due; returns the new jobs' ids. Caller commits."""
    now = now or utc_now()
    made: list[uuid.UUID] = []
    for e in entries:
        exists = await session.scalar(select(JobSchedule.id).where(JobSchedule.name == e.name))
        if exists is None:
            try:
                async with session.begin_nested():
                    session.add(JobSchedule(name=e.name, kind=e.kind, next_run_at=now))
                    await session.flush()
            except IntegrityError:
                pass  # another worker created it at the same moment
        won = await session.scalar(
            update(JobSchedule)
            .where(JobSchedule.name == e.name, JobSchedule.next_run_at <= now)
            .values(next_run_at=now + e.every, kind=e.kind, updated_at=now)
            .returning(JobSchedule.id)
        )
        if won is None:
            continue
        job = enqueue(session, e.kind, dict(e.params))
        await session.flush()
        await session.execute(
            update(JobSchedule).where(JobSchedule.id == won).values(last_job_id=job.id)
        )
        logger.info("scheduled %s: job %s", e.name, job.id)
        made.append(job.id)
    return made


class Scheduler:
    """Ticks the schedule every ``interval`` seconds next to a job runner (app or worker)."""

    def __init__(
        self,
        engine: AsyncEngine,
        entries: Sequence[Periodic],
        *,
        interval: float = 60.0,
        runner: Any = None,
    ) -> None:
        self.entries = list(entries)
        self.interval = interval
        self.runner = runner
        self.sessionmaker = make_sessionmaker(engine)
        self._task: asyncio.Task[None] | None = None

    async def tick_once(self, now: datetime | None = None) -> list[uuid.UUID]:
        async with self.sessionmaker() as session, session.begin():
            made = await tick(session, self.entries, now)
        if made and self.runner is not None:
            self.runner.wake()
        return made

    async def _loop(self) -> None:
        # First tick after one interval: a process that starts and stops at once (a CLI
        # command, a test) does not enqueue anything.
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.tick_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is down, say: try again next time
                logger.exception("schedule tick failed")

    async def start(self) -> None:
        if self.entries and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="job-schedule")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
