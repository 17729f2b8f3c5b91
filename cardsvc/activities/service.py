"""Publishing activities and who may see them: plain functions over a session.

Who may join is the benefits engine's eligibility rule (``benefits.public``), evaluated on the
member's facts as the till builds them; an activity's own rule is stored in the engine's JSON
form. Staff act on activities of the subtrees where they hold ``service.handle``; anything
else is 404, as for service requests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.public import check_eligibility, eligibility_to_json, parse_eligibility
from cardsvc.activities.errors import activity_not_found
from cardsvc.activities.models import Activity, ActivityKind, ActivityStatus
from cardsvc.flows.member_benefits import member_facts
from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import FieldError, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.members.models import Member
from cardsvc.orgs.service import get_org

PERM = Perm.service_handle  # the staff who serve members run their activities too
MAX_CAPACITY = 100_000
MAX_FEN = 100_000_000  # one million yuan
MAX_SPAN = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class ActivityInput:
    org_id: uuid.UUID
    kind: ActivityKind
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    place: str
    capacity: int
    signup_opens_at: datetime
    signup_closes_at: datetime
    cancel_deadline: datetime
    store_id: uuid.UUID | None = None
    cost_fen: int = 0
    subsidy_fen: int = 0
    training_minutes: int | None = None
    eligibility: dict[str, Any] | None = None


def _check(data: ActivityInput) -> list[FieldError]:
    """What is wrong with the times, places and money of ``data``, field by field."""
    errs: list[FieldError] = []

    def bad(field: str, zh: str, en: str) -> None:
        errs.append(FieldError(field, zh, en))

    if data.ends_at <= data.starts_at:
        bad("ends_at", "结束时间须晚于开始时间", "must be after starts_at")
    elif data.ends_at - data.starts_at > MAX_SPAN:
        bad("ends_at", "活动时长不能超过一年", "must be within a year of starts_at")
    if data.signup_closes_at <= data.signup_opens_at:
        bad("signup_closes_at", "报名截止须晚于报名开始", "must be after signup_opens_at")
    if data.signup_closes_at > data.starts_at:
        bad("signup_closes_at", "报名须在活动开始前截止", "must not be after starts_at")
    if data.cancel_deadline > data.starts_at:
        bad("cancel_deadline", "取消截止须不晚于活动开始", "must not be after starts_at")
    if not 1 <= data.capacity <= MAX_CAPACITY:
        bad("capacity", f"名额须在 1 至 {MAX_CAPACITY} 之间", f"must be 1–{MAX_CAPACITY}")
    for name in ("cost_fen", "subsidy_fen"):
        if not 0 <= getattr(data, name) <= MAX_FEN:
            bad(name, "金额超出范围", f"must be 0–{MAX_FEN}")
    if data.subsidy_fen > data.cost_fen:
        bad("subsidy_fen", "补贴不能超过费用", "must not exceed cost_fen")
    if data.kind is ActivityKind.training and not data.training_minutes:
        bad("training_minutes", "培训课程须填写学时", "a training course needs its minutes")
    if data.training_minutes is not None and not 1 <= data.training_minutes <= 100_000:
        bad("training_minutes", "学时超出范围", "must be 1–100000")
    if not data.title.strip():
        bad("title", "不能为空", "must not be empty")
    if not data.place.strip():
        bad("place", "不能为空", "must not be empty")
    return errs


async def publish(
    session: AsyncSession, staff: Principal, data: ActivityInput, *, now: datetime
) -> Activity:
    """Publish an activity of ``data.org_id`` (which the staff member must serve); audited."""
    org = await get_org(session, staff, data.org_id, PERM)
    errs = _check(data)
    if errs:
        raise ValidationError(errors=errs)
    rule = eligibility_to_json(parse_eligibility(data.eligibility or {}))
    activity = Activity(
        org_id=org.id,
        org_path=org.path,
        kind=data.kind,
        title=data.title.strip(),
        description=data.description.strip(),
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        place=data.place.strip(),
        store_id=data.store_id,
        capacity=data.capacity,
        eligibility=rule,
        signup_opens_at=data.signup_opens_at,
        signup_closes_at=data.signup_closes_at,
        cancel_deadline=data.cancel_deadline,
        cost_fen=data.cost_fen,
        subsidy_fen=data.subsidy_fen,
        training_minutes=data.training_minutes if data.kind is ActivityKind.training else None,
        created_by=staff.username,
    )
    session.add(activity)
    await session.flush()
    record(
        session,
        staff,
        "activity.publish",
        target_type="activity",
        target_id=activity.id,
        org_path=org.path,
        summary={"title": activity.title, "kind": activity.kind.value, "capacity": data.capacity},
    )
    return activity


async def staff_activity(
    session: AsyncSession, staff: Principal, activity_id: uuid.UUID
) -> Activity:
    """The activity if the staff member serves its org; otherwise 404."""
    activity = await session.get(Activity, activity_id)
    if activity is None or not staff.can(PERM, activity.org_path):
        raise activity_not_found()
    return activity


async def staff_activities(
    session: AsyncSession,
    staff: Principal,
    *,
    kind: ActivityKind | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Activity]:
    """Activities of the staff member's subtrees, the latest first."""
    q = select(Activity).where(staff.scope_filter(Activity.org_path, PERM))
    if kind is not None:
        q = q.where(Activity.kind == kind)
    q = q.order_by(Activity.starts_at.desc(), Activity.id).limit(limit).offset(offset)
    return list(await session.scalars(q))


def local_day(at: datetime, time_zone: str) -> Any:
    return at.astimezone(ZoneInfo(time_zone)).date()


def refusals(activity: Activity, member: Member, *, on: Any) -> list[dict[str, Any]]:
    """Why ``member`` may not join: the engine's reasons, as problem details list them."""
    rule = parse_eligibility(activity.eligibility)
    reasons = check_eligibility(
        rule, owner_org_path=activity.org_path, member=member_facts(member), on=on
    )
    return [r.as_dict() for r in reasons]


def _within_member_reach(member: Member) -> Any:
    """Published activities of the member's union or a union above it."""
    return (Activity.status == ActivityStatus.published) & literal(member.org_path).startswith(
        Activity.org_path
    )


async def member_activity(
    session: AsyncSession, member: Member, activity_id: uuid.UUID
) -> Activity:
    """An activity of the member's union or one above it; otherwise 404."""
    found = await session.scalar(
        select(Activity).where(Activity.id == activity_id, _within_member_reach(member))
    )
    if found is None:
        raise activity_not_found()
    return found


async def upcoming_for_member(
    session: AsyncSession, member: Member, *, now: datetime, limit: int = 100
) -> list[Activity]:
    """Activities the member's unions run that have not ended yet, soonest first."""
    return list(
        await session.scalars(
            select(Activity)
            .where(_within_member_reach(member), Activity.ends_at > now)
            .order_by(Activity.starts_at, Activity.id)
            .limit(limit)
        )
    )
