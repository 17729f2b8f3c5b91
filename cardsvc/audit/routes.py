"""Staff API to read the audit log of their subtrees."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, get
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.audit.service import list_entries
from cardsvc.kernel.clock import query_instant
from cardsvc.kernel.errors import Forbidden
from cardsvc.kernel.pagination import Limit, Offset
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal


class AuditOut(msgspec.Struct):
    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID | None
    actor_name: str
    action: str
    target_type: str
    target_id: str | None
    source_ip: str | None
    request_id: str | None
    summary: dict[str, Any]


class AuditPage(msgspec.Struct):
    items: list[AuditOut]
    total: int
    limit: int
    offset: int


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["staff: audit"]

    @get("/", summary="Audit entries about my subtrees, newest first")
    async def index(
        self,
        staff: Principal,
        read_session: AsyncSession,
        action: str | None = None,
        actor: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> AuditPage:
        if not staff.can(Perm.audit_read):
            raise Forbidden(
                "forbidden", "您的角色无权查看审计日志", "your role may not read the audit log"
            )
        rows, total = await list_entries(
            read_session,
            staff,
            action=action,
            actor_name=actor,
            target_type=target_type,
            target_id=target_id,
            since=query_instant(since, "since"),
            until=query_instant(until, "until"),
            limit=limit,
            offset=offset,
        )
        items = [
            AuditOut(
                e.id,
                e.at,
                e.actor_id,
                e.actor_name,
                e.action,
                e.target_type,
                e.target_id,
                e.source_ip,
                e.request_id,
                e.summary,
            )
            for e in rows
        ]
        return AuditPage(items, total, limit, offset)
