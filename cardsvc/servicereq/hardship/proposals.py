"""Hardship records proposed in bulk (the roster import's 困难等级 column): pending records
for the union one level above each member's to decide. A proposal never sets the member's
hardship category or level; only approving the record does."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.inbox.service import notify_org_staff
from cardsvc.kernel.audit import record as audit
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.orgs.models import Org
from cardsvc.servicereq.hardship.models import HardshipCategory, HardshipRecord, HardshipStatus

HR = HardshipRecord
OPEN = (HardshipStatus.pending, HardshipStatus.approved)
# A roster names a level, not the national classification: the approver confirms or changes
# the category when deciding.
PROPOSED_CATEGORY = HardshipCategory.relative


@dataclass(frozen=True, slots=True)
class Proposal:
    member_id: uuid.UUID
    org_id: uuid.UUID  # the member's union
    level: int
    source: str  # where it came from, for the approver (e.g. "名册导入第 12 行")


@dataclass(slots=True)
class Proposed:
    created: int = 0
    already_open: int = 0  # the member has a pending or approved record: nothing new
    no_approver: int = 0  # the union has no union above it


async def propose(
    session: AsyncSession, staff: Principal, proposals: list[Proposal], *, now: datetime
) -> Proposed:
    out = Proposed()
    if not proposals:
        return out
    members = {p.member_id for p in proposals}
    open_ = set(
        await session.scalars(
            select(HR.member_id).where(HR.member_id.in_(members), HR.status.in_(OPEN))
        )
    )
    orgs = {
        o.id: o
        for o in await session.scalars(select(Org).where(Org.id.in_({p.org_id for p in proposals})))
    }
    parent_ids = {o.parent_id for o in orgs.values() if o.parent_id is not None}
    parents = {o.id: o for o in await session.scalars(select(Org).where(Org.id.in_(parent_ids)))}
    by_approver: Counter[uuid.UUID] = Counter()
    for p in proposals:
        org = orgs[p.org_id]
        approver = parents.get(org.parent_id) if org.parent_id else None
        if p.member_id in open_:
            out.already_open += 1
            continue
        if approver is None:
            out.no_approver += 1
            continue
        rec = HardshipRecord(
            member_id=p.member_id,
            org_id=org.id,
            org_path=org.path,
            approver_org_id=approver.id,
            approver_org_path=approver.path,
            status=HardshipStatus.pending,
            category=PROPOSED_CATEGORY,
            level=p.level,
            circumstances=f"{p.source}提议困难等级 {p.level} 级；困难类别与情况请审批时核实",
            applied_by=staff.username,
            applied_at=now,
        )
        try:
            # One savepoint each: a record filed meanwhile by hand wins, the rest go on.
            async with session.begin_nested():
                session.add(rec)
                await session.flush()
        except IntegrityError:
            out.already_open += 1
            continue
        open_.add(p.member_id)
        out.created += 1
        by_approver[approver.id] += 1
        audit(
            session,
            staff,
            "hardship.apply",
            target_type="hardship_record",
            target_id=rec.id,
            org_path=rec.org_path,
            summary={
                "member_id": str(rec.member_id),
                "status": rec.status.value,
                "level": rec.level,
                "source": p.source,
            },
        )
    for approver_id, n in by_approver.items():
        await notify_org_staff(
            session,
            approver_id,
            Perm.hardship_write,
            topic="hardship.pending",
            title="困难职工建档待审批",
            title_en="Hardship records waiting for approval",
            body=f"名册导入提交了 {n} 份困难职工建档申请，请审批",
            subject=None,
        )
    return out
