"""The timeline of a request and the notifications each step sends."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.inbox.service import notify_member, notify_org_staff
from cardsvc.kernel.permissions import Perm
from cardsvc.servicereq.models import KIND_LABELS_ZH, ServiceRequest, ServiceStep

# Step kinds → (zh, en): what the member and staff see in the timeline.
STEP_LABELS: dict[str, tuple[str, str]] = {
    "submitted": ("已提交", "Submitted"),
    "accepted": ("已受理", "Accepted"),
    "info_requested": ("请补充材料", "More information requested"),
    "member_reply": ("会员已补充", "Member replied"),
    "visit": ("上门走访", "Visit"),
    "call": ("电话沟通", "Phone call"),
    "payment": ("发放帮扶款物", "Payment made"),
    "note": ("办理记录", "Handling note"),
    "attachment": ("上传附件", "Attachment added"),
    "escalated": ("已超时，升级至上级工会", "Overdue: escalated to the level above"),
    "overdue": ("已超时（已是最高层级）", "Overdue at the top level"),
    "taken_over": ("上级工会接办", "Taken over by the level above"),
    "resolved": ("已办结", "Resolved"),
    "rejected": ("不予办理", "Rejected"),
    "withdrawn": ("会员已撤回", "Withdrawn by the member"),
    "reopened": ("重新办理", "Reopened"),
    "rated": ("会员已评价", "Rated by the member"),
}
HANDLING_KINDS = frozenset({"visit", "call", "payment", "note"})


def add_step(
    session: AsyncSession,
    req: ServiceRequest,
    kind: str,
    *,
    now: datetime,
    actor_type: str,
    actor: str,
    note: str | None = None,
    amount_fen: int | None = None,
    org_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> ServiceStep:
    step = ServiceStep(
        request_id=req.id,
        at=now,
        kind=kind,
        actor_type=actor_type,
        actor=actor,
        note=note,
        amount_fen=amount_fen,
        org_id=org_id,
        detail=detail or {},
    )
    session.add(step)
    return step


def tell_member(session: AsyncSession, req: ServiceRequest, kind: str, note: str | None) -> None:
    """The member's inbox (and SMS/WeChat when that is how they asked to be contacted)."""
    zh, en = STEP_LABELS[kind]
    title = f"{KIND_LABELS_ZH[req.kind]}申请{zh}"
    body = f"您的申请 {req.ref_no}「{req.title}」{zh}" + (f":{note}" if note else "")
    notify_member(
        session,
        req.member_id,
        topic=f"service.{kind}",
        title=title[:100],
        title_en=f"Request {req.ref_no}: {en}"[:100],
        body=body,
        subject=("service_request", req.id),
        outbound=req.contact_preference.value,
    )


async def tell_staff(
    session: AsyncSession, req: ServiceRequest, org_id: uuid.UUID, kind: str, note: str | None
) -> None:
    zh, en = STEP_LABELS[kind]
    await notify_org_staff(
        session,
        org_id,
        Perm.service_handle,
        topic=f"service.{kind}",
        title=f"{req.ref_no} {KIND_LABELS_ZH[req.kind]}:{zh}"[:100],
        title_en=f"{req.ref_no} {req.kind.value}: {en}"[:100],
        body=f"「{req.title}」{zh}" + (f":{note}" if note else ""),
        subject=("service_request", req.id),
    )
