"""A member's membership history (joined, transferred, suspended, …), oldest first."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.membership.models import MembershipEvent


async def member_events(session: AsyncSession, member_id: uuid.UUID) -> list[MembershipEvent]:
    return list(
        await session.scalars(
            select(MembershipEvent)
            .where(MembershipEvent.member_id == member_id)
            .order_by(MembershipEvent.at)
        )
    )
