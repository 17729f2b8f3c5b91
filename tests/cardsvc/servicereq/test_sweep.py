"""The sweep as the job runner and the CLI run it, and outbound copies of notifications
through the pluggable sender (sent once, retried after a failure)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cardsvc.inbox.models import Notification
from cardsvc.inbox.service import deliver_pending
from cardsvc.jobs.kinds import all_handlers, schedule_for, services_for
from cardsvc.jobs.models import Job, JobStatus
from cardsvc.jobs.runner import JobRunner
from cardsvc.jobs.schedule import Scheduler
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.pii import PiiCipher
from cardsvc.memberauth.senders import RecordingSender
from cardsvc.servicereq import service as svc
from cardsvc.servicereq.models import ContactPreference, RequestKind
from cardsvc.servicereq.sweep import SERVICE_SWEEP
from tests.cardsvc.servicereq.conftest import member_in, staff
from tests.conftest import make_test_settings

UNIONCARD = Path(sys.executable).with_name("unioncard")


class FailingSender:
    async def send(self, phone: str, text: str) -> None:
        raise ConnectionError("gateway down")


async def test_outbound_copies_go_once_and_retry_after_failure(
    session: AsyncSession, demo: dict, t0: datetime, tmp_path: Path
) -> None:
    cipher = PiiCipher.from_settings(make_test_settings("sqlite://", tmp_path))
    member = await member_in(session, "XL-JIDIAN")
    phone = cipher.decrypt("phone", member.phone_enc or "")
    req = await svc.file_request(
        session,
        member,
        svc.RequestInput(RequestKind.legal_aid, "t", "d", ContactPreference.sms),
        now=t0,
        sla={},
    )
    await svc.accept(
        session, await staff(session, "xl.jidian"), req, now=t0 + timedelta(hours=1), sla={}
    )
    await session.commit()
    # The gateway fails: nothing is marked sent, the error is kept for the next sweep.
    assert await deliver_pending(session, FailingSender(), cipher, t0) == 0
    await session.commit()
    mine = await session.scalar(
        select(Notification).where(
            Notification.member_id == member.id, Notification.subject_id == req.id
        )
    )
    assert mine is not None and mine.outbound == "sms"
    await session.refresh(mine)
    assert mine.sent_at is None and mine.send_attempts == 1 and "gateway" in (mine.send_error or "")
    sender = RecordingSender()
    assert await deliver_pending(session, sender, cipher, t0) >= 1
    await session.commit()
    assert any(p == phone and "已受理" in text for p, text in sender.sent)
    again = RecordingSender()
    assert await deliver_pending(session, again, cipher, t0) == 0 and again.sent == []


async def test_the_schedule_enqueues_the_sweep_and_the_runner_runs_it(
    engine: AsyncEngine, demo: dict, var_dir: Path, db_url: str
) -> None:
    settings = make_test_settings(db_url, var_dir)
    assert SERVICE_SWEEP in [p.kind for p in schedule_for(settings)]
    only = [p for p in schedule_for(settings) if p.kind == SERVICE_SWEEP]
    runner = JobRunner(
        engine,
        settings,
        all_handlers(),
        services={**services_for(settings), "sender": RecordingSender()},
    )
    scheduler = Scheduler(engine, only, runner=runner)
    assert len(await scheduler.tick_once()) == 1
    assert await scheduler.tick_once() == []  # once per period, however many ticks
    assert await runner.run_once()
    async with make_sessionmaker(engine)() as session:
        job = await session.scalar(select(Job).where(Job.kind == SERVICE_SWEEP))
        assert job is not None and job.status == JobStatus.succeeded, job.error_en
        assert set(job.result or {}) == {"escalated", "hardship_expired", "sent"}


def test_cli_sweep_once(db_url: str, demo: dict, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "UNIONCARD_VAR_DIR": str(tmp_path),
        "UNIONCARD_DATABASE_URL": db_url,
        "UNIONCARD_SECRET_KEY": "test-secret-key-0123456789abcdef0123456789",
        "UNIONCARD_DATA_KEYS": "t1:" + base64.urlsafe_b64encode(b"k" * 32).decode(),
        "UNIONCARD_LOOKUP_KEY": "test-lookup-key-0123456789abcdef",
        "UNIONCARD_SMS_SENDER": "memory",
    }
    far = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    done = subprocess.run(
        [str(UNIONCARD), "service", "sweep", "--at", far],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts["escalated"] >= 2 and counts["sent"] >= 1  # the demo's open requests
    bad = subprocess.run(
        [str(UNIONCARD), "service", "sweep", "--at", "2026-01-01T00:00:00"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "time zone" in bad.stderr


async def test_access_export_and_erasure_cover_requests_hardship_and_inbox(
    session: AsyncSession, demo: dict, t0: datetime
) -> None:
    import cardsvc.app  # noqa: F401  (registers the other packages' privacy parts)
    from cardsvc.privacy.parts import all_parts
    from cardsvc.servicereq.hardship import service as hs
    from cardsvc.servicereq.hardship.models import HardshipCategory

    member = await member_in(session, "XL-JIDIAN")
    req = await svc.file_request(
        session, member, svc.RequestInput(RequestKind.hardship, "t", "生活困难"), now=t0, sla={}
    )
    await svc.accept(session, await staff(session, "xl.jidian"), req, now=t0, sla={})
    await hs.apply(
        session,
        await staff(session, "xl.jidian"),
        member,
        category=HardshipCategory.deep,
        level=1,
        circumstances="x",
        now=t0,
    )
    await session.flush()
    parts = all_parts()
    exported = {
        name: await fn(session, member.id)
        for name, fn in parts.export_sections.items()
        if name in ("service_requests", "hardship_records", "notifications")
    }
    assert any(r["description"] == "生活困难" for r in exported["service_requests"])
    assert exported["hardship_records"] and exported["notifications"]
    deleted = await parts.erase_hooks["service_requests_deleted"](session, member.id)
    assert deleted >= 4
    for name in ("service_requests", "hardship_records", "notifications"):
        assert await parts.export_sections[name](session, member.id) == []
