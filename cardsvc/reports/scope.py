"""Which org and which days a report covers: the same checks for the API and the console."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.orgs.models import Org
from cardsvc.orgs.service import get_org
from cardsvc.reports.period import ReportRange, report_range


async def report_roots(session: AsyncSession, staff: Principal) -> list[Org]:
    """The widest orgs the officer may report on (one per disjoint subtree)."""
    roots: list[str] = []
    for path in sorted(set(staff.paths(Perm.reports_read)), key=len):
        if not any(path.startswith(r) for r in roots):
            roots.append(path)
    if not roots:
        return []
    rows = await session.scalars(select(Org).where(Org.path.in_(roots)).order_by(Org.path))
    return list(rows)


async def report_org(
    session: AsyncSession, staff: Principal, org_id: uuid.UUID | None
) -> Org | None:
    """``org_id`` if the officer may report on it (404 otherwise); without one, the officer's
    first subtree, or None when there is none."""
    if org_id is not None:
        return await get_org(session, staff, org_id, Perm.reports_read)
    roots = await report_roots(session, staff)
    return roots[0] if roots else None


async def report_scope(
    session: AsyncSession,
    staff: Principal,
    org_id: uuid.UUID,
    start: date | None,
    end: date | None,
    time_zone: str,
) -> tuple[Org, ReportRange]:
    """The org (``reports.read`` on it, else 404) and the checked date range of one report."""
    org = await get_org(session, staff, org_id, Perm.reports_read)
    return org, report_range(start, end, time_zone)
