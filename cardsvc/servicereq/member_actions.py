"""A member's own actions on their request: replying to a question, withdrawing, rating."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import Conflict, ValidationError
from cardsvc.members.models import Member
from cardsvc.servicereq.models import (
    OPEN_STATUSES,
    ServiceRequest,
    ServiceStatus,
)
from cardsvc.servicereq.service import (
    MAX_NOTE,
    bad_status,
    checked_text,
    member_actor,
    start_clock,
    stop_clock,
)
from cardsvc.servicereq.steps import add_step, tell_staff


async def member_reply(
    session: AsyncSession, member: Member, req: ServiceRequest, *, now: datetime, note: str
) -> ServiceRequest:
    if req.status != ServiceStatus.info_requested:
        raise bad_status(req, "补充材料", "reply to")
    note = checked_text(note, "note", MAX_NOTE)
    req.status = ServiceStatus.accepted
    start_clock(req, now + timedelta(seconds=req.paused_seconds or 0))
    add_step(
        session,
        req,
        "member_reply",
        now=now,
        actor_type="member",
        actor=member_actor(member),
        note=note,
    )
    await tell_staff(session, req, req.handling_org_id, "member_reply", None)
    return req


async def withdraw(
    session: AsyncSession, member: Member, req: ServiceRequest, *, now: datetime, reason: str | None
) -> ServiceRequest:
    if req.status not in OPEN_STATUSES:
        raise bad_status(req, "撤回", "withdraw")
    reason = checked_text(reason, "reason", MAX_NOTE, required=False)
    req.status, req.closed_at, req.outcome = ServiceStatus.withdrawn, now, reason
    stop_clock(req)
    add_step(
        session,
        req,
        "withdrawn",
        now=now,
        actor_type="member",
        actor=member_actor(member),
        note=reason,
    )
    await tell_staff(session, req, req.handling_org_id, "withdrawn", reason)
    return req


async def rate(
    session: AsyncSession,
    member: Member,
    req: ServiceRequest,
    *,
    now: datetime,
    rating: int,
    comment: str | None,
) -> ServiceRequest:
    """The member rates the outcome (1–5) once per closing."""
    if req.status not in (ServiceStatus.resolved, ServiceStatus.rejected):
        raise Conflict("not_closed", "办结后才能评价", "only a closed request can be rated")
    if req.rating is not None:
        raise Conflict("already_rated", "您已评价过该申请", "You already rated this request")
    if not 1 <= rating <= 5:
        raise ValidationError.field("rating", "评分应为 1–5", "rating must be 1–5")
    comment = checked_text(comment, "comment", 500, required=False)
    req.rating, req.rating_comment, req.rated_at = rating, comment, now
    add_step(
        session,
        req,
        "rated",
        now=now,
        actor_type="member",
        actor=member_actor(member),
        note=comment,
        detail={"rating": rating},
    )
    await tell_staff(session, req, req.handling_org_id, "rated", f"{rating} 星")
    return req
