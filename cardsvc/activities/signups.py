"""Signing up, cancelling and the waiting list.

A place is taken by one conditional UPDATE of the activity row (``signed_count < capacity``):
on PostgreSQL the row lock makes concurrent sign-ups wait for each other and re-check the
count, on SQLite writers are serialised by ``BEGIN IMMEDIATE``; no sign-up ever takes a place
that is not there. Who does not get one joins the waiting list at the next ``waitlist_seq``,
handed out under the same row lock, so the list's order is the order the sign-ups got
through. A cancelled place goes to the first in line in the cancelling transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.activities import errors
from cardsvc.activities.models import Activity, ActivitySignup, SignupStatus
from cardsvc.activities.service import local_day, member_activity, refusals
from cardsvc.inbox.service import notify_member
from cardsvc.members.models import Member

_NO_SYNC = {"synchronize_session": False}


async def my_signup(
    session: AsyncSession, member_id: uuid.UUID, activity_id: uuid.UUID
) -> ActivitySignup | None:
    return await session.scalar(
        select(ActivitySignup)
        .where(ActivitySignup.activity_id == activity_id, ActivitySignup.member_id == member_id)
        .execution_options(populate_existing=True)
    )


async def my_signups(
    session: AsyncSession, member_id: uuid.UUID
) -> dict[uuid.UUID, ActivitySignup]:
    rows = await session.scalars(
        select(ActivitySignup).where(ActivitySignup.member_id == member_id)
    )
    return {s.activity_id: s for s in rows}


async def _claim_row(
    session: AsyncSession, activity: Activity, member: Member, now: datetime
) -> ActivitySignup:
    """The member's sign-up row, claimed for this sign-up: a second sign-up of the same member
    at the same time fails on the unique key or the conditional update (409)."""
    row = await my_signup(session, member.id, activity.id)
    if row is None:
        row = ActivitySignup(
            activity_id=activity.id,
            member_id=member.id,
            status=SignupStatus.waitlisted,
            signed_up_at=now,
        )
        try:
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:
            raise errors.already_signed_up() from None
        return row
    claimed = await session.execute(
        update(ActivitySignup)
        .where(ActivitySignup.id == row.id, ActivitySignup.status == SignupStatus.cancelled)
        .values(status=SignupStatus.waitlisted, signed_up_at=now, cancelled_at=None)
        .execution_options(**_NO_SYNC)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise errors.already_signed_up()
    return row


async def _take_place(session: AsyncSession, activity_id: uuid.UUID) -> bool:
    took = await session.execute(
        update(Activity)
        .where(Activity.id == activity_id, Activity.signed_count < Activity.capacity)
        .values(signed_count=Activity.signed_count + 1)
        .execution_options(**_NO_SYNC)
    )
    return took.rowcount == 1  # type: ignore[attr-defined]


async def sign_up(
    session: AsyncSession, member: Member, activity_id: uuid.UUID, *, now: datetime, time_zone: str
) -> ActivitySignup:
    """Sign ``member`` up: a place if one is free, else the next place in the waiting list."""
    activity = await member_activity(session, member, activity_id)
    if not activity.signup_opens_at <= now < activity.signup_closes_at:
        raise errors.signup_closed()
    reasons = refusals(activity, member, on=local_day(now, time_zone))
    if reasons:
        raise errors.NotEligible(reasons)
    row = await _claim_row(session, activity, member, now)
    if await _take_place(session, activity.id):
        status, position = SignupStatus.signed, None
    else:
        position = await session.scalar(
            update(Activity)
            .where(Activity.id == activity.id)
            .values(waitlist_seq=Activity.waitlist_seq + 1)
            .returning(Activity.waitlist_seq)
            .execution_options(**_NO_SYNC)
        )
        status = SignupStatus.waitlisted
    await session.execute(
        update(ActivitySignup)
        .where(ActivitySignup.id == row.id)
        .values(status=status, position=position, promoted_at=None)
        .execution_options(**_NO_SYNC)
    )
    return await _reload(session, row.id)


async def _reload(session: AsyncSession, signup_id: uuid.UUID) -> ActivitySignup:
    found = await session.scalar(
        select(ActivitySignup)
        .where(ActivitySignup.id == signup_id)
        .execution_options(populate_existing=True)
    )
    assert found is not None
    return found


async def cancel(
    session: AsyncSession, member: Member, activity_id: uuid.UUID, *, now: datetime
) -> ActivitySignup:
    """Cancel the member's sign-up (a place only before the deadline); the place goes to the
    first in the waiting list."""
    activity = await member_activity(session, member, activity_id)
    row = await my_signup(session, member.id, activity.id)
    if row is None or row.status == SignupStatus.cancelled:
        raise errors.not_signed_up()
    was = row.status
    if was == SignupStatus.signed and now >= activity.cancel_deadline:
        raise errors.cancel_closed()
    done = await session.execute(
        update(ActivitySignup)
        .where(ActivitySignup.id == row.id, ActivitySignup.status == was)
        .values(status=SignupStatus.cancelled, cancelled_at=now, position=None)
        .execution_options(**_NO_SYNC)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise errors.not_signed_up()
    if was == SignupStatus.signed:
        await release_place(session, activity, now=now)
    return await _reload(session, row.id)


async def release_place(session: AsyncSession, activity: Activity, *, now: datetime) -> None:
    """Give up one place; the first still waiting takes it (and is told in the inbox)."""
    await session.execute(
        update(Activity)
        .where(Activity.id == activity.id)
        .values(signed_count=Activity.signed_count - 1)
        .execution_options(**_NO_SYNC)
    )  # the row lock: promotions of this activity happen one at a time
    while True:
        nxt = await session.scalar(
            select(ActivitySignup)
            .where(
                ActivitySignup.activity_id == activity.id,
                ActivitySignup.status == SignupStatus.waitlisted,
            )
            .order_by(ActivitySignup.position, ActivitySignup.id)
            .limit(1)
        )
        if nxt is None:
            return
        moved = await session.execute(
            update(ActivitySignup)
            .where(ActivitySignup.id == nxt.id, ActivitySignup.status == SignupStatus.waitlisted)
            .values(status=SignupStatus.signed, position=None, promoted_at=now)
            .execution_options(**_NO_SYNC)
        )
        if moved.rowcount == 1:  # type: ignore[attr-defined]
            break  # else they cancelled meanwhile: the next in line
    await _take_place(session, activity.id)
    notify_member(
        session,
        nxt.member_id,
        topic="activity",
        title=f"候补成功：{activity.title}",
        title_en=f"A place for you: {activity.title}",
        body="有会员取消报名，您已从候补名单转为正式报名。如不能参加，请在截止时间前取消。",
        subject=("activity", activity.id),
    )
