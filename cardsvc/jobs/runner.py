"""The job runner: one asyncio task per process that claims, runs and heartbeats jobs.

Started with the app (``UNIONCARD_JOB_RUNNER``, on by default) or on its own with
``unioncard jobs work``; any number of them may share one PostgreSQL database. A runner:

- claims the oldest queued job (``claim_next``), runs its handler and records the outcome;
- refreshes the job's heartbeat every ``heartbeat`` seconds from a separate task, and stops
  the handler if the lease is lost or staff cancelled the job;
- on start and then periodically requeues jobs whose heartbeat is older than ``stale_after``
  (their worker was killed or restarted): the next claim resumes them from their checkpoint,
  until ``max_attempts`` runs, after which they are marked failed with the reason;
- stops and fails a job that runs longer than ``job_time_limit_seconds``;
- on graceful shutdown hands its job back to the queue without using up an attempt, within
  ``shutdown_grace_seconds``.

A handler stopped for any of these reasons sees its task cancelled; work it runs in a thread
cannot be cancelled, so the handler checks ``ctx.stopping`` there, between rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cardsvc.jobs import service
from cardsvc.jobs.models import JobStatus
from cardsvc.jobs.service import Claim, JobCancelled, LeaseLost
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.errors import AppError
from cardsvc.kernel.settings import Settings

logger = logging.getLogger("unioncard.jobs")


@dataclass(slots=True)
class JobContext:
    """What a handler gets: the claimed job, the database and the app's shared services."""

    claim: Claim
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    services: Mapping[str, Any] = field(default_factory=dict)
    halt: threading.Event = field(default_factory=threading.Event)

    def stopping(self) -> bool:
        """Whether the runner stopped this job (cancel, time limit, shutdown, lost lease):
        for work in a thread, which task cancellation does not reach."""
        return self.halt.is_set()

    @property
    def job_id(self) -> uuid.UUID:
        return self.claim.id

    @property
    def params(self) -> dict[str, Any]:
        return self.claim.params

    @property
    def checkpoint(self) -> dict[str, Any] | None:
        return self.claim.checkpoint

    async def save(self, session: AsyncSession, **values: Any) -> None:
        """Progress and checkpoint, in the caller's transaction (fenced by the lease)."""
        await service.save_progress(session, self.claim.id, self.claim.attempt, **values)

    async def progress(self, **values: Any) -> None:
        """Progress in a transaction of its own."""
        async with self.sessionmaker() as session, session.begin():
            await self.save(session, **values)


JobHandler = Callable[[JobContext], Coroutine[Any, Any, dict[str, Any] | None]]

_TRANSIENT = (OperationalError, InterfaceError, OSError, ConnectionError, TimeoutError)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, _TRANSIENT)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobRunner:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        handlers: Mapping[str, JobHandler],
        *,
        services: Mapping[str, Any] | None = None,
        worker_id: str | None = None,
        poll_interval: float | None = None,
        heartbeat: float | None = None,
        stale_after: float | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.handlers = dict(handlers)
        self.services = dict(services or {})
        self.worker_id = worker_id or default_worker_id()
        self.poll_interval = (
            poll_interval if poll_interval is not None else settings.job_poll_ms / 1000
        )
        self.heartbeat = heartbeat if heartbeat is not None else settings.job_heartbeat_seconds
        self.stale_after = timedelta(
            seconds=stale_after if stale_after is not None else settings.job_stale_seconds
        )
        self.sessionmaker = make_sessionmaker(engine)
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._current: asyncio.Task[Any] | None = None
        self._ctx: JobContext | None = None
        self._reason: str | None = None  # why the current handler task was cancelled

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Litestar on_startup hook: begin polling in the background."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._loop(), name=f"job-runner {self.worker_id}")

    async def stop(self, *_app: Any, grace: float | None = None) -> None:
        """Litestar on_shutdown hook (which passes the app): stop polling; a running job goes
        back to the queue, waited for at most ``grace`` (default: the settings') seconds."""
        self._stopping = True
        self._wake.set()
        self._halt("shutdown")
        if self._task is not None:
            wait = self.settings.shutdown_grace_seconds if grace is None else grace
            with contextlib.suppress(asyncio.CancelledError, TimeoutError, Exception):
                await asyncio.wait_for(self._task, wait)
            self._task = None

    def _halt(self, reason: str) -> None:
        """Stop the running handler: its task, and through ``ctx.stopping`` its threads."""
        if self._current is None or self._current.done():
            return
        self._reason = self._reason or reason
        if self._ctx is not None:
            self._ctx.halt.set()
        self._current.cancel()

    def wake(self) -> None:
        """A job was just enqueued in this process: look now instead of at the next poll.
        Through the polling loop, thread-safely: an asyncio event set from another thread (an
        app served on a loop of its own) wakes its waiter only at the next poll."""
        if self._task is None or self._task.get_loop().is_closed():
            self._wake.set()
        else:
            self._task.get_loop().call_soon_threadsafe(self._wake.set)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        last_recover = -1e9
        while not self._stopping:
            try:
                if loop.time() - last_recover >= self.stale_after.total_seconds() / 2:
                    last_recover = loop.time()
                    await self.recover()
                if await self.run_once():
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is down, say: keep the runner alive
                logger.exception("job runner iteration failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    # ------------------------------------------------------------ one step

    async def recover(self) -> dict[str, int]:
        async with self.sessionmaker() as session, session.begin():
            counts = await service.recover_stale(session, self.stale_after)
        if any(counts.values()):
            logger.warning("stale jobs: %s", counts)
        return counts

    async def run_once(self) -> bool:
        """Claim and run one queued job to its end; False if none was queued."""
        async with self.sessionmaker() as session, session.begin():
            claim = await service.claim_next(session, self.worker_id, kinds=list(self.handlers))
        if claim is None:
            return False
        logger.info("job %s (%s) attempt %d started", claim.id, claim.kind, claim.attempt)
        ctx = JobContext(claim, self.sessionmaker, self.settings, self.services)
        self._reason = None
        self._ctx = ctx
        self._current = asyncio.create_task(self.handlers[claim.kind](ctx))
        beat = asyncio.create_task(self._heartbeat(claim, self._current))
        limit = self.settings.job_time_limit_seconds
        timer = (
            asyncio.get_running_loop().call_later(limit, self._halt, "time_limit")
            if limit > 0
            else None
        )
        try:
            outcome = await self._outcome(claim, self._current)
        finally:
            if timer is not None:
                timer.cancel()
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await beat
            self._current = self._ctx = None
        await self._record(claim, *outcome)
        return True

    async def _heartbeat(self, claim: Claim, task: asyncio.Task[Any]) -> None:
        while not task.done():
            await asyncio.sleep(self.heartbeat)
            try:
                async with self.sessionmaker() as session, session.begin():
                    cancel = await service.heartbeat(session, claim.id, claim.attempt)
            except LeaseLost:
                logger.warning("job %s: lease lost, stopping", claim.id)
                self._halt("lost")
                return
            except Exception:
                logger.exception("job %s: heartbeat failed", claim.id)
                continue
            if cancel:
                self._halt("cancelled")
                return

    async def _outcome(
        self, claim: Claim, task: asyncio.Task[Any]
    ) -> tuple[str, dict[str, Any] | None, BaseException | None]:
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:  # the runner itself is being cancelled
            self._halt("shutdown")
            with contextlib.suppress(BaseException):
                await task
            return "shutdown", None, None
        if task.cancelled():
            return self._reason or "shutdown", None, None
        exc = task.exception()
        if exc is None:
            return "done", task.result(), None
        if isinstance(exc, JobCancelled):
            return "cancelled", None, exc
        if isinstance(exc, LeaseLost):
            return "lost", None, exc
        return "error", None, exc

    async def _record(
        self,
        claim: Claim,
        how: str,
        result: dict[str, Any] | None,
        exc: BaseException | None,
    ) -> None:
        status, error, release, count = None, None, False, True
        if how == "done":
            status = JobStatus.succeeded
        elif how == "cancelled":
            status = JobStatus.cancelled
            error = ("job_cancelled", "已按要求取消", "cancelled on request")
        elif how == "lost":
            return  # another runner owns it now
        elif how == "time_limit":
            status = JobStatus.failed
            limit = self.settings.job_time_limit_seconds
            error = (
                "job_time_limit",
                f"任务运行超过{limit}秒的时间上限，已停止",
                f"the job ran longer than its limit of {limit} seconds and was stopped",
            )
        elif how == "shutdown":
            release, count = True, False
        elif isinstance(exc, AppError):
            status = JobStatus.failed
            error = (exc.code, exc.message_zh, exc.message_en)
        elif exc is not None and _is_transient(exc) and claim.attempt < claim.max_attempts:
            logger.warning("job %s: transient failure, will retry: %r", claim.id, exc)
            release = True
        else:
            logger.error("job %s failed", claim.id, exc_info=exc)
            status = JobStatus.failed
            name = type(exc).__name__ if exc else "unknown"
            error = ("job_error", f"任务执行出错（{name}）", f"the job failed ({name})")
        async with self.sessionmaker() as session, session.begin():
            if release:
                await service.release(session, claim.id, claim.attempt, count_attempt=count)
            else:
                assert status is not None
                await service.finish(
                    session, claim.id, claim.attempt, status, result=result, error=error
                )
        logger.info("job %s: %s", claim.id, status.value if status else "requeued")
