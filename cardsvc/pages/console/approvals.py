"""The approval queue: join applications in my subtrees, approved or rejected one by one."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.membership.models import RequestStatus
from cardsvc.membership.schemas import applications_review_out
from cardsvc.membership.service import (
    approve_application,
    get_application,
    pending_applications,
    reject_application,
)
from cardsvc.pages.console.common import ConsoleController, field_errors, page, require

PAGE_SIZE = 50
STATUS_LABELS = {
    RequestStatus.pending: ("待审批", "Pending"),
    RequestStatus.approved: ("已批准", "Approved"),
    RequestStatus.rejected: ("未批准", "Rejected"),
    RequestStatus.withdrawn: ("已撤回", "Withdrawn"),
}


class ApprovalPages(ConsoleController):
    path = "/console/approvals"

    @get("/")
    async def queue(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        status: RequestStatus = RequestStatus.pending,
        offset: int = 0,
    ) -> Template:
        require(
            staff,
            Perm.member_write,
            "您的角色无权审批入会申请",
            "Your role may not decide applications",
        )
        offset = max(offset, 0)
        rows, total = await pending_applications(
            db_session, staff, status=status, org_id=None, limit=PAGE_SIZE, offset=offset
        )
        return await page(
            request,
            state,
            staff,
            "console/approvals.html",
            "approvals",
            items=await applications_review_out(db_session, state.cipher, rows),
            total=total,
            offset=offset,
            limit=PAGE_SIZE,
            status=status,
            statuses=STATUS_LABELS,
        )

    @post("/{app_id:uuid}/approve", status_code=200)
    async def approve(
        self, state: State, staff: Principal, db_session: AsyncSession, app_id: uuid.UUID
    ) -> Template:
        await approve_application(db_session, staff, state.cipher, app_id)
        app = await get_application(db_session, staff, app_id)
        (item,) = await applications_review_out(db_session, state.cipher, [app])
        return Template(
            "console/_application_row.html", context={"a": item, "statuses": STATUS_LABELS}
        )

    @post("/{app_id:uuid}/reject", status_code=200)
    async def reject(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        app_id: uuid.UUID,
    ) -> Template:
        form = await request.form()
        try:
            app = await reject_application(
                db_session, staff, app_id, reason=str(form.get("reason", ""))
            )
        except ValidationError as exc:
            app = await get_application(db_session, staff, app_id)
            (item,) = await applications_review_out(db_session, state.cipher, [app])
            return Template(
                "console/_application_row.html",
                context={
                    "a": item,
                    "statuses": STATUS_LABELS,
                    "errors": field_errors(exc, request),
                    "rejecting": True,
                },
                status_code=422,
            )
        (item,) = await applications_review_out(db_session, state.cipher, [app])
        return Template(
            "console/_application_row.html", context={"a": item, "statuses": STATUS_LABELS}
        )
