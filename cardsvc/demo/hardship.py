"""The demo's members in hardship get it the only way a member can: a hardship record filed by
their union and approved one level above, in force until its review date."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.principal import SYSTEM
from cardsvc.kernel.settings import Settings
from cardsvc.members.models import Member
from cardsvc.servicereq.hardship import service as hardship
from cardsvc.servicereq.hardship.models import HardshipCategory, HardshipRecord

CIRCUMSTANCES = {
    1: "家庭成员患病，医疗支出较大，收入低于当地平均水平（演示数据）",
    2: "单亲家庭，子女就学，收入低于当地低保标准 1.5 倍（演示数据）",
    3: "本人重病丧失劳动能力，家庭收入低于当地低保标准（演示数据）",
}


async def approved_record(
    session: AsyncSession, settings: Settings, member: Member, level: int, now: datetime
) -> bool:
    """File and approve the member's record, unless the member already has one."""
    if await session.scalar(select(HardshipRecord.id).where(HardshipRecord.member_id == member.id)):
        return False
    rec = await hardship.apply(
        session,
        SYSTEM,
        member,
        category=HardshipCategory.deep if level == 3 else HardshipCategory.relative,
        level=level,
        circumstances=CIRCUMSTANCES[level],
        now=now - timedelta(days=30),
    )
    await hardship.approve(
        session,
        SYSTEM,
        rec,
        now=now - timedelta(days=28),
        today=now.astimezone(ZoneInfo(settings.time_zone)).date(),
        review_days=settings.hardship_review_days,
    )
    return True
