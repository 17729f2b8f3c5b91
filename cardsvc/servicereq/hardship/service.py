"""Hardship records: a union applies for one of its members, the union one level above
decides; approval gives the member the ``hardship`` category and a level (what benefit
programmes test) until the review date; a record not reviewed by then expires and takes them
away again. Records are sensitive: only roles with ``hardship.read`` see them, and every
read is audited."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.inbox.service import notify_member, notify_org_staff
from cardsvc.kernel.audit import record as audit
from cardsvc.kernel.errors import Conflict, Forbidden, NotFound, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import SYSTEM, Principal
from cardsvc.members.models import Category, Member, MemberStatus
from cardsvc.orgs.models import Org
from cardsvc.servicereq.hardship.models import (
    CATEGORY_LABELS_ZH,
    HardshipCategory,
    HardshipRecord,
    HardshipStatus,
)
from cardsvc.servicereq.models import RequestKind, ServiceRequest

HR = HardshipRecord
LEVELS = (1, 2, 3)


def _not_found() -> NotFound:
    return NotFound("hardship_not_found", "未找到该困难职工档案", "Hardship record not found")


def _audit(
    session: AsyncSession, actor: Principal, action: str, rec: HardshipRecord, **kw: Any
) -> None:
    audit(
        session,
        actor,
        action,
        target_type="hardship_record",
        target_id=rec.id,
        org_path=rec.org_path,
        summary={"member_id": str(rec.member_id), "status": rec.status.value, **kw},
    )


def _level(level: int) -> int:
    if level not in LEVELS:
        raise ValidationError.field("level", "困难等级应为 1、2 或 3", "level must be 1, 2 or 3")
    return level


def _set_member_hardship(member: Member, level: int | None) -> None:
    cats = [c for c in (member.categories or []) if c != Category.hardship.value]
    if level is not None:
        cats.append(Category.hardship.value)
    member.categories = sorted(cats)  # a new list: the JSON column sees the change
    member.hardship_level = level


async def apply(
    session: AsyncSession,
    staff: Principal,
    member: Member,
    *,
    category: HardshipCategory,
    level: int,
    circumstances: str,
    now: datetime,
    request_id: uuid.UUID | None = None,
) -> HardshipRecord:
    """The member's union (or a level above) files the application; it waits for the union
    one level above the member's."""
    if not staff.can(Perm.hardship_write, member.org_path):
        raise NotFound("member_not_found", "未找到该会员", "Member not found")
    if member.status != MemberStatus.active:
        raise Conflict("member_inactive", "会员状态不是有效", "The membership is not active")
    circumstances = (circumstances or "").strip()
    if not circumstances or len(circumstances) > 4000:
        raise ValidationError.field(
            "circumstances",
            "请填写困难情况（不超过 4000 字）",
            "describe the circumstances (≤ 4000)",
        )
    org = await session.get(Org, member.org_id)
    assert org is not None
    if org.parent_id is None:
        raise Conflict("no_approver", "该工会没有上级工会可以审批", "No union above to approve")
    approver = await session.get(Org, org.parent_id)
    assert approver is not None
    if request_id is not None:
        req = await session.get(ServiceRequest, request_id)
        if req is None or req.member_id != member.id or req.kind != RequestKind.hardship:
            raise ValidationError.field(
                "request_id", "应为该会员的困难帮扶申请", "must be this member's hardship request"
            )
    rec = HardshipRecord(
        member_id=member.id,
        org_id=org.id,
        org_path=org.path,
        approver_org_id=approver.id,
        approver_org_path=approver.path,
        request_id=request_id,
        status=HardshipStatus.pending,
        category=category,
        level=_level(level),
        circumstances=circumstances,
        applied_by=staff.username,
        applied_at=now,
    )
    try:
        # Added inside the savepoint: a refused insert leaves nothing pending behind.
        async with session.begin_nested():
            session.add(rec)
            await session.flush()
    except IntegrityError:
        raise Conflict(
            "hardship_open",
            "该会员已有待审批或有效的困难职工档案",
            "The member already has a pending or approved hardship record",
        ) from None
    _audit(session, staff, "hardship.apply", rec, category=category.value, level=level)
    await notify_org_staff(
        session,
        approver.id,
        Perm.hardship_write,
        topic="hardship.pending",
        title="困难职工建档待审批",
        title_en="Hardship record waiting for approval",
        body=f"{org.name} 提交了一份困难职工建档申请，请审批",
        subject=("hardship_record", rec.id),
    )
    return rec


def _may_decide(staff: Principal, rec: HardshipRecord) -> None:
    """Only the union one level above the member's (or its own superiors) decides."""
    if not staff.can(Perm.hardship_write, rec.approver_org_path):
        raise Forbidden(
            "hardship_wrong_level",
            "困难职工档案须由会员所在工会的上一级工会审批",
            "A hardship record is decided by the union one level above the member's",
        )


async def get_record(
    session: AsyncSession, staff: Principal, record_id: uuid.UUID, *, audit_read: bool = True
) -> HardshipRecord:
    rec = await session.scalar(select(HardshipRecord).where(HardshipRecord.id == record_id))
    if rec is None or not staff.can(Perm.hardship_read, rec.org_path):
        raise _not_found()
    if audit_read:
        _audit(session, staff, "hardship.read", rec)
    return rec


async def list_records(
    session: AsyncSession,
    staff: Principal,
    *,
    status: HardshipStatus | None,
    org_id: uuid.UUID | None,
    member_id: uuid.UUID | None,
    awaiting_me: bool,
    limit: int,
    offset: int,
) -> tuple[list[HardshipRecord], int]:
    """Records in the viewer's subtrees; ``awaiting_me``: pending ones the viewer decides.
    The read is audited with the ids returned."""
    if not staff.can(Perm.hardship_read):
        raise Forbidden("hardship_forbidden", "您的角色无权查看困难职工档案", "no hardship access")
    conds: list[Any] = [staff.scope_filter(HR.org_path, Perm.hardship_read)]
    if awaiting_me:
        conds += [
            HR.status == HardshipStatus.pending,
            staff.scope_filter(HR.approver_org_path, Perm.hardship_write),
        ]
    if status is not None:
        conds.append(HR.status == status)
    scope_path = None
    if org_id is not None:
        org = await session.get(Org, org_id)
        if org is None or not staff.can(Perm.hardship_read, org.path):
            raise NotFound("org_not_found", "未找到该组织", "Org not found")
        conds.append(HR.org_path.startswith(org.path, autoescape=True))
        scope_path = org.path
    if member_id is not None:
        conds.append(HR.member_id == member_id)
    total = await session.scalar(select(func.count()).select_from(HR).where(*conds))
    rows = list(
        await session.scalars(
            select(HR)
            .where(*conds)
            .order_by(HR.applied_at.desc(), HR.id)
            .limit(limit)
            .offset(offset)
        )
    )
    audit(
        session,
        staff,
        "hardship.list",
        target_type="hardship_record",
        target_id=None,
        org_path=scope_path or next(iter(staff.paths(Perm.hardship_read)), None),
        summary={"ids": [str(r.id) for r in rows], "total": int(total or 0)},
    )
    return rows, int(total or 0)


async def todo_counts(
    session: AsyncSession, staff: Principal, *, today: date, review_within_days: int = 30
) -> dict[str, int]:
    """Counts for a to-do list, no record read (so nothing to audit): pending records the
    viewer decides, and approved records in the viewer's subtrees whose review is due within
    ``review_within_days`` (or overdue)."""
    if not staff.can(Perm.hardship_read):
        return {"awaiting_me": 0, "review_due": 0}
    seen = staff.scope_filter(HR.org_path, Perm.hardship_read)
    awaiting = await session.scalar(
        select(func.count())
        .select_from(HR)
        .where(
            seen,
            HR.status == HardshipStatus.pending,
            staff.scope_filter(HR.approver_org_path, Perm.hardship_write),
        )
    )
    due = await session.scalar(
        select(func.count())
        .select_from(HR)
        .where(
            seen,
            HR.status == HardshipStatus.approved,
            HR.review_on <= today + timedelta(days=review_within_days),
        )
    )
    return {"awaiting_me": int(awaiting or 0), "review_due": int(due or 0)}


async def approve(
    session: AsyncSession,
    staff: Principal,
    rec: HardshipRecord,
    *,
    now: datetime,
    today: date,
    review_days: int,
    review_on: date | None = None,
    level: int | None = None,
    category: HardshipCategory | None = None,
) -> HardshipRecord:
    """The member gets the hardship category and the record's level (the approver may set
    both, e.g. for a record a roster import proposed) until ``review_on``."""
    _may_decide(staff, rec)
    if rec.status != HardshipStatus.pending:
        raise Conflict("already_decided", "该档案已审批", "This record was already decided")
    review_on = _review_date(review_on, today, review_days)
    if level is not None:
        rec.level = _level(level)
    if category is not None:
        rec.category = category
    member = await session.get(Member, rec.member_id)
    assert member is not None
    rec.status, rec.decided_by, rec.decided_at, rec.review_on = (
        HardshipStatus.approved,
        staff.username,
        now,
        review_on,
    )
    before = {"categories": list(member.categories or []), "hardship_level": member.hardship_level}
    _set_member_hardship(member, rec.level)
    _audit(
        session,
        staff,
        "hardship.approve",
        rec,
        level=rec.level,
        category=rec.category.value,
        review_on=review_on.isoformat(),
        member_before=before,
    )
    notify_member(
        session,
        member.id,
        topic="hardship.approved",
        title="困难职工建档已通过",
        title_en="Hardship record approved",
        body=f"您已建档为{CATEGORY_LABELS_ZH[rec.category]}职工，复核日期 {review_on.isoformat()}",
        subject=("hardship_record", rec.id),
    )
    return rec


def _review_date(review_on: date | None, today: date, review_days: int) -> date:
    review_on = review_on or today + timedelta(days=review_days)
    if review_on <= today:
        raise ValidationError.field(
            "review_on", "复核日期应晚于今天", "review_on must be after today"
        )
    if review_on > today + timedelta(days=3 * 366):
        raise ValidationError.field(
            "review_on", "复核日期不能超过三年", "at most three years ahead"
        )
    return review_on


async def reject(
    session: AsyncSession, staff: Principal, rec: HardshipRecord, *, now: datetime, reason: str
) -> HardshipRecord:
    _may_decide(staff, rec)
    if rec.status != HardshipStatus.pending:
        raise Conflict("already_decided", "该档案已审批", "This record was already decided")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError.field("reason", "请填写不予批准的原因", "a reason is required")
    rec.status, rec.decided_by, rec.decided_at, rec.reason = (
        HardshipStatus.rejected,
        staff.username,
        now,
        reason[:255],
    )
    _audit(session, staff, "hardship.reject", rec, reason=rec.reason)
    return rec


async def review(
    session: AsyncSession,
    staff: Principal,
    rec: HardshipRecord,
    *,
    now: datetime,
    today: date,
    review_days: int,
    review_on: date | None = None,
    level: int | None = None,
) -> HardshipRecord:
    """Periodic review (复核): the approving level confirms and sets the next review date."""
    _may_decide(staff, rec)
    if rec.status != HardshipStatus.approved:
        raise Conflict(
            "not_approved", "只有有效的档案可以复核", "Only an approved record is reviewed"
        )
    before = {"review_on": rec.review_on.isoformat() if rec.review_on else None, "level": rec.level}
    rec.review_on = _review_date(review_on, today, review_days)
    rec.reviewed_at = now
    if level is not None:
        rec.level = _level(level)
        member = await session.get(Member, rec.member_id)
        assert member is not None
        _set_member_hardship(member, rec.level)
    _audit(
        session,
        staff,
        "hardship.review",
        rec,
        before=before,
        review_on=rec.review_on.isoformat(),
        level=rec.level,
    )
    return rec


async def revoke(
    session: AsyncSession, staff: Principal, rec: HardshipRecord, *, now: datetime, reason: str
) -> HardshipRecord:
    _may_decide(staff, rec)
    if rec.status != HardshipStatus.approved:
        raise Conflict(
            "not_approved", "只有有效的档案可以注销", "Only an approved record is revoked"
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError.field("reason", "请填写注销原因", "a reason is required")
    rec.status, rec.ended_at, rec.reason = HardshipStatus.revoked, now, reason[:255]
    member = await session.get(Member, rec.member_id)
    assert member is not None
    _set_member_hardship(member, None)
    _audit(session, staff, "hardship.revoke", rec, reason=rec.reason)
    return rec


async def expire_due(session: AsyncSession, *, today: date, now: datetime) -> int:
    """Approved records whose review date has passed unreviewed: expired, and the member's
    hardship category and level removed. A conditional update per record keeps two sweeps
    from both acting."""
    due = list(
        await session.scalars(
            select(HR).where(HR.status == HardshipStatus.approved, HR.review_on < today).limit(500)
        )
    )
    n = 0
    for rec in due:
        claimed = await session.execute(
            update(HR)
            .where(HR.id == rec.id, HR.status == HardshipStatus.approved)
            .values(status=HardshipStatus.expired, ended_at=now)
            .execution_options(synchronize_session=False)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult
            continue
        await session.refresh(rec)
        member = await session.get(Member, rec.member_id)
        assert member is not None
        _set_member_hardship(member, None)
        _audit(
            session,
            SYSTEM,
            "hardship.expire",
            rec,
            review_on=rec.review_on.isoformat() if rec.review_on else None,
        )
        notify_member(
            session,
            member.id,
            topic="hardship.expired",
            title="困难职工档案已到期",
            title_en="Hardship record expired",
            body="您的困难职工档案已到复核日期而未复核，相关帮扶资格已暂停；如仍有困难请联系所在工会",
            subject=("hardship_record", rec.id),
        )
        n += 1
    return n


async def member_hardship(session: AsyncSession, member_id: uuid.UUID) -> HardshipRecord | None:
    """The member's current (pending or approved) record, for the member's own view."""
    return await session.scalar(
        select(HR)
        .where(
            HR.member_id == member_id,
            HR.status.in_([HardshipStatus.pending, HardshipStatus.approved]),
        )
        .limit(1)
    )
