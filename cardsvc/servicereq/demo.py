"""Demo data: a handful of service requests in every state (one overdue and escalated) and
one hardship record waiting for approval, so that the demo and the console pages have something to show.

Idempotent: nothing is added when any service request exists. The first demo card's member
(the phone the banner prints) gets two of the requests, so signing in shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.principal import SYSTEM, Principal
from cardsvc.kernel.settings import Settings
from cardsvc.members.models import Category, Member, MemberStatus
from cardsvc.orgs.models import Org, OrgLevel
from cardsvc.servicereq import member_actions
from cardsvc.servicereq import service as svc
from cardsvc.servicereq.escalation import escalate_due
from cardsvc.servicereq.hardship import service as hardship
from cardsvc.servicereq.hardship.models import HardshipCategory, HardshipRecord
from cardsvc.servicereq.models import ContactPreference, RequestKind, ServiceRequest
from cardsvc.servicereq.service import SlaDefaults
from cardsvc.staff.models import StaffUser
from cardsvc.staff.service import principal_of


async def _staff(session: AsyncSession, username: str) -> Principal:
    user = await session.scalar(select(StaffUser).where(StaffUser.username == username))
    return principal_of(user) if user is not None else SYSTEM


@dataclass(slots=True)
class _Filer:
    """Files demo requests at a time before ``now``."""

    session: AsyncSession
    now: datetime
    sla: SlaDefaults

    async def file(
        self,
        m: Member,
        kind: RequestKind,
        title: str,
        text: str,
        ago: timedelta,
        pref: ContactPreference = ContactPreference.in_app,
    ) -> ServiceRequest:
        return await svc.file_request(
            self.session,
            m,
            svc.RequestInput(kind, title, text, pref),
            now=self.now - ago,
            sla=self.sla,
        )


async def _demo_members(session: AsyncSession) -> list[Member]:
    return list(
        await session.scalars(
            select(Member)
            .join(Org, Org.id == Member.org_id)
            .where(Member.status == MemberStatus.active, Org.level == OrgLevel.grassroots)
            .order_by(Member.member_no)
            .limit(40)
        )
    )


async def _resolved_request(f: _Filer, staff: Principal, first: Member) -> None:
    """Resolved, with a visit and a payment, rated 5."""
    session, now, sla = f.session, f.now, f.sla
    r = await f.file(
        first,
        RequestKind.hardship,
        "家人重病，生活困难",
        "爱人住院手术，医药费负担重，申请困难帮扶。",
        timedelta(days=20),
    )
    await svc.accept(session, staff, r, now=now - timedelta(days=19, hours=20), sla=sla)
    await svc.record_handling(
        session, staff, r, now=now - timedelta(days=17), kind="visit", note="上门走访核实家庭情况"
    )
    await svc.record_handling(
        session,
        staff,
        r,
        now=now - timedelta(days=12),
        kind="payment",
        note="发放困难帮扶金",
        amount_fen=200000,
    )
    await svc.resolve(
        session,
        staff,
        r,
        now=now - timedelta(days=12),
        outcome="已发放帮扶金 2000 元，并纳入困难职工建档",
    )
    await member_actions.rate(
        session, first, r, now=now - timedelta(days=11), rating=5, comment="感谢工会"
    )


async def _requests_in_hand(f: _Filer, staff: Principal, others: list[Member]) -> None:
    """Waiting for the member's answer, being handled, and rejected."""
    session, now, sla = f.session, f.now, f.sla
    # Accepted; staff asked for more, the clock is stopped.
    r = await f.file(
        others[0],
        RequestKind.childcare,
        "孩子入托补贴",
        "双职工家庭，申请暑期托管补贴。",
        timedelta(days=2),
    )
    await svc.accept(session, staff, r, now=now - timedelta(days=1, hours=20), sla=sla)
    await svc.request_info(
        session, staff, r, now=now - timedelta(days=1), note="请上传孩子的出生证明或户口本页"
    )
    # Accepted, being handled (a call recorded).
    r = await f.file(
        others[1],
        RequestKind.training,
        "报名电工技能培训",
        "希望参加市总组织的电工证培训。",
        timedelta(days=3),
    )
    await svc.accept(session, staff, r, now=now - timedelta(days=2), sla=sla)
    await svc.record_handling(
        session, staff, r, now=now - timedelta(days=1), kind="call", note="已电话确认报名信息"
    )
    # Rejected.
    r = await f.file(
        others[2], RequestKind.other, "申请购房补贴", "申请工会购房补贴。", timedelta(days=8)
    )
    await svc.reject(
        session,
        staff,
        r,
        now=now - timedelta(days=7),
        reason="工会暂无购房补贴项目，已告知可咨询住房公积金政策",
    )


async def _pending_hardship_record(session: AsyncSession, member: Member, now: datetime) -> int:
    """A hardship record filed by the member's union, waiting for the union one level above
    (the demo's members in hardship already have approved ones)."""
    if await session.scalar(select(HardshipRecord.id).where(HardshipRecord.member_id == member.id)):
        return 0
    await hardship.apply(
        session,
        SYSTEM,
        member,
        category=HardshipCategory.accident,
        level=2,
        circumstances="家中突遭火灾，住房受损，需临时救助（演示数据）",
        now=now - timedelta(days=2),
    )
    return 1


async def seed_service_requests(
    session: AsyncSession, settings: Settings, demo: dict[str, Any]
) -> dict[str, Any]:
    if await session.scalar(select(ServiceRequest.id).limit(1)) is not None:
        return {"service_requests": 0}
    sla = settings.service_sla
    now = utc_now()
    members = await _demo_members(session)
    if len(members) < 6:
        return {"service_requests": 0}
    first = members[0]  # demo["cards"][0] is the first active member by number as well
    others = [m for m in members[1:] if Category.hardship.value not in (m.categories or [])]
    staff = await _staff(session, "xl.admin")
    f = _Filer(session, now, sla)
    # 1. Just filed, waiting to be accepted.
    await f.file(
        first,
        RequestKind.legal_aid,
        "被拖欠三个月工资",
        "所在物流公司已拖欠三个月工资共 1.2 万元，希望工会帮助维权。",
        timedelta(hours=2),
    )
    # 2. Resolved; 3–5. accepted and waiting for the member, being handled, rejected.
    await _resolved_request(f, staff, first)
    await _requests_in_hand(f, staff, others)
    # 6. Never accepted: escalated to the district federation, and overdue there as well
    #    (the running demo's sweep escalates it once more, to the city).
    await f.file(
        others[3],
        RequestKind.medical_aid,
        "住院医疗互助报销",
        "去年 12 月住院，申请职工医疗互助金。",
        timedelta(days=6),
        ContactPreference.sms,
    )
    escalated = await escalate_due(session, now - timedelta(hours=95), sla)
    # 7. A hardship record waiting for the union one level up.
    pending = await _pending_hardship_record(session, others[4], now)
    return {"service_requests": 6, "escalated": escalated, "hardship_pending": pending}
