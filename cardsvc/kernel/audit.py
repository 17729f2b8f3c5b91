"""The append-only audit log: its table and :func:`record`, which every staff action calls."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from advanced_alchemy.base import UUIDv7Base
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Index, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.principal import Principal


class AuditEntry(UUIDv7Base):
    """Append-only: the application only ever inserts; PostgreSQL also refuses UPDATE/DELETE."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_at", "at"),
        Index("ix_audit_entry_org_path", "org_path"),
    )

    at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    actor_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # Path of the org the target belongs to: staff see the audit of their own subtree.
    org_path: Mapped[str | None] = mapped_column(String(400))
    source_ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)


def record(
    session: AsyncSession,
    actor: Principal,
    action: str,
    *,
    target_type: str,
    target_id: uuid.UUID | str | None,
    org_path: str | None,
    summary: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit row to the caller's transaction: it commits or rolls back with the change."""
    entry = AuditEntry(
        at=utc_now(),
        actor_id=actor.id,
        actor_name=actor.username,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        org_path=org_path,
        source_ip=actor.ip,
        request_id=actor.request_id,
        summary=summary or {},
    )
    session.add(entry)
    return entry
