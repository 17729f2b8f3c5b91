"""The vouchers' lapse job through the job schedule: expired unused vouchers lapse once, a
restocking campaign's stock comes back and is claimed again exactly up to the stock (in the
admission store too: in process and in Redis), members are told of a coming expiry and of a
lottery win once each."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from time_machine import TimeMachineFixture

from benefits.vouchers.lifecycle import lapse_expired, notify_due
from cardsvc.flows.voucher_lapse import LAPSE_JOB
from cardsvc.jobs.kinds import schedule_for
from cardsvc.jobs.models import TERMINAL, Job, JobStatus
from cardsvc.jobs.schedule import Scheduler
from cardsvc.kernel.db import make_sessionmaker
from tests.benefits.vouchers.conftest import API, ME, campaign_body, claim, published_campaign
from tests.support.front import Front, Person

INBOX = "/api/v1/me/inbox"


async def run_job(app: Litestar, engine: AsyncEngine, at: datetime, monkeypatch: Any) -> Any:
    """One run of the lapse job at ``at``: the schedule enqueues it and the app's own runner
    (sharing the app's claim admission store) runs it; its result."""
    monkeypatch.setattr("cardsvc.flows.voucher_lapse.utc_now", lambda: at)
    settings = app.state.settings
    only = [p for p in schedule_for(settings) if p.kind == LAPSE_JOB]
    assert len(only) == 1 and only[0].every == timedelta(minutes=settings.voucher_lapse_minutes)
    # The schedule makes one run per period: the callers' times are a period apart.
    made = await Scheduler(engine, only, runner=app.state.jobs).tick_once(at)
    assert len(made) == 1
    for _ in range(200):
        async with engine.connect() as conn:
            job = (await conn.execute(select(Job).where(Job.id == made[0]))).one()
        if job.status in TERMINAL:
            assert job.status == JobStatus.succeeded, (job.error_code, job.error_en)
            return job.result
        await asyncio.sleep(0.05)
    raise AssertionError("the lapse job did not run")


async def titles(front: Front, who: Person) -> list[str]:
    async with front.as_member(who.phone) as m:
        return [n["title"] for n in (await m.get(INBOX)).json()["items"]]


async def statuses(front: Front, who: Person) -> list[str]:
    async with front.as_member(who.phone) as m:
        return [v["status"] for v in (await m.get(f"{ME}/")).json()["items"]]


@pytest.mark.only_on("sqlite")
async def test_a_job_woken_from_another_thread_runs_at_once(
    app: Litestar, engine: AsyncEngine, front: Front, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's runner polls on the test client's loop; the schedule here wakes it from the
    test's loop (another thread): the job runs at once, not at the runner's next poll."""
    app.state.jobs.poll_interval = 60.0
    await asyncio.sleep(1.2)  # the runner's current wait (the settings' 1 s) ends: now 60 s
    started = time.monotonic()
    await run_job(app, engine, datetime.now(UTC), monkeypatch)  # gives up after 10 s
    assert time.monotonic() - started < 10


async def test_restock_lapses_once_and_refills_exactly(
    app: Litestar, engine: AsyncEngine, front: Front, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await front.grassroots("HB-YC-XL")
    people = [await front.member(org) for _ in range(5)]
    c = await published_campaign(front, stock=2, restock_expired=True)
    assert c["restock_expired"] is True
    for p in people[:2]:
        assert (await claim(front, p.phone, c["id"])).status_code == 201
    sold = await claim(front, people[2].phone, c["id"])
    assert sold.status_code == 409 and sold.json()["code"] == "voucher_sold_out"

    now = datetime.now(UTC)
    for minutes in (0, 30):  # a day before the expiry: told once, however often the job runs
        await run_job(app, engine, now + timedelta(days=6, hours=12, minutes=minutes), monkeypatch)
    for p in people[:2]:
        assert (await titles(front, p)).count("消费券即将到期：春季餐饮消费券") == 1
        assert await statuses(front, p) == ["active"]

    results = [  # past the expiry: lapsed once, the stock comes back
        await run_job(app, engine, now + timedelta(days=8, minutes=m), monkeypatch) for m in (0, 30)
    ]
    assert results[0] == {"expired": 2, "restocked": 2, "rebuilt": 1, "notified": 0}
    assert results[1] == {"expired": 0, "restocked": 0, "rebuilt": 0, "notified": 0}
    for p in people[:2]:
        assert await statuses(front, p) == ["expired"]
        assert (await titles(front, p)).count("消费券即将到期：春季餐饮消费券") == 1
    figures = (await front.client.get(f"{API}/{c['id']}/figures")).json()
    assert figures == {**figures, "claimed": 2, "expired": 2, "used": 0, "left": 2}

    limit = await claim(front, people[0].phone, c["id"])  # the lapsed one still counts
    assert limit.status_code == 409 and limit.json()["code"] == "voucher_limit"
    again = [await claim(front, p.phone, c["id"]) for p in people[2:]]
    assert [r.status_code for r in again] == [201, 201, 409]
    assert again[2].json()["code"] == "voucher_sold_out"
    figures = (await front.client.get(f"{API}/{c['id']}/figures")).json()
    assert figures == {**figures, "claimed": 4, "expired": 2, "left": 0}


async def test_without_restock_the_stock_stays_given(
    app: Litestar, engine: AsyncEngine, front: Front, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await front.grassroots("HB-YC-XL")
    first, second = [await front.member(org) for _ in range(2)]
    c = await published_campaign(front, stock=1)
    assert c["restock_expired"] is False
    assert (await claim(front, first.phone, c["id"])).status_code == 201
    await run_job(app, engine, datetime.now(UTC) + timedelta(days=8), monkeypatch)
    assert await statuses(front, first) == ["expired"]
    r = await claim(front, second.phone, c["id"])
    assert r.status_code == 409 and r.json()["code"] == "voucher_sold_out"
    figures = (await front.client.get(f"{API}/{c['id']}/figures")).json()
    assert figures == {**figures, "claimed": 1, "expired": 1, "left": 0}


async def test_restock_is_refused_for_a_lottery(front: Front) -> None:
    r = await front.client.post(
        API, json=campaign_body(front, mode="lottery", restock_expired=True)
    )
    assert r.status_code == 422, r.text
    assert "restock_expired" in r.text


async def test_lottery_winners_are_told_once(
    app: Litestar,
    engine: AsyncEngine,
    front: Front,
    monkeypatch: pytest.MonkeyPatch,
    time_machine: TimeMachineFixture,
) -> None:
    org = await front.grassroots("HB-YC-XL")
    people = [await front.member(org) for _ in range(3)]
    closes = datetime.now(UTC) + timedelta(minutes=1)
    body = campaign_body(front, mode="lottery", stock=1, closes_at=closes.isoformat())
    c = (await front.client.post(API, json=body)).json()
    assert (await front.client.post(f"{API}/{c['id']}/publish")).status_code == 200
    for p in people:
        async with front.as_member(p.phone) as m:
            assert (await m.post(f"{ME}/campaigns/{c['id']}/apply")).status_code == 201
    time_machine.move_to(closes + timedelta(seconds=0.3))  # the window has closed
    assert (await front.client.post(f"{API}/{c['id']}/draw")).status_code == 200
    for minutes in (0, 30):
        await run_job(app, engine, datetime.now(UTC) + timedelta(minutes=minutes), monkeypatch)
    told = [(await titles(front, p)).count("消费券中签：春季餐饮消费券") for p in people]
    assert sorted(told) == [0, 0, 1]
    winner = people[told.index(1)]
    assert await statuses(front, winner) == ["active"]
    async with front.as_member(winner.phone) as m:  # the message links to the voucher
        voucher = (await m.get(f"{ME}/")).json()["items"][0]
        assert f'href="/m/vouchers#v-{voucher["id"]}"' in (await m.get("/m/inbox")).text
        assert f'id="v-{voucher["id"]}"' in (await m.get("/m/vouchers")).text


async def test_concurrent_runs_lapse_and_tell_once(
    app: Litestar, engine: AsyncEngine, front: Front
) -> None:
    """Two workers at once (as two app instances' schedules may): each voucher lapses once and
    each member is told once."""
    org = await front.grassroots("HB-YC-XL")
    people = [await front.member(org) for _ in range(3)]
    c = await published_campaign(front, stock=3, restock_expired=True)
    for p in people:
        assert (await claim(front, p.phone, c["id"])).status_code == 201
    told: list[uuid.UUID] = []

    def notify(member_id: uuid.UUID, **_: Any) -> None:
        told.append(member_id)

    async def worker(at: datetime) -> tuple[int, int]:
        async with make_sessionmaker(engine)() as session, session.begin():
            sent = await notify_due(
                session, now=at, ahead=timedelta(days=1), time_zone="Asia/Shanghai", notify=notify
            )
        async with make_sessionmaker(engine)() as session, session.begin():
            lapsed = await lapse_expired(session, now=at + timedelta(days=2))
        return sent, lapsed.expired

    soon = datetime.now(UTC) + timedelta(days=6, hours=12)
    results = await asyncio.gather(worker(soon), worker(soon))
    assert sum(r[0] for r in results) == 3 == len(set(told)) == len(told)
    assert sum(r[1] for r in results) >= 3  # the demo's own expired ones may add to it
    assert [await statuses(front, p) for p in people] == [["expired"]] * 3
    figures = (await front.client.get(f"{API}/{c['id']}/figures")).json()
    assert figures == {**figures, "claimed": 3, "expired": 3, "left": 3}
