"""Places hold under concurrent sign-ups, cancellations and scans (SQLite and PostgreSQL).

Each sign-up, cancellation and check-in runs in its own session and transaction on the
engine's pool, released together: on PostgreSQL they really are concurrent transactions racing
for the activity's row; on SQLite the writers queue (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.activities import attendance, service, signups
from cardsvc.activities.models import Activity, ActivityKind, ActivitySignup, SignupStatus
from cardsvc.cards.keys import KeyRing
from cardsvc.cards.minting import rotating_tokens_for_member
from cardsvc.cards.models import Card, CardStatus
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.errors import AppError
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.settings import Settings
from cardsvc.members.models import Member, MemberStatus
from cardsvc.orgs.models import Org
from tests.cardsvc.servicereq.conftest import staff

TZ = "Asia/Shanghai"


async def _race(engine: AsyncEngine, n: int, make: Callable[[int, Any], Awaitable[Any]]) -> list:
    sm = make_sessionmaker(engine)
    gate = asyncio.Event()

    async def one(i: int) -> Any:
        await gate.wait()
        async with sm() as session:
            try:
                async with session.begin():
                    return await make(i, session)
            except AppError as exc:
                return exc

    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    await asyncio.sleep(0.05)
    gate.set()
    return await asyncio.gather(*tasks)


async def _published(engine: AsyncEngine, capacity: int, **kw: Any) -> Activity:
    now = datetime.now(UTC)
    async with make_sessionmaker(engine)() as session, session.begin():
        root = await session.scalar(select(Org).where(Org.code == "HB"))
        assert root is not None
        return await service.publish(
            session,
            await staff(session, "admin"),
            service.ActivityInput(
                org_id=root.id,
                kind=kw.pop("kind", ActivityKind.activity),
                title="全市职工健步走",
                description="",
                starts_at=now + timedelta(hours=1),
                ends_at=now + timedelta(hours=3),
                place="滨江公园",
                capacity=capacity,
                signup_opens_at=now - timedelta(hours=1),
                signup_closes_at=now + timedelta(minutes=50),
                cancel_deadline=now + timedelta(minutes=40),
                **kw,
            ),
            now=now,
        )


async def _members(engine: AsyncEngine, n: int) -> list[Member]:
    async with make_sessionmaker(engine)() as session:
        rows = list(
            await session.scalars(
                select(Member)
                .where(Member.status == MemberStatus.active)
                .order_by(Member.member_no)
                .limit(n)
            )
        )
    assert len(rows) == n, len(rows)
    return rows


async def _statuses(engine: AsyncEngine, activity_id: uuid.UUID) -> list[ActivitySignup]:
    async with make_sessionmaker(engine)() as session:
        return list(
            await session.scalars(
                select(ActivitySignup).where(ActivitySignup.activity_id == activity_id)
            )
        )


async def test_two_hundred_at_once_for_fifty_places(engine: AsyncEngine, demo: dict) -> None:
    a = await _published(engine, capacity=50)
    people = await _members(engine, 200)
    now = datetime.now(UTC)
    results = await _race(
        engine,
        200,
        lambda i, s: signups.sign_up(s, people[i], a.id, now=now, time_zone=TZ),
    )
    assert not [r for r in results if isinstance(r, Exception)]
    rows = await _statuses(engine, a.id)
    signed = [r for r in rows if r.status == SignupStatus.signed]
    waiting = sorted(
        (r for r in rows if r.status == SignupStatus.waitlisted), key=lambda r: r.position or 0
    )
    assert len(signed) == 50 and len(waiting) == 150
    # The waiting list is one unbroken line, in the order the sign-ups got through.
    assert [r.position for r in waiting] == list(range(1, 151))
    async with make_sessionmaker(engine)() as session:
        stored = await session.get(Activity, a.id)
        assert stored is not None and stored.signed_count == 50 and stored.waitlist_seq == 150
    # Twenty of the signed cancel at once: exactly the first twenty in line move up.
    leaving = {r.member_id for r in signed[:20]}
    by_id = {m.id: m for m in people}
    left = await _race(
        engine,
        20,
        lambda i, s: signups.cancel(s, by_id[sorted(leaving)[i]], a.id, now=datetime.now(UTC)),
    )
    assert not [r for r in left if isinstance(r, Exception)]
    after = {r.member_id: r for r in await _statuses(engine, a.id)}
    promoted = {r.member_id for r in waiting[:20]}
    assert all(after[m].status == SignupStatus.signed for m in promoted)
    assert all(
        after[m].status == SignupStatus.waitlisted for m in (r.member_id for r in waiting[20:])
    )
    assert sum(1 for r in after.values() if r.status == SignupStatus.signed) == 50
    async with make_sessionmaker(engine)() as session:
        stored = await session.get(Activity, a.id)
        assert stored is not None and stored.signed_count == 50


async def test_one_member_signing_up_twice_at_once(engine: AsyncEngine, demo: dict) -> None:
    a = await _published(engine, capacity=5)
    [m] = await _members(engine, 1)
    now = datetime.now(UTC)
    results = await _race(
        engine, 6, lambda i, s: signups.sign_up(s, m, a.id, now=now, time_zone=TZ)
    )
    refused = [r for r in results if isinstance(r, AppError)]
    assert len(refused) == 5 and {r.code for r in refused} == {"already_signed_up"}
    async with make_sessionmaker(engine)() as session:
        stored = await session.get(Activity, a.id)
        assert stored is not None and stored.signed_count == 1
        n = await session.scalar(select(func.count()).where(ActivitySignup.activity_id == a.id))
        assert n == 1


async def test_a_double_scan_records_one_attendance(
    engine: AsyncEngine, demo: dict, settings: Settings
) -> None:
    a = await _published(engine, capacity=5)
    keyring = KeyRing(PiiCipher.from_settings(settings))
    async with make_sessionmaker(engine)() as session, session.begin():
        holder = await session.scalar(
            select(Member)
            .join(Card, Card.member_id == Member.id)
            .where(Member.status == MemberStatus.active, Card.status == CardStatus.active)
            .limit(1)
        )
        assert holder is not None
        [token] = await rotating_tokens_for_member(
            session,
            member_id=holder.id,
            keyring=keyring,
            count=1,
            validity_seconds=60,
            refresh_seconds=30,
        )
    async with make_sessionmaker(engine)() as session, session.begin():
        await signups.sign_up(session, holder, a.id, now=datetime.now(UTC), time_zone=TZ)

    async def scan(i: int, s: Any) -> attendance.CheckIn:
        act = await s.get(Activity, a.id)
        return await attendance.check_in(
            s,
            await staff(s, "admin"),
            act,
            token.text,
            keyring=keyring,
            now=datetime.now(UTC),
            skew_seconds=30,
        )

    results = await _race(engine, 2, scan)
    assert sorted(r.first for r in results) == [False, True]
    assert len({r.signup.checked_in_at for r in results}) == 1
