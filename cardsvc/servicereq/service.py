"""The life of a service request: filed → accepted → (more info ↔ reply) → resolved/rejected,
with offline handling recorded on the way. The member's own actions (reply, withdrawal, rating)
are in :mod:`.member_actions`; reopening and take-over in :mod:`.takeover`.

Every function takes the session, the actor, the clock (``now``) and plain values; staff
actions are audited; every step lands in the request's timeline, which the member sees.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, overload

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import AppError, Conflict, NotFound, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.sequences import allocate
from cardsvc.members.models import Member, MemberStatus
from cardsvc.orgs.models import Org
from cardsvc.servicereq.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Channel,
    ContactPreference,
    RequestKind,
    ServiceRequest,
    ServiceStatus,
)
from cardsvc.servicereq.sla import effective_sla
from cardsvc.servicereq.steps import HANDLING_KINDS, add_step, tell_member, tell_staff

SlaDefaults = dict[str, tuple[int, int]]
MAX_DESCRIPTION = 4000
MAX_NOTE = 2000


STATUS_ZH = {
    ServiceStatus.submitted: "待受理",
    ServiceStatus.accepted: "办理中",
    ServiceStatus.info_requested: "待补充材料",
    ServiceStatus.resolved: "已办结",
    ServiceStatus.rejected: "不予受理",
    ServiceStatus.withdrawn: "已撤回",
}


class RequestClosed(Conflict):
    code = "request_closed"
    message_zh = "该申请已办结或已关闭，如需变更请先重新办理"
    message_en = "The request is closed; reopen it to change it"


def bad_status(req: ServiceRequest, action_zh: str, action_en: str) -> AppError:
    if req.status in CLOSED_STATUSES:
        return RequestClosed()
    return Conflict(
        "invalid_status",
        f"该申请{STATUS_ZH[req.status]}，不能{action_zh}",
        f"cannot {action_en} a request that is {req.status.value}",
        status_now=req.status.value,
    )


@overload
def checked_text(
    value: str | None, field: str, max_len: int, *, required: Literal[True] = True
) -> str: ...
@overload
def checked_text(value: str | None, field: str, max_len: int, *, required: bool) -> str | None: ...
def checked_text(
    value: str | None, field: str, max_len: int, *, required: bool = True
) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise ValidationError.field(field, "不能为空", "must not be empty")
        return None
    if len(value) > max_len:
        raise ValidationError.field(field, f"不能超过 {max_len} 字", f"at most {max_len} chars")
    return value


def member_actor(member: Member) -> str:
    return f"member:{member.member_no}"


async def stage_deadline(
    session: AsyncSession, sla: SlaDefaults, req: ServiceRequest, now: datetime
) -> datetime:
    """The running stage's deadline under the handling org's times."""
    times = await effective_sla(session, req.handling_org_path, req.kind, sla)
    hours = times.accept_hours if req.status == ServiceStatus.submitted else times.resolve_hours
    return now + timedelta(hours=hours)


def start_clock(req: ServiceRequest, due: datetime) -> None:
    req.due_at = req.escalate_at = due
    req.paused_seconds = None


def stop_clock(req: ServiceRequest) -> None:
    req.due_at = req.escalate_at = req.paused_seconds = None


# --- filing ----------------------------------------------------------------------------------


@dataclass(slots=True)
class RequestInput:
    kind: RequestKind
    title: str
    description: str
    contact_preference: ContactPreference = ContactPreference.in_app


async def file_request(
    session: AsyncSession,
    member: Member,
    data: RequestInput,
    *,
    now: datetime,
    sla: SlaDefaults,
    staff: Principal | None = None,
    channel: Channel = Channel.app,
) -> ServiceRequest:
    """A member's request, routed to their grassroots union. ``staff`` files a walk-in or
    hotline request on the member's behalf (needs ``service.handle`` on the member)."""
    if staff is not None and not staff.can(Perm.service_handle, member.org_path):
        raise NotFound("member_not_found", "未找到该会员", "Member not found")
    if member.status != MemberStatus.active:
        raise Conflict(
            "member_inactive",
            "会员状态不是有效，不能提交服务申请",
            "Only active members can file service requests",
        )
    title = checked_text(data.title, "title", 100)
    description = checked_text(data.description, "description", MAX_DESCRIPTION)
    org = await session.get(Org, member.org_id)
    assert org is not None
    (number,) = await allocate(session, "service_request")
    req = ServiceRequest(
        ref_no=f"SR{now.year:04d}{number:07d}",
        member_id=member.id,
        kind=data.kind,
        status=ServiceStatus.submitted,
        title=title,
        description=description,
        contact_preference=data.contact_preference,
        channel=channel if staff is not None else Channel.app,
        filed_by=staff.username if staff is not None else None,
        org_id=org.id,
        org_path=org.path,
        handling_org_id=org.id,
        handling_org_path=org.path,
        escalations=0,
        reopened=0,
        submitted_at=now,
    )
    session.add(req)
    start_clock(req, await stage_deadline(session, sla, req, now))
    await session.flush()
    actor_type, actor = ("staff", staff.username) if staff else ("member", member_actor(member))
    add_step(
        session,
        req,
        "submitted",
        now=now,
        actor_type=actor_type,
        actor=actor,
        org_id=org.id,
        detail={"channel": req.channel.value, "due_at": req.due_at.isoformat()},  # type: ignore[union-attr]
    )
    await tell_staff(session, req, org.id, "submitted", None)
    if staff is not None:
        tell_member(session, req, "submitted", f"由工作人员代为登记（{req.channel.value}）")
        audit_action(session, staff, "service.file", req, {"member_no": member.member_no})
    return req


# --- finding ---------------------------------------------------------------------------------


def _not_found() -> NotFound:
    return NotFound("request_not_found", "未找到该服务申请", "Service request not found")


async def member_request(
    session: AsyncSession, member: Member, request_id: uuid.UUID
) -> ServiceRequest:
    """The member's own request; anybody else's is 404."""
    req = await session.get(ServiceRequest, request_id)
    if req is None or req.member_id != member.id:
        raise _not_found()
    return req


async def staff_request(
    session: AsyncSession, staff: Principal, request_id: uuid.UUID
) -> ServiceRequest:
    """A request in the staff member's subtree (filed there); elsewhere 404."""
    req = await session.get(ServiceRequest, request_id)
    if req is None or not staff.can(Perm.service_handle, req.org_path):
        raise _not_found()
    return req


def audit_action(
    session: AsyncSession, staff: Principal, action: str, req: ServiceRequest, summary: dict
) -> None:
    record(
        session,
        staff,
        action,
        target_type="service_request",
        target_id=req.id,
        org_path=req.org_path,
        summary={"ref_no": req.ref_no, "status": req.status.value, **summary},
    )


# --- staff handling ---------------------------------------------------------------------------


async def accept(
    session: AsyncSession,
    staff: Principal,
    req: ServiceRequest,
    *,
    now: datetime,
    sla: SlaDefaults,
    note: str | None = None,
) -> ServiceRequest:
    if req.status != ServiceStatus.submitted:
        raise bad_status(req, "受理", "accept")
    note = checked_text(note, "note", MAX_NOTE, required=False)
    req.status, req.accepted_at, req.assignee = ServiceStatus.accepted, now, staff.username
    start_clock(req, await stage_deadline(session, sla, req, now))
    add_step(
        session,
        req,
        "accepted",
        now=now,
        actor_type="staff",
        actor=staff.username,
        note=note,
        org_id=req.handling_org_id,
    )
    tell_member(session, req, "accepted", note)
    audit_action(session, staff, "service.accept", req, {})
    return req


async def request_info(
    session: AsyncSession, staff: Principal, req: ServiceRequest, *, now: datetime, note: str
) -> ServiceRequest:
    """Ask the member for more; the resolve clock stops until they reply."""
    if req.status != ServiceStatus.accepted:
        raise bad_status(req, "要求补充材料", "ask for more information on")
    note = checked_text(note, "note", MAX_NOTE)
    assert req.due_at is not None
    req.paused_seconds = max(0, int((req.due_at - now).total_seconds()))
    req.due_at = req.escalate_at = None
    req.status = ServiceStatus.info_requested
    add_step(
        session,
        req,
        "info_requested",
        now=now,
        actor_type="staff",
        actor=staff.username,
        note=note,
        org_id=req.handling_org_id,
    )
    tell_member(session, req, "info_requested", note)
    audit_action(session, staff, "service.request_info", req, {"note": note})
    return req


async def record_handling(
    session: AsyncSession,
    staff: Principal,
    req: ServiceRequest,
    *,
    now: datetime,
    kind: str,
    note: str,
    amount_fen: int | None = None,
) -> ServiceRequest:
    """Offline work: a visit, a call, a payment (amount in fen), or a note."""
    if kind not in HANDLING_KINDS:
        raise ValidationError.field(
            "kind", "应为 visit、call、payment 或 note", "must be visit, call, payment or note"
        )
    if req.status not in (ServiceStatus.accepted, ServiceStatus.info_requested):
        raise bad_status(req, "登记办理记录", "record handling on")
    note = checked_text(note, "note", MAX_NOTE)
    if kind == "payment":
        if amount_fen is None or amount_fen <= 0:
            raise ValidationError.field(
                "amount_fen", "发放金额应为正整数（分）", "a payment needs a positive amount in fen"
            )
    elif amount_fen is not None:
        raise ValidationError.field(
            "amount_fen", "只有发放记录可以填写金额", "only a payment has an amount"
        )
    add_step(
        session,
        req,
        kind,
        now=now,
        actor_type="staff",
        actor=staff.username,
        note=note,
        amount_fen=amount_fen,
        org_id=req.handling_org_id,
    )
    tell_member(session, req, kind, note)
    audit_action(session, staff, f"service.{kind}", req, {"amount_fen": amount_fen})
    return req


async def resolve(
    session: AsyncSession, staff: Principal, req: ServiceRequest, *, now: datetime, outcome: str
) -> ServiceRequest:
    if req.status not in (ServiceStatus.accepted, ServiceStatus.info_requested):
        raise bad_status(req, "办结", "resolve")
    outcome = checked_text(outcome, "outcome", MAX_NOTE)
    req.status, req.closed_at, req.outcome = ServiceStatus.resolved, now, outcome
    stop_clock(req)
    add_step(
        session,
        req,
        "resolved",
        now=now,
        actor_type="staff",
        actor=staff.username,
        note=outcome,
        org_id=req.handling_org_id,
    )
    tell_member(session, req, "resolved", outcome)
    audit_action(session, staff, "service.resolve", req, {})
    return req


async def reject(
    session: AsyncSession, staff: Principal, req: ServiceRequest, *, now: datetime, reason: str
) -> ServiceRequest:
    if req.status not in OPEN_STATUSES:
        raise bad_status(req, "驳回", "reject")
    reason = checked_text(reason, "reason", MAX_NOTE)
    req.status, req.closed_at, req.outcome = ServiceStatus.rejected, now, reason
    stop_clock(req)
    add_step(
        session,
        req,
        "rejected",
        now=now,
        actor_type="staff",
        actor=staff.username,
        note=reason,
        org_id=req.handling_org_id,
    )
    tell_member(session, req, "rejected", reason)
    audit_action(session, staff, "service.reject", req, {"reason": reason})
    return req


async def org_of(session: AsyncSession, org_id: uuid.UUID) -> Org:
    org = await session.get(Org, org_id)
    assert org is not None
    return org


async def orgs_by_id(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, Org]:
    if not ids:
        return {}
    return {o.id: o for o in await session.scalars(select(Org).where(Org.id.in_(ids)))}
