"""Reopening a closed request, and the level above taking an open request over."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import Conflict, NotFound, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.orgs.models import Org
from cardsvc.servicereq.models import (
    OPEN_STATUSES,
    ServiceRequest,
    ServiceStatus,
)
from cardsvc.servicereq.service import (
    MAX_NOTE,
    SlaDefaults,
    audit_action,
    bad_status,
    checked_text,
    stage_deadline,
    start_clock,
)
from cardsvc.servicereq.steps import add_step, tell_member


async def reopen(
    session: AsyncSession,
    staff: Principal,
    req: ServiceRequest,
    *,
    now: datetime,
    sla: SlaDefaults,
    reason: str,
) -> ServiceRequest:
    """The only way to change a resolved or rejected request: back to ``accepted`` with a
    fresh resolve deadline; the old outcome and rating stay in the timeline (audited)."""
    if req.status not in (ServiceStatus.resolved, ServiceStatus.rejected):
        raise Conflict(
            "not_closed", "只有已办结或已驳回的申请可以重新办理", "only closed requests reopen"
        )
    reason = checked_text(reason, "reason", MAX_NOTE)
    before = {"status": req.status.value, "outcome": req.outcome, "rating": req.rating}
    req.status, req.closed_at, req.outcome = ServiceStatus.accepted, None, None
    req.rating = req.rating_comment = req.rated_at = None
    req.accepted_at = req.accepted_at or now
    req.reopened += 1
    start_clock(req, await stage_deadline(session, sla, req, now))
    add_step(
        session,
        req,
        "reopened",
        now=now,
        actor_type="staff",
        actor=staff.username,
        note=reason,
        org_id=req.handling_org_id,
        detail={"before": before},
    )
    tell_member(session, req, "reopened", reason)
    audit_action(session, staff, "service.reopen", req, {"reason": reason, "before": before})
    return req


async def take_over(
    session: AsyncSession,
    staff: Principal,
    req: ServiceRequest,
    *,
    now: datetime,
    sla: SlaDefaults,
    org_id: uuid.UUID | None = None,
    note: str | None = None,
) -> ServiceRequest:
    """The level above takes the request over: it becomes the handling union and gets a
    fresh deadline for the current stage. ``org_id`` defaults to the org it was escalated to,
    else the handling union's parent; it must be strictly above the handling union and the
    staff member must handle requests there."""
    if req.status not in OPEN_STATUSES:
        raise bad_status(req, "接办", "take over")
    if org_id is None:
        org_id = req.escalated_org_id or _parent_id(req.handling_org_path)
    target = await session.get(Org, org_id) if org_id else None
    if target is None or not staff.can(Perm.service_handle, target.path):
        raise NotFound("org_not_found", "未找到该组织", "Org not found")
    if not (req.handling_org_path.startswith(target.path) and target.path != req.handling_org_path):
        raise ValidationError.field(
            "org_id",
            "只能由当前承办工会的上级工会接办",
            "only a union above the handling union can take the request over",
        )
    note = checked_text(note, "note", MAX_NOTE, required=False)
    before = req.handling_org_id
    req.handling_org_id, req.handling_org_path = target.id, target.path
    req.assignee = staff.username
    if req.status != ServiceStatus.info_requested:
        start_clock(req, await stage_deadline(session, sla, req, now))
    add_step(
        session,
        req,
        "taken_over",
        now=now,
        actor_type="staff",
        actor=staff.username,
        note=note,
        org_id=target.id,
        detail={"from_org_id": str(before), "org_name": target.name},
    )
    tell_member(session, req, "taken_over", f"由{target.name}接办")
    audit_action(
        session,
        staff,
        "service.take_over",
        req,
        {"from_org_id": str(before), "to_org_id": str(target.id)},
    )
    return req


def _parent_id(path: str) -> uuid.UUID | None:
    parts = [p for p in path.strip("/").split("/") if p]
    return uuid.UUID(hex=parts[-2]) if len(parts) >= 2 else None
