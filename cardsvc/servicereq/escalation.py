"""Escalation: a request not accepted (or not resolved) by its deadline goes one level up.

Rule: when ``escalate_at`` (the running deadline) has passed, the request is escalated to the
parent of the highest union involved so far (the handling union or the last escalation), the
request's timeline and that union's staff inbox say so, and the new level gets a fresh
window of the same stage under its own service-level times. The handling union keeps working
on it unless the level above takes it over. At the root there is nobody left to escalate to:
the request stays overdue (``due_at`` passed) and ``escalate_at`` is cleared.

Safe with many workers: each escalation is a conditional update on the ``escalate_at`` value
that was read, so two sweeps never escalate one request twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.orgs.models import Org
from cardsvc.servicereq.models import ServiceRequest, ServiceStatus
from cardsvc.servicereq.service import SlaDefaults
from cardsvc.servicereq.sla import effective_sla
from cardsvc.servicereq.steps import add_step, tell_member, tell_staff

SR = ServiceRequest


def _parent(path: str) -> uuid.UUID | None:
    parts = [p for p in path.strip("/").split("/") if p]
    return uuid.UUID(hex=parts[-2]) if len(parts) >= 2 else None


def top_path(req: ServiceRequest) -> str:
    """The highest union involved: the shorter of the handling and escalated paths."""
    paths = [req.handling_org_path] + ([req.escalated_org_path] if req.escalated_org_path else [])
    return min(paths, key=len)


async def escalate_due(
    session: AsyncSession, now: datetime, sla: SlaDefaults, *, batch: int = 200
) -> int:
    """Escalate every request whose deadline has passed; returns how many moved up."""
    due = list(
        await session.scalars(
            select(SR)
            .where(
                SR.escalate_at.is_not(None),
                SR.escalate_at <= now,
                SR.status.in_([ServiceStatus.submitted, ServiceStatus.accepted]),
            )
            .order_by(SR.escalate_at)
            .limit(batch)
        )
    )
    moved = 0
    for req in due:
        seen = req.escalate_at
        parent_id = _parent(top_path(req))
        parent = await session.get(Org, parent_id) if parent_id else None
        if parent is None:
            claimed = await session.execute(
                update(SR)
                .where(SR.id == req.id, SR.escalate_at == seen)
                .values(escalate_at=None)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount:  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult
                add_step(session, req, "overdue", now=now, actor_type="system", actor="system")
            continue
        times = await effective_sla(session, parent.path, req.kind, sla)
        hours = times.accept_hours if req.status == ServiceStatus.submitted else times.resolve_hours
        new_due = now + timedelta(hours=hours)
        claimed = await session.execute(
            update(SR)
            .where(SR.id == req.id, SR.escalate_at == seen)
            .values(
                escalated_org_id=parent.id,
                escalated_org_path=parent.path,
                escalations=SR.escalations + 1,
                due_at=new_due,
                escalate_at=new_due,
            )
            .execution_options(synchronize_session=False)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult
            continue  # another worker got there first
        await session.refresh(req)
        stage = "accept" if req.status == ServiceStatus.submitted else "resolve"
        add_step(
            session,
            req,
            "escalated",
            now=now,
            actor_type="system",
            actor="system",
            org_id=parent.id,
            note=f"升级至{parent.name}",
            detail={
                "stage": stage,
                "missed": seen.isoformat() if seen else None,
                "org_name": parent.name,
                "due_at": new_due.isoformat(),
            },
        )
        await tell_staff(session, req, parent.id, "escalated", f"承办超时，已升级至{parent.name}")
        tell_member(session, req, "escalated", f"已升级至{parent.name}督办")
        moved += 1
    return moved
