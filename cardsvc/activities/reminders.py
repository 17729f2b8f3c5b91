"""Reminders: a day before an activity starts, everyone holding a place gets an inbox message.

Run by the job schedule (``activities.remind``, every ``UNIONCARD_ACTIVITY_REMINDER_MINUTES``). Each activity is claimed with a conditional
UPDATE of ``reminded_at`` before its messages are written, in the same transaction: however
many workers run the job at once, a member is reminded once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.activities.models import Activity, ActivitySignup, ActivityStatus, SignupStatus
from cardsvc.inbox.service import notify_member
from cardsvc.kernel.clock import utc_now

REMIND_JOB = "activities.remind"
REMIND_AHEAD = timedelta(hours=24)


async def remind_due(session: AsyncSession, *, now: datetime, time_zone: str) -> int:
    """Remind the members of activities starting within a day; the number of messages."""
    due = await session.scalars(
        select(Activity).where(
            Activity.status == ActivityStatus.published,
            Activity.reminded_at.is_(None),
            Activity.starts_at > now,
            Activity.starts_at <= now + REMIND_AHEAD,
        )
    )
    sent = 0
    for activity in list(due):
        claimed = await session.execute(
            update(Activity)
            .where(Activity.id == activity.id, Activity.reminded_at.is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        start = activity.starts_at.astimezone(ZoneInfo(time_zone)).strftime("%m月%d日 %H:%M")
        members = await session.scalars(
            select(ActivitySignup.member_id).where(
                ActivitySignup.activity_id == activity.id,
                ActivitySignup.status == SignupStatus.signed,
            )
        )
        for member_id in members:
            notify_member(
                session,
                member_id,
                topic="activity",
                title=f"活动提醒：{activity.title}",
                title_en=f"Reminder: {activity.title}",
                body=f"{start} 在 {activity.place} 举行，请带好会员卡（手机亮码即可）按时签到。",
                subject=("activity", activity.id),
            )
            sent += 1
    return sent


async def run_remind_job(ctx: Any) -> dict[str, Any]:
    """The job handler (``cardsvc.jobs.runner.JobContext``)."""
    async with ctx.sessionmaker() as session, session.begin():
        sent = await remind_due(session, now=utc_now(), time_zone=ctx.settings.time_zone)
    return {"reminded": sent}
