"""The staff queue: requests filed in the staff member's subtrees, filtered, with counts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import NotFound
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.members.models import Member
from cardsvc.orgs.models import Org
from cardsvc.servicereq.models import OPEN_STATUSES, RequestKind, ServiceRequest, ServiceStatus

SR = ServiceRequest


@dataclass(slots=True)
class QueueFilter:
    org_id: uuid.UUID | None = None  # narrow to this org's subtree
    kind: RequestKind | None = None
    status: ServiceStatus | None = None
    open_only: bool = False
    overdue: bool | None = None
    escalated: bool | None = None
    handling_here: bool = False  # only those handled by (or escalated to) the org itself
    q: str | None = None  # reference number or title


def overdue_cond(now: datetime) -> ColumnElement[bool]:
    return and_(SR.status.in_(list(OPEN_STATUSES)), SR.due_at.is_not(None), SR.due_at < now)


async def _conds(
    session: AsyncSession, staff: Principal, f: QueueFilter, now: datetime
) -> list[Any]:
    conds: list[Any] = [staff.scope_filter(SR.org_path, Perm.service_handle)]
    if f.org_id is not None:
        org = await session.get(Org, f.org_id)
        if org is None or not staff.can(Perm.service_handle, org.path):
            raise NotFound("org_not_found", "未找到该组织", "Org not found")
        if f.handling_here:
            conds.append(or_(SR.handling_org_id == org.id, SR.escalated_org_id == org.id))
        else:
            conds.append(SR.org_path.startswith(org.path, autoescape=True))
    if f.kind is not None:
        conds.append(SR.kind == f.kind)
    if f.status is not None:
        conds.append(SR.status == f.status)
    elif f.open_only:
        conds.append(SR.status.in_(list(OPEN_STATUSES)))
    if f.overdue is True:
        conds.append(overdue_cond(now))
    elif f.overdue is False:
        conds.append(~overdue_cond(now))
    if f.escalated is True:
        conds.append(SR.escalations > 0)
    elif f.escalated is False:
        conds.append(SR.escalations == 0)
    if f.q and f.q.strip():
        q = f.q.strip()
        conds.append(or_(SR.ref_no == q.upper(), SR.title.contains(q, autoescape=True)))
    return conds


async def list_queue(
    session: AsyncSession,
    staff: Principal,
    f: QueueFilter,
    *,
    now: datetime,
    limit: int,
    offset: int,
) -> tuple[list[ServiceRequest], int, dict[str, int]]:
    """(page, total, counts): counts by status plus ``overdue``/``escalated``/``open``, over
    the same filters except status, so the tabs of a queue page can show them."""
    conds = await _conds(session, staff, f, now)
    total = await session.scalar(select(func.count()).select_from(SR).where(*conds))
    rows = await session.scalars(
        select(SR)
        .where(*conds)
        # Overdue and soonest-due first, then the newest.
        .order_by(SR.due_at.is_(None), SR.due_at, SR.submitted_at.desc(), SR.id)
        .limit(limit)
        .offset(offset)
    )
    base = await _conds(
        session,
        staff,
        QueueFilter(org_id=f.org_id, kind=f.kind, handling_here=f.handling_here, q=f.q),
        now,
    )
    counts: dict[str, int] = {s.value: 0 for s in ServiceStatus}
    for status, n in await session.execute(
        select(SR.status, func.count()).where(*base).group_by(SR.status)
    ):
        counts[ServiceStatus(status).value] = int(n)
    counts["open"] = sum(counts[s.value] for s in OPEN_STATUSES)
    counts["overdue"] = int(
        await session.scalar(select(func.count()).select_from(SR).where(*base, overdue_cond(now)))
        or 0
    )
    counts["escalated"] = int(
        await session.scalar(
            select(func.count())
            .select_from(SR)
            .where(*base, SR.escalations > 0, SR.status.in_(list(OPEN_STATUSES)))
        )
        or 0
    )
    return list(rows), int(total or 0), counts


async def member_requests(
    session: AsyncSession,
    member: Member,
    *,
    status: ServiceStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[ServiceRequest], int]:
    conds: list[Any] = [SR.member_id == member.id]
    if status is not None:
        conds.append(SR.status == status)
    total = await session.scalar(select(func.count()).select_from(SR).where(*conds))
    rows = await session.scalars(
        select(SR).where(*conds).order_by(SR.submitted_at.desc(), SR.id).limit(limit).offset(offset)
    )
    return list(rows), int(total or 0)
