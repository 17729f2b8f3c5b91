"""A member's membership history (joined, transferred, suspended, …), oldest first; and the
memberships that members ended themselves on their phones, newest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.members.models import Member
from cardsvc.membership.models import MembershipEvent

# The actor a member's own request is recorded under (the member pages and POST /me/leave).
MEMBER_ACTOR_PREFIX = "member:"


async def member_events(session: AsyncSession, member_id: uuid.UUID) -> list[MembershipEvent]:
    return list(
        await session.scalars(
            select(MembershipEvent)
            .where(MembershipEvent.member_id == member_id)
            .order_by(MembershipEvent.at)
        )
    )


@dataclass(frozen=True, slots=True)
class Leave:
    member: Member
    at: datetime
    reason: str | None


async def member_leaves(
    session: AsyncSession, viewer: Principal, *, limit: int, offset: int
) -> tuple[list[Leave], int]:
    """Members in the viewer's subtrees who ended their membership themselves (it takes effect
    at once, the card revoked): for the union to follow up."""
    conds = [
        MembershipEvent.kind == "left",
        MembershipEvent.actor.startswith(MEMBER_ACTOR_PREFIX, autoescape=True),
        viewer.scope_filter(Member.org_path, Perm.member_read),
    ]
    base = select(MembershipEvent, Member).join(Member, Member.id == MembershipEvent.member_id)
    total = (
        await session.execute(
            select(func.count())
            .select_from(MembershipEvent)
            .join(Member, Member.id == MembershipEvent.member_id)
            .where(*conds)
        )
    ).scalar_one()
    rows = await session.execute(
        base.where(*conds).order_by(MembershipEvent.at.desc()).limit(limit).offset(offset)
    )
    return [Leave(m, e.at, e.reason) for e, m in rows.tuples()], total
