"""Hardship records (困难职工档案): sensitive, so only for the roles that may see them; every
read is audited by the domain functions (``list_records``, ``get_record``)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.pages.console.common import ConsoleController, page, require
from cardsvc.servicereq.hardship import service as hs
from cardsvc.servicereq.hardship.models import HardshipStatus
from cardsvc.servicereq.hardship.routes import records_out

PAGE_SIZE = 50
STATUS_LABELS = {
    "pending": ("待审批", "Pending"),
    "approved": ("有效", "In force"),
    "rejected": ("未批准", "Rejected"),
    "expired": ("逾期未复核", "Expired"),
    "revoked": ("已终止", "Ended"),
}
CATEGORIES = {
    "deep": ("深度困难", "Deep hardship"),
    "relative": ("相对困难", "Relative hardship"),
    "accident": ("意外致困", "Hardship by accident"),
}
NO_READ = ("您的角色无权查看困难职工档案", "Your role may not see hardship records")


def _day(text: str | None, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError.field(field, "日期格式应为 YYYY-MM-DD", "use YYYY-MM-DD") from None


def _level(text: str | None) -> int | None:
    if not text:
        return None
    if text not in ("1", "2", "3"):
        raise ValidationError.field("level", "等级为 1–3", "level is 1–3")
    return int(text)


class HardshipPages(ConsoleController):
    path = "/console/hardship"

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        status: str | None = None,
        awaiting_me: bool = False,
        offset: int = 0,
    ) -> Template:
        require(staff, Perm.hardship_read, *NO_READ)
        rows, total = await hs.list_records(
            db_session,
            staff,
            status=HardshipStatus(status) if status in STATUS_LABELS else None,
            org_id=None,
            member_id=None,
            awaiting_me=awaiting_me,
            limit=PAGE_SIZE,
            offset=max(offset, 0),
        )
        return await page(
            request,
            state,
            staff,
            "console/hardship.html",
            "hardship",
            items=await records_out(db_session, rows),
            total=total,
            status=status,
            awaiting_me=awaiting_me,
            statuses=STATUS_LABELS,
            categories=CATEGORIES,
            offset=max(offset, 0),
            limit=PAGE_SIZE,
        )

    @get("/{record_id:uuid}")
    async def detail(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        record_id: uuid.UUID,
    ) -> Template:
        rec = await hs.get_record(db_session, staff, record_id)
        (r,) = await records_out(db_session, [rec])
        return await page(
            request,
            state,
            staff,
            "console/hardship_record.html",
            "hardship",
            r=r,
            statuses=STATUS_LABELS,
            categories=CATEGORIES,
            can_decide=staff.can(Perm.hardship_write),
        )

    @post("/{record_id:uuid}/{action:str}", status_code=200)
    async def act(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        record_id: uuid.UUID,
        action: str,
    ) -> Response[Any]:
        form = await request.form()
        text = {k: str(form.get(k, "")).strip() for k in form}
        rec = await hs.get_record(db_session, staff, record_id, audit_read=False)
        now = utc_now()
        today = now.astimezone(ZoneInfo(state.settings.time_zone)).date()
        days = state.settings.hardship_review_days
        if action == "approve":
            await hs.approve(
                db_session,
                staff,
                rec,
                now=now,
                today=today,
                review_days=days,
                review_on=_day(text.get("review_on"), "review_on"),
                level=_level(text.get("level")),
            )
        elif action == "review":
            await hs.review(
                db_session,
                staff,
                rec,
                now=now,
                today=today,
                review_days=days,
                review_on=_day(text.get("review_on"), "review_on"),
                level=_level(text.get("level")),
            )
        elif action == "reject":
            await hs.reject(db_session, staff, rec, now=now, reason=text.get("reason", ""))
        elif action == "revoke":
            await hs.revoke(db_session, staff, rec, now=now, reason=text.get("reason", ""))
        else:
            raise ValidationError.field("action", "未知操作", "unknown action")
        return Response("", headers={"HX-Redirect": f"/console/hardship/{record_id}"})
