"""The audit log of the officer's subtrees, newest first, with filters."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.audit.service import list_entries
from cardsvc.kernel.errors import ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.pages.console.audit_labels import OBJECTS, describe
from cardsvc.pages.console.common import ConsoleController, page, require
from cardsvc.pages.i18n import lang_of

PAGE_SIZE = 50
TARGET_TYPES = (
    "member",
    "join_application",
    "transfer_request",
    "hardship_record",
    "service_request",
    "merchant",
    "store",
    "terminal",
    "program",
    "org",
    "staff",
    "job",
    "invite",
    "card",
)


def _local_day(value: str | None, field: str, zone: str, *, end: bool) -> datetime | None:
    """A local day as a UTC instant: its start, or the start of the next day for ``end``."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationError.field(field, "日期格式应为 YYYY-MM-DD", "use YYYY-MM-DD") from None
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(), ZoneInfo(zone))


class AuditPages(ConsoleController):
    path = "/console/audit"

    @get("/")
    async def log(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        read_session: AsyncSession,
        action: str | None = None,
        actor: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        offset: int = 0,
    ) -> Template:
        require(
            staff,
            Perm.audit_read,
            "您的角色无权查看审计日志",
            "Your role may not read the audit log",
        )
        zone = state.settings.time_zone
        rows, total = await list_entries(
            read_session,
            staff,
            action=(action or "").strip() or None,
            actor_name=(actor or "").strip() or None,
            target_type=(target_type or "").strip() or None,
            target_id=(target_id or "").strip() or None,
            since=_local_day(since, "since", zone, end=False),
            until=_local_day(until, "until", zone, end=True),
            limit=PAGE_SIZE,
            offset=max(offset, 0),
        )
        return await page(
            request,
            state,
            staff,
            "console/audit.html",
            "audit",
            items=[(e, describe(e, lang_of(request))) for e in rows],
            total=total,
            offset=max(offset, 0),
            limit=PAGE_SIZE,
            q=request.query_params,
            target_types={k: OBJECTS[k] for k in TARGET_TYPES},
        )
