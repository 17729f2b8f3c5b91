"""``unioncard jobs …`` (also ``python -m cardsvc jobs …``): run and inspect background jobs."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

T = TypeVar("T")


def _with_runner(fn: Callable[[Any], Awaitable[T]]) -> T:
    from cardsvc.jobs.kinds import all_handlers, services_for
    from cardsvc.jobs.runner import JobRunner
    from cardsvc.kernel.db import import_all_models, settings_engine
    from cardsvc.kernel.logs import configure_logging
    from cardsvc.kernel.settings import get_settings

    async def _main() -> T:
        import_all_models()
        settings = get_settings()
        configure_logging(settings.log_format, settings.log_level)
        engine = settings_engine(settings)
        runner = JobRunner(engine, settings, all_handlers(), services=services_for(settings))
        try:
            return await fn(runner)
        finally:
            await runner.stop()
            await engine.dispose()

    return asyncio.run(_main())


@click.group(name="jobs", help="Background jobs (roster imports)")
def jobs_group() -> None:
    pass


@jobs_group.command(
    name="run-once", help="Requeue stale jobs, then run queued jobs until none is left"
)
@click.option("--max-jobs", default=0, help="stop after this many jobs (0: no limit)")
def run_once(max_jobs: int) -> None:
    async def _do(runner: Any) -> int:
        await runner.recover()
        ran = 0
        while (not max_jobs or ran < max_jobs) and await runner.run_once():
            ran += 1
        return ran

    click.echo(f"ran {_with_runner(_do)} job(s)")


@jobs_group.command(name="work", help="Run jobs until SIGTERM/SIGINT (a dedicated worker process)")
def work() -> None:
    async def _do(runner: Any) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        from cardsvc.jobs.kinds import schedule_for
        from cardsvc.jobs.schedule import Scheduler

        schedule = Scheduler(runner.engine, schedule_for(runner.settings), runner=runner)
        await runner.start()
        await schedule.start()
        click.echo(f"job worker {runner.worker_id} running", err=True)
        await stop.wait()
        await schedule.stop()

    _with_runner(_do)


@jobs_group.command(
    name="recover", help="Requeue (or fail) jobs whose worker stopped heart-beating"
)
def recover() -> None:
    async def _do(runner: Any) -> dict[str, int]:
        return await runner.recover()

    click.echo(json.dumps(_with_runner(_do)))


@jobs_group.command(name="list", help="Recent jobs as JSON lines")
@click.option("--status", default=None)
@click.option("--limit", default=20, show_default=True)
def list_jobs(status: str | None, limit: int) -> None:
    from sqlalchemy import select

    from cardsvc.jobs.models import Job

    async def _do(runner: Any) -> list[dict[str, Any]]:
        async with runner.sessionmaker() as session:
            q = select(Job).order_by(Job.created_at.desc()).limit(limit)
            if status:
                q = q.where(Job.status == status)
            return [
                {
                    "id": str(j.id),
                    "kind": j.kind,
                    "status": j.status.value,
                    "phase": j.phase,
                    "rows_done": j.rows_done,
                    "rows_total": j.rows_total,
                    "percent": j.percent,
                    "attempts": j.attempts,
                    "error": j.error_code,
                    "created_at": j.created_at.isoformat(),
                }
                for j in await session.scalars(q)
            ]

    for row in _with_runner(_do):
        click.echo(json.dumps(row, ensure_ascii=False))
