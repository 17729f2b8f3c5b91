"""Write and read the append-only audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal


async def list_entries(
    session: AsyncSession,
    viewer: Principal,
    *,
    action: str | None = None,
    actor_name: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """Entries about the viewer's subtrees (and, for top-level auditors, system-wide ones)."""
    scope = viewer.scope_filter(AuditEntry.org_path, Perm.audit_read)
    conds = [scope]
    if action:
        conds.append(AuditEntry.action.startswith(action, autoescape=True))
    if actor_name:
        conds.append(AuditEntry.actor_name == actor_name)
    if target_type:
        conds.append(AuditEntry.target_type == target_type)
    if target_id:
        conds.append(AuditEntry.target_id == target_id)
    if since:
        conds.append(AuditEntry.at >= since)
    if until:
        conds.append(AuditEntry.at < until)
    total = (
        await session.execute(select(func.count()).select_from(AuditEntry).where(*conds))
    ).scalar_one()
    rows = await session.scalars(
        select(AuditEntry)
        .where(*conds)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total
