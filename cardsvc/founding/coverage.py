"""The founding rate (组建率) per district: organised enterprises ÷ enterprises on the register,
and organised workers (active members) beside the register's headcount."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.founding.models import Enterprise, FoundingApplication, FoundingStatus
from cardsvc.members.models import Member, MemberStatus
from cardsvc.orgs.models import Org, OrgLevel
from cardsvc.orgs.service import child_orgs


@dataclass(frozen=True, slots=True)
class CoverageRow:
    org: Org
    registered: int
    organised: int
    registered_workers: int
    organised_workers: int

    @property
    def rate(self) -> float | None:
        """Organised ÷ registered enterprises, in per cent to one decimal (None: no register)."""
        return round(100 * self.organised / self.registered, 1) if self.registered else None


async def coverage_of(session: AsyncSession, org: Org) -> CoverageRow:
    under = Enterprise.org_path.startswith(org.path, autoescape=True)
    approved = select(FoundingApplication.credit_code).where(
        FoundingApplication.status == FoundingStatus.approved
    )
    registered, workers = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Enterprise.headcount), 0)).where(under)
        )
    ).one()
    organised = await session.scalar(
        select(func.count()).where(under, Enterprise.credit_code.in_(approved))
    )
    members = await session.scalar(
        select(func.count())
        .select_from(Member)
        .where(
            Member.org_path.startswith(org.path, autoescape=True),
            Member.status == MemberStatus.active,
        )
    )
    return CoverageRow(org, int(registered), int(organised or 0), int(workers), int(members or 0))


async def coverage_report(session: AsyncSession, org: Org) -> tuple[CoverageRow, list[CoverageRow]]:
    """The org's own figures and one row per open child federation (its districts)."""
    children = [
        c
        for c in await child_orgs(session, org)
        if c.level != OrgLevel.grassroots and c.status.value == "active"
    ]
    return await coverage_of(session, org), [await coverage_of(session, c) for c in children]
