"""Hardship records API (staff with ``hardship.read``/``hardship.write``; every read audited),
and the member's own view of their record."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, get, post
from litestar.datastructures import State
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.masking import mask_name
from cardsvc.kernel.pagination import Limit, Offset
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.members.models import Member
from cardsvc.members.service import get_member
from cardsvc.orgs.models import Org
from cardsvc.servicereq.hardship import service as hs
from cardsvc.servicereq.hardship.models import (
    CATEGORY_LABELS_ZH,
    HardshipCategory,
    HardshipRecord,
    HardshipStatus,
)


class ApplyIn(msgspec.Struct):
    member_id: uuid.UUID
    category: HardshipCategory
    level: Annotated[int, msgspec.Meta(ge=1, le=3)]
    circumstances: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    request_id: uuid.UUID | None = None


class DecideIn(msgspec.Struct):
    review_on: date | None = None
    level: Annotated[int, msgspec.Meta(ge=1, le=3)] | None = None


class ApproveIn(DecideIn):
    category: HardshipCategory | None = None  # e.g. for a record a roster import proposed


class ReasonIn(msgspec.Struct):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class RecordOut(msgspec.Struct):
    id: uuid.UUID
    member_id: uuid.UUID
    member_no: str
    member_name: str  # masked
    union: str
    approver_org: str
    approver_org_id: uuid.UUID
    status: HardshipStatus
    category: HardshipCategory
    category_label: str
    level: int
    circumstances: str
    request_id: uuid.UUID | None
    applied_by: str
    applied_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    review_on: date | None
    reviewed_at: datetime | None
    ended_at: datetime | None


class RecordPage(msgspec.Struct):
    items: list[RecordOut]
    total: int
    limit: int
    offset: int


class MyHardshipOut(msgspec.Struct):
    status: HardshipStatus | None
    category: HardshipCategory | None
    category_label: str | None
    level: int | None
    review_on: date | None


async def records_out(session: AsyncSession, rows: list[HardshipRecord]) -> list[RecordOut]:
    if not rows:
        return []
    members = {
        m.id: m
        for m in await session.scalars(
            select(Member).where(Member.id.in_({r.member_id for r in rows}))
        )
    }
    org_ids = {r.org_id for r in rows} | {r.approver_org_id for r in rows}
    found = await session.execute(select(Org.id, Org.name).where(Org.id.in_(org_ids)))
    names = dict(found.tuples().all())
    return [
        RecordOut(
            id=r.id,
            member_id=r.member_id,
            member_no=members[r.member_id].member_no,
            member_name=mask_name(members[r.member_id].name),
            union=names[r.org_id],
            approver_org=names[r.approver_org_id],
            approver_org_id=r.approver_org_id,
            status=r.status,
            category=r.category,
            category_label=CATEGORY_LABELS_ZH[r.category],
            level=r.level,
            circumstances=r.circumstances,
            request_id=r.request_id,
            applied_by=r.applied_by,
            applied_at=r.applied_at,
            decided_by=r.decided_by,
            decided_at=r.decided_at,
            reason=r.reason,
            review_on=r.review_on,
            reviewed_at=r.reviewed_at,
            ended_at=r.ended_at,
        )
        for r in rows
    ]


def _today(state: State, now: datetime) -> date:
    return now.astimezone(ZoneInfo(state.settings.time_zone)).date()


class HardshipController(Controller):
    path = "/api/v1/hardship/records"
    tags = ["staff: hardship records"]
    security = [{"staffSession": []}]

    @get("/", summary="Hardship records in my subtrees (audited read)")
    async def list_records(
        self,
        staff: Principal,
        db_session: AsyncSession,
        status: HardshipStatus | None = None,
        org_id: uuid.UUID | None = None,
        member_id: uuid.UUID | None = None,
        awaiting_me: bool = False,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> RecordPage:
        rows, total = await hs.list_records(
            db_session,
            staff,
            status=status,
            org_id=org_id,
            member_id=member_id,
            awaiting_me=awaiting_me,
            limit=limit,
            offset=offset,
        )
        return RecordPage(await records_out(db_session, rows), total, limit, offset)

    @post("/", summary="Apply for a member (decided by the union one level above)")
    async def apply(self, staff: Principal, db_session: AsyncSession, data: ApplyIn) -> RecordOut:
        member = await get_member(db_session, staff, data.member_id, Perm.hardship_write)
        rec = await hs.apply(
            db_session,
            staff,
            member,
            category=data.category,
            level=data.level,
            circumstances=data.circumstances,
            now=utc_now(),
            request_id=data.request_id,
        )
        return (await records_out(db_session, [rec]))[0]

    @get("/{record_id:uuid}", summary="One record (audited read)")
    async def detail(
        self, staff: Principal, db_session: AsyncSession, record_id: uuid.UUID
    ) -> RecordOut:
        rec = await hs.get_record(db_session, staff, record_id)
        return (await records_out(db_session, [rec]))[0]

    @post(
        "/{record_id:uuid}/approve",
        summary="Approve: the member's hardship category and level apply until review_on",
        status_code=200,
    )
    async def approve(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        record_id: uuid.UUID,
        data: ApproveIn | None = None,
    ) -> RecordOut:
        rec = await hs.get_record(db_session, staff, record_id, audit_read=False)
        now = utc_now()
        await hs.approve(
            db_session,
            staff,
            rec,
            now=now,
            today=_today(state, now),
            review_days=state.settings.hardship_review_days,
            review_on=data.review_on if data else None,
            level=data.level if data else None,
            category=data.category if data else None,
        )
        return (await records_out(db_session, [rec]))[0]

    @post("/{record_id:uuid}/reject", summary="Reject with a reason", status_code=200)
    async def reject(
        self, staff: Principal, db_session: AsyncSession, record_id: uuid.UUID, data: ReasonIn
    ) -> RecordOut:
        rec = await hs.get_record(db_session, staff, record_id, audit_read=False)
        await hs.reject(db_session, staff, rec, now=utc_now(), reason=data.reason)
        return (await records_out(db_session, [rec]))[0]

    @post(
        "/{record_id:uuid}/review",
        summary="Periodic review (复核): next review date, level",
        status_code=200,
    )
    async def review(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        record_id: uuid.UUID,
        data: DecideIn,
    ) -> RecordOut:
        rec = await hs.get_record(db_session, staff, record_id, audit_read=False)
        now = utc_now()
        await hs.review(
            db_session,
            staff,
            rec,
            now=now,
            today=_today(state, now),
            review_days=state.settings.hardship_review_days,
            review_on=data.review_on,
            level=data.level,
        )
        return (await records_out(db_session, [rec]))[0]

    @post(
        "/{record_id:uuid}/revoke",
        summary="End the record early (member no longer in hardship)",
        status_code=200,
    )
    async def revoke(
        self, staff: Principal, db_session: AsyncSession, record_id: uuid.UUID, data: ReasonIn
    ) -> RecordOut:
        rec = await hs.get_record(db_session, staff, record_id, audit_read=False)
        await hs.revoke(db_session, staff, rec, now=utc_now(), reason=data.reason)
        return (await records_out(db_session, [rec]))[0]


class MyHardshipController(Controller):
    path = "/api/v1/me/hardship"
    tags = ["member: service requests"]

    @get("/", summary="My hardship record's status (category, level, review date)")
    async def mine(self, db_session: AsyncSession, me: Member) -> MyHardshipOut:
        rec = await hs.member_hardship(db_session, me.id)
        if rec is None:
            return MyHardshipOut(None, None, None, None, None)
        return MyHardshipOut(
            rec.status, rec.category, CATEGORY_LABELS_ZH[rec.category], rec.level, rec.review_on
        )
