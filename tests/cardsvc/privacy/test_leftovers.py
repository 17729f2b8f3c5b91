"""What an erasure or the retention purge used to leave behind: attachment files no row refers
to any more, scan-log rows queued before an erasure and written after it, old notifications
and finished job rows."""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.inbox.models import Notification
from cardsvc.jobs.models import Job, JobStatus
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.settings import Settings
from cardsvc.members.models import Member
from cardsvc.privacy.retention import run_retention
from cardsvc.roster.models import RosterImportError
from merchants.models import ScanLog
from merchants.terminal.scanlog import ScanLogWriter
from tests.cardsvc.membership.test_membership import member_client
from tests.cardsvc.servicereq.test_api import png
from tests.merchants.conftest import login
from tests.support.privacy import Client, scan

BASIS = "12351-2026-0099"
ME = "/api/v1/me/service-requests"


async def _member_id(engine: AsyncEngine, member_no: str) -> uuid.UUID:
    async with make_sessionmaker(engine)() as s:
        mid = await s.scalar(select(Member.id).where(Member.member_no == member_no))
        assert mid is not None
        return mid


async def _attach(settings: Settings, phone: str, content: bytes) -> Path:
    """The member files a request with one attachment; the stored file, aged past the sweep's
    grace period (as a file uploaded a while ago)."""
    async with member_client(settings, phone) as c:
        body = {"kind": "legal_aid", "title": "被拖欠工资", "description": "公司拖欠两个月工资"}
        resp = await c.post(ME, json=body)
        assert resp.status_code == 201, resp.text
        rid = resp.json()["request"]["id"]
        resp = await c.post(
            f"{ME}/{rid}/attachments", files={"file": ("a.png", content, "image/png")}
        )
        assert resp.status_code == 201, resp.text
        sha = resp.json()["sha256"]
    path = settings.var_dir / "attachments" / sha[:2] / sha
    old = time.time() - 3600
    os.utime(path, (old, old))
    return path


async def test_erasure_deletes_the_attachment_files_only_it_referred_to(
    client: Client, engine: AsyncEngine, settings: Settings, demo: dict[str, Any]
) -> None:
    victim, other = [m for m in demo["members"] if m["union"] == "XL-JIDIAN"][:2]
    own = await _attach(settings, victim["phone"], png(extra=10))
    shared = await _attach(settings, victim["phone"], png(extra=20))
    await _attach(settings, other["phone"], png(extra=20))  # the same bytes: the same file
    assert own.exists() and shared.exists() and own != shared

    await login(client, "admin")
    mid = await _member_id(engine, victim["member_no"])
    r = await client.post(f"/api/v1/members/{mid}/erasure", json={"reason": BASIS})
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["attachment_files_deleted"] == 1
    assert not own.exists()
    assert shared.exists()  # still another member's attachment


async def test_scans_queued_before_an_erasure_are_not_written_after_it(
    client: Client, app: Litestar, engine: AsyncEngine, pos: Any
) -> None:
    app_writer = pos.services.scan_log
    app_writer._interval = 3600  # hold the queue: the flush below is the one after the erasure
    t = pos.terminal()
    victim, other = pos.member(), pos.member()
    await scan(client, pos, victim, t)
    await scan(client, pos, other, t)
    # The queued rows, flushed from a writer on this test's loop (the app's runs on another).
    writer = ScanLogWriter(engine, interval=3600)
    writer._pending, app_writer._pending = app_writer._pending, []
    assert len(writer._pending) == 2

    await login(client, "admin")
    r = await client.post(f"/api/v1/members/{victim}/erasure", json={"reason": BASIS})
    assert r.status_code == 200, r.text
    assert await writer.flush() == 1
    async with make_sessionmaker(engine)() as s:
        members = list(await s.scalars(select(ScanLog.member_id)))
    assert members == [other]


async def test_retention_purges_old_notifications_and_finished_jobs(
    engine: AsyncEngine, settings: Settings, demo: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    async with make_sessionmaker(engine)() as s, s.begin():
        mid = await s.scalar(select(Member.id).limit(1))
        notes = await s.scalar(select(func.count()).select_from(Notification))
        for age in (400, 366, 10):
            s.add(
                Notification(
                    member_id=mid,
                    topic="test.old",
                    title="旧通知",
                    title_en="old",
                    body="…",
                    created_at=now - timedelta(days=age),
                )
            )
        jobs: dict[str, Job] = {}
        cases: list[tuple[str, JobStatus, int | None]] = [
            ("old_done", JobStatus.succeeded, 100),
            ("old_failed", JobStatus.failed, 91),
            ("recent", JobStatus.succeeded, 5),
            ("queued", JobStatus.queued, None),
        ]
        for name, status, job_age in cases:
            job = Job(
                kind="roster.import",
                status=status,
                params={"ip": "203.0.113.9", "filename": "名册.xlsx"},
                rows_done=0,
                percent=0,
                attempts=1,
                max_attempts=3,
                cancel_requested=False,
                finished_at=now - timedelta(days=job_age) if job_age is not None else None,
            )
            s.add(job)
            jobs[name] = job
        await s.flush()
        s.add(
            RosterImportError(
                job_id=jobs["old_done"].id, row_no=3, code="x", reason_zh="错", reason_en="bad"
            )
        )
    out = await run_retention(make_sessionmaker(engine), settings, now=now)
    assert out["notifications"] == 2 and out["finished_jobs"] == 2
    async with make_sessionmaker(engine)() as s:
        left = set(await s.scalars(select(Job.id)))
        assert jobs["recent"].id in left and jobs["queued"].id in left
        assert jobs["old_done"].id not in left and jobs["old_failed"].id not in left
        assert await s.scalar(select(func.count()).select_from(RosterImportError)) == 0
        assert await s.scalar(select(func.count()).select_from(Notification)) == notes + 1
    # Retention periods come from the settings.
    short = dataclasses.replace(settings, job_retention_days=1, notification_retention_days=5)
    out = await run_retention(make_sessionmaker(engine), short, now=now)
    assert out["finished_jobs"] == 1 and out["notifications"] >= 1
