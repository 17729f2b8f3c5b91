"""Interrupted imports resume from their checkpoint, or fail with a reason: never lost."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.jobs import service as jobs
from cardsvc.jobs.kinds import all_handlers, services_for
from cardsvc.jobs.models import Job, JobStatus
from cardsvc.jobs.runner import JobRunner
from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.db import make_engine, make_sessionmaker
from cardsvc.kernel.principal import SYSTEM
from cardsvc.kernel.settings import Settings
from cardsvc.orgs.models import OrgLevel
from cardsvc.orgs.service import create_org
from cardsvc.roster import hooks
from cardsvc.roster.files import UploadSink, upload_dir
from cardsvc.roster.sample import sample_rows, write_csv
from cardsvc.roster.service import start_import
from tests.cardsvc.roster.conftest import (
    IMPORTS,
    login,
    member_count,
    rows,
    run_jobs,
    upload,
    xlsx_bytes,
)
from tests.conftest import _truncate_all, make_test_settings
from tests.support.contract import contract_client


async def _job(engine: AsyncEngine, job_id: Any) -> Job:
    async with make_sessionmaker(engine)() as s:
        job = await s.get(Job, job_id)
        assert job is not None
        return job


async def _interrupt_after_batches(runner: JobRunner, batches: int) -> None:
    """Run the queued job and stop the runner (as on shutdown) while batch N+1 is open."""
    calls = 0
    blocked = asyncio.Event()

    async def stall(session: Any, ids: list[Any]) -> None:
        nonlocal calls
        calls += 1
        if calls > batches:
            blocked.set()
            await asyncio.sleep(3600)

    hooks.on_members_activated.append(stall)
    try:
        task = asyncio.create_task(runner.run_once())
        await asyncio.wait_for(blocked.wait(), 30)
        await runner.stop()
        assert await task is True
    finally:
        hooks.on_members_activated.remove(stall)


async def test_shutdown_mid_import_requeues_and_a_new_runner_resumes(
    client: AsyncTestClient[Litestar],
    runner: JobRunner,
    engine: AsyncEngine,
    demo: dict,
    settings: Settings,
    tmp_path: Path,
) -> None:
    await login(client, "xl.admin")
    before = await member_count(engine)
    job_id = (await upload(client, xlsx_bytes(tmp_path, rows(400)))).json()["id"]  # 10 batches
    await _interrupt_after_batches(runner, batches=3)

    job = await _job(engine, job_id)
    assert job.status == JobStatus.queued  # handed back, not lost
    assert job.attempts == 0  # a graceful shutdown does not use up an attempt
    assert job.rows_done == 120 and job.checkpoint and job.checkpoint["row"] == 121
    assert await member_count(engine) == before + 120  # batch 4 rolled back whole

    fresh = JobRunner(engine, settings, all_handlers(), services=services_for(settings))
    assert await run_jobs(fresh) == 1
    out = (await client.get(f"{IMPORTS}/{job_id}")).json()
    assert out["status"] == "succeeded", out
    assert out["counts"]["created"] == 400 and out["counts"]["unchanged"] == 0
    assert out["rows_done"] == 400 and out["attempts"] == 1
    assert await member_count(engine) == before + 400


async def test_stale_job_resumes_then_fails_after_max_attempts(
    client: AsyncTestClient[Litestar],
    runner: JobRunner,
    engine: AsyncEngine,
    demo: dict,
    settings: Settings,
    tmp_path: Path,
) -> None:
    await login(client, "xl.admin")
    before = await member_count(engine)
    first = (await upload(client, xlsx_bytes(tmp_path, rows(200)))).json()["id"]
    second = (await upload(client, xlsx_bytes(tmp_path, rows(80, start=700_000)))).json()["id"]
    await _interrupt_after_batches(runner, batches=2)  # `first`, 80 rows in
    # Its worker "died": still marked running, heartbeat long gone. `second` died too, on
    # its last allowed attempt.
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    async with make_sessionmaker(engine)() as s, s.begin():
        await s.execute(
            update(Job)
            .where(Job.id == first)
            .values(status=JobStatus.running, attempts=1, heartbeat_at=long_ago, worker="dead:1")
        )
        await s.execute(
            update(Job)
            .where(Job.id == second)
            .values(status=JobStatus.running, attempts=3, heartbeat_at=long_ago, worker="dead:2")
        )
    fresh = JobRunner(engine, settings, all_handlers(), services=services_for(settings))
    assert await fresh.recover() == {"failed": 1, "requeued": 1}
    assert await run_jobs(fresh) == 1

    out = (await client.get(f"{IMPORTS}/{first}")).json()
    assert out["status"] == "succeeded" and out["attempts"] == 2
    assert out["counts"]["created"] == 200 and out["counts"]["unchanged"] == 0
    out = (await client.get(f"{IMPORTS}/{second}")).json()
    assert out["status"] == "failed"
    assert out["error"]["code"] == "job_abandoned" and "中断" in out["error"]["message"]
    assert await member_count(engine) == before + 200


async def test_a_runner_that_lost_its_lease_can_write_nothing(engine: AsyncEngine) -> None:
    """A worker presumed dead, whose job was claimed again, cannot save progress any more."""
    sm = make_sessionmaker(engine)
    async with sm() as s, s.begin():
        job = jobs.enqueue(s, "test.kind", {"x": 1}, actor=SYSTEM, org_path=None)
        await s.flush()
        job_id = job.id
    async with sm() as s, s.begin():
        claim = await jobs.claim_next(s, "w1", kinds=["test.kind"])
    assert claim is not None and claim.attempt == 1
    async with sm() as s, s.begin():
        assert await jobs.claim_next(s, "w2", kinds=["test.kind"]) is None  # taken
        await jobs.save_progress(s, job_id, 1, rows_done=5)
    # Presumed dead: requeued and claimed by another worker (attempt 2).
    async with sm() as s, s.begin():
        await s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(heartbeat_at=datetime.now(UTC) - timedelta(hours=1))
        )
        assert await jobs.recover_stale(s, timedelta(seconds=60)) == {"failed": 0, "requeued": 1}
    async with sm() as s, s.begin():
        again = await jobs.claim_next(s, "w2", kinds=["test.kind"])
    assert again is not None and again.attempt == 2 and again.id == job_id
    with pytest.raises(jobs.LeaseLost):
        async with sm() as s, s.begin():
            await jobs.save_progress(s, job_id, 1, rows_done=99)
    with pytest.raises(jobs.LeaseLost):
        async with sm() as s, s.begin():
            await jobs.heartbeat(s, job_id, 1)
    async with sm() as s, s.begin():
        assert not await jobs.finish(s, job_id, 1, JobStatus.succeeded)
    row = await _job(engine, job_id)
    assert row.rows_done == 5 and row.status == JobStatus.running and row.worker == "w2"


async def test_progress_is_pushed_as_server_sent_events(
    settings: Settings, engine: AsyncEngine, demo: dict, tmp_path: Path
) -> None:
    from cardsvc.app import create_app

    app = create_app(replace(settings, job_runner=True))  # the in-app runner does the work
    async with contract_client(app) as client:
        await login(client, "xl.admin")
        job_id = (await upload(client, xlsx_bytes(tmp_path, rows(300)))).json()["id"]
        events: list[tuple[str, str]] = []
        async with client.stream("GET", f"{IMPORTS}/{job_id}/events") as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            event = None
            async for line in resp.aiter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event:
                    events.append((event, line.split(":", 1)[1].strip()))
    import json

    kinds = [e for e, _ in events]
    assert kinds[-1] == "done" and kinds.count("done") == 1
    assert "progress" in kinds
    last = json.loads(events[-1][1])
    assert last["status"] == "succeeded" and last["percent"] == 100
    assert last["counts"]["created"] == 300
    percents = [json.loads(d)["percent"] for e, d in events if e == "progress"]
    assert percents == sorted(percents)


# ------------------------------------------------------------------ a real crash on PostgreSQL


def _env(db_url: str, var_dir: Path) -> dict[str, str]:
    s = make_test_settings(db_url, var_dir)
    key = base64.urlsafe_b64encode(next(iter(s.data_keys.values()))).decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIONCARD_")}
    env.update(
        UNIONCARD_ENVIRONMENT="production",
        UNIONCARD_DATABASE_URL=db_url,
        UNIONCARD_VAR_DIR=str(var_dir),
        UNIONCARD_SECRET_KEY=s.secret_key,
        UNIONCARD_DATA_KEYS=f"{next(iter(s.data_keys))}:{key}",
        UNIONCARD_LOOKUP_KEY=s.lookup_key.decode(),
        UNIONCARD_ROSTER_BATCH_SIZE="25",
        UNIONCARD_JOB_HEARTBEAT_SECONDS="1",
        UNIONCARD_JOB_POLL_MS="50",
        UNIONCARD_LOG_LEVEL="WARNING",
    )
    return env


@pytest.mark.postgres
async def test_worker_killed_mid_import_on_postgres_in_production_mode(
    pg_test_url: str, tmp_path: Path
) -> None:
    engine = make_engine(pg_test_url)
    await _truncate_all(engine)
    var_dir = tmp_path / "var"
    settings = replace(
        make_test_settings(pg_test_url, var_dir), environment="production", roster_batch_size=25
    )
    n = 3000
    try:
        async with make_sessionmaker(engine)() as s, s.begin():
            prov = await create_org(
                s, SYSTEM, code="TP", name="测试省总", level=OrgLevel.provincial, parent_id=None
            )
            city = await create_org(
                s, SYSTEM, code="TP-C", name="测试市总", level=OrgLevel.city, parent_id=prov.id
            )
            unions = []
            for i in range(3):
                u = await create_org(
                    s,
                    SYSTEM,
                    code=f"TP-U{i}",
                    name=f"测试基层工会{i}",
                    level=OrgLevel.grassroots,
                    parent_id=city.id,
                )
                unions.append(u.code)
            path = write_csv(tmp_path / "big.csv", sample_rows(n, unions, seed=5))
            sink = UploadSink(upload_dir(settings), 50 << 20)
            sink.write(path.read_bytes())
            stored = sink.keep("csv")
            job = await start_import(
                s,
                settings,
                SYSTEM,
                stored=stored,
                fmt="csv",
                filename="big.csv",
                dry_run=False,
                org=prov,
            )
            job_id = job.id

        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cardsvc",
            "jobs",
            "work",
            env=_env(pg_test_url, var_dir),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while (await _job(engine, job_id)).rows_done < 100:
                assert worker.returncode is None, "the worker exited early"
                assert loop.time() < deadline, "the worker made no progress"
                await asyncio.sleep(0.01)
            worker.send_signal(signal.SIGKILL)  # no shutdown hook runs: a crash
            await asyncio.wait_for(worker.wait(), 10)
        finally:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
        crashed = await _job(engine, job_id)
        assert crashed.status == JobStatus.running and 0 < crashed.rows_done < n
        written = await member_count(engine)
        assert written == crashed.rows_done  # exactly the committed batches, none half-written

        fresh = JobRunner(
            engine, settings, all_handlers(), services=services_for(settings), stale_after=1
        )
        await asyncio.sleep(1.5)  # the dead worker's heartbeat goes stale
        assert (await fresh.recover())["requeued"] == 1
        assert await run_jobs(fresh) == 1
        done = await _job(engine, job_id)
        assert done.status == JobStatus.succeeded and done.attempts == 2
        assert done.result and done.result["created"] == n and done.result["unchanged"] == 0
        assert await member_count(engine) == n
        async with make_sessionmaker(engine)() as s:
            audits = (
                await s.execute(
                    select(func.count())
                    .select_from(AuditEntry)
                    .where(AuditEntry.action == "roster.import")
                )
            ).scalar()
        assert audits == 1
    finally:
        await _truncate_all(engine)
        await engine.dispose()
