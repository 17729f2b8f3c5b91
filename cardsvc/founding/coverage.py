"""The founding rate (组建率) per district: organised enterprises ÷ enterprises on the register,
and organised workers (active members) beside the register's headcount."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.founding.models import Enterprise, FoundingApplication, FoundingStatus
from cardsvc.members.models import Member, MemberStatus
from cardsvc.orgs.models import Org, OrgLevel, OrgStatus
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


def _sum(rows: list[tuple[str, int, int, int, int]], prefix: str) -> tuple[int, int, int, int]:
    picked = [r for r in rows if r[0].startswith(prefix)]
    return (
        sum(r[1] for r in picked),
        sum(r[2] for r in picked),
        sum(r[3] for r in picked),
        sum(r[4] for r in picked),
    )


async def _figures_by_path(session: AsyncSession, org: Org) -> list[tuple[str, int, int, int, int]]:
    """(org path, registered, organised, registered workers, organised workers) for every
    org path in the subtree: two grouped queries, whatever the number of districts."""
    # A membership test the planner hashes once, whatever its statistics say of the tables.
    approved = select(FoundingApplication.credit_code).where(
        FoundingApplication.status == FoundingStatus.approved
    )
    register = await session.execute(
        select(
            Enterprise.org_path,
            func.count(),
            func.coalesce(func.sum(case((Enterprise.credit_code.in_(approved), 1), else_=0)), 0),
            func.coalesce(func.sum(Enterprise.headcount), 0),
        )
        .where(Enterprise.org_path.startswith(org.path, autoescape=True))
        .group_by(Enterprise.org_path)
    )
    members = await session.execute(
        select(Member.org_path, func.count())
        .where(
            Member.org_path.startswith(org.path, autoescape=True),
            Member.status == MemberStatus.active,
        )
        .group_by(Member.org_path)
    )
    rows = [(p, int(n), int(o), int(w), 0) for p, n, o, w in register.all()]
    return rows + [(p, 0, 0, 0, int(n)) for p, n in members.all()]


async def coverage_report(session: AsyncSession, org: Org) -> tuple[CoverageRow, list[CoverageRow]]:
    """The org's own figures and one row per open child federation (its districts)."""
    children = [
        c
        for c in await child_orgs(session, org)
        if c.level != OrgLevel.grassroots and c.status == OrgStatus.active
    ]
    rows = await _figures_by_path(session, org)
    return CoverageRow(org, *_sum(rows, org.path)), [
        CoverageRow(c, *_sum(rows, c.path)) for c in children
    ]
