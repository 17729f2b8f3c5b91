"""Who signed up for an activity, as staff see it and export it (.xlsx, audited)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.activities.attendance import no_show
from cardsvc.activities.models import Activity, ActivitySignup, SignupStatus
from cardsvc.kernel.audit import record
from cardsvc.kernel.cells import safe_cell
from cardsvc.kernel.principal import Principal
from cardsvc.members.models import Member


@dataclass(frozen=True, slots=True)
class RosterLine:
    signup: ActivitySignup
    member_no: str
    name: str
    no_show: bool


@dataclass(frozen=True, slots=True)
class Counts:
    signed: int
    waitlisted: int
    cancelled: int
    checked_in: int
    no_shows: int
    passed: int


async def roster(session: AsyncSession, activity: Activity, *, now: datetime) -> list[RosterLine]:
    """Every sign-up: places first (in the order taken), then the waiting list in its order,
    then the cancelled ones."""
    rows = await session.execute(
        select(ActivitySignup, Member.member_no, Member.name)
        .join(Member, Member.id == ActivitySignup.member_id)
        .where(ActivitySignup.activity_id == activity.id)
    )
    order = {SignupStatus.signed: 0, SignupStatus.waitlisted: 1, SignupStatus.cancelled: 2}
    lines = [RosterLine(s, no, name, no_show(activity, s, now)) for s, no, name in rows]
    lines.sort(
        key=lambda ln: (
            order[ln.signup.status],
            ln.signup.position or 0,
            ln.signup.promoted_at or ln.signup.signed_up_at,
            ln.member_no,
        )
    )
    return lines


def counts(lines: list[RosterLine]) -> Counts:
    def n(status: SignupStatus) -> int:
        return sum(1 for ln in lines if ln.signup.status == status)

    return Counts(
        signed=n(SignupStatus.signed),
        waitlisted=n(SignupStatus.waitlisted),
        cancelled=n(SignupStatus.cancelled),
        checked_in=sum(1 for ln in lines if ln.signup.checked_in_at is not None),
        no_shows=sum(1 for ln in lines if ln.no_show),
        passed=sum(1 for ln in lines if ln.signup.passed),
    )


STATUS_ZH = {"signed": "已报名", "waitlisted": "候补", "cancelled": "已取消"}
HEADERS = (
    "会员编号",
    "姓名",
    "状态",
    "候补序号",
    "报名时间",
    "签到时间",
    "缺席",
    "结业",
    "学时（小时）",
    "证书编号",
)


def roster_xlsx(activity: Activity, lines: list[RosterLine], time_zone: str) -> bytes:
    zone = ZoneInfo(time_zone)

    def local(at: datetime | None) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if at else ""

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "报名名单"
    ws.append([safe_cell(activity.title)])
    ws.append(HEADERS)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for ln in lines:
        s = ln.signup
        ws.append(
            [
                safe_cell(ln.member_no),
                safe_cell(ln.name),
                STATUS_ZH[s.status.value],
                s.position,
                local(s.signed_up_at),
                local(s.checked_in_at),
                "是" if ln.no_show else "",
                "" if s.passed is None else ("合格" if s.passed else "不合格"),
                round(s.minutes / 60, 1) if s.minutes else None,
                s.cert_no or "",
            ]
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def export_roster(
    session: AsyncSession, staff: Principal, activity: Activity, *, now: datetime, time_zone: str
) -> bytes:
    lines = await roster(session, activity, now=now)
    record(
        session,
        staff,
        "activity.export",
        target_type="activity",
        target_id=activity.id,
        org_path=activity.org_path,
        summary={"rows": len(lines)},
    )
    return roster_xlsx(activity, lines, time_zone)
