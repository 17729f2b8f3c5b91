"""Reminders a day ahead, sent by the job schedule: everyone holding a place gets one inbox
message, once, however often the job runs; the waiting list and later activities get none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.activities.reminders import REMIND_JOB, remind_due
from cardsvc.jobs.kinds import all_handlers, schedule_for, services_for
from cardsvc.jobs.runner import JobRunner
from cardsvc.jobs.schedule import Scheduler
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.settings import Settings
from tests.cardsvc.membership.test_membership import member_client
from tests.support.activities import ME, iso, org_id, phones, publish
from tests.support.staff import login


async def test_reminded_once_by_the_schedule(
    client: AsyncTestClient, settings: Settings, engine: AsyncEngine, demo: dict
) -> None:
    await login(client, "admin")
    root = await org_id(client, "HB")
    soon = await publish(client, root, capacity=1, title="周末义诊")
    later = datetime.now(UTC) + timedelta(days=3)
    far = await publish(
        client,
        root,
        title="秋季运动会",
        starts_at=iso(later),
        ends_at=iso(later + timedelta(hours=3)),
    )
    first, second = phones(demo)[:2]
    async with member_client(settings, first) as m1, member_client(settings, second) as m2:
        for a in (soon, far):
            assert (await m1.post(f"{ME}/{a['id']}/signup")).status_code == 201
        assert (await m2.post(f"{ME}/{soon['id']}/signup")).json()["status"] == "waitlisted"
        only = [p for p in schedule_for(settings) if p.kind == REMIND_JOB]
        assert len(only) == 1 and only[0].every == timedelta(minutes=15)
        runner = JobRunner(engine, settings, all_handlers(), services=services_for(settings))
        scheduler = Scheduler(engine, only, runner=runner)
        assert len(await scheduler.tick_once()) == 1
        assert await runner.run_once()
        async with make_sessionmaker(engine)() as session, session.begin():
            assert await remind_due(session, now=datetime.now(UTC), time_zone="Asia/Shanghai") == 0
        titles = [n["title"] for n in (await m1.get("/api/v1/me/inbox")).json()["items"]]
        assert titles.count("活动提醒：周末义诊") == 1
        assert not any("秋季运动会" in t for t in titles)
        waiting = [n["title"] for n in (await m2.get("/api/v1/me/inbox")).json()["items"]]
        assert not any("活动提醒" in t for t in waiting)
