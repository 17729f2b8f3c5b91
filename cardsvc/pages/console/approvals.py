"""The approval queue: join applications in my subtrees, approved or rejected one by one or
several at once (each succeeds or fails alone; the page says which and why)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import AppError, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.membership.bulk import MAX_BULK, BulkResult, bulk_approve, bulk_reject
from cardsvc.membership.models import RequestStatus
from cardsvc.membership.schemas import applications_review_out
from cardsvc.membership.service import (
    approve_application,
    get_application,
    pending_applications,
    reject_application,
)
from cardsvc.pages.console.common import (
    ConsoleController,
    field_errors,
    message_of,
    page,
    require,
)

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
        return await self._queue(request, state, staff, db_session, status, max(offset, 0))

    async def _queue(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        status: RequestStatus,
        offset: int,
        **extra: Any,
    ) -> Template:
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
            **extra,
        )

    @post("/bulk", status_code=200)
    async def bulk(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
    ) -> Template:
        """The ticked applications approved, or refused with one reason; the queue again with
        a line per application saying whether it worked and, if not, why."""
        require(
            staff,
            Perm.member_write,
            "您的角色无权审批入会申请",
            "Your role may not decide applications",
        )
        form = await request.form()
        ids = [uuid.UUID(v) for v in form.getall("ids", []) if _is_uuid(str(v))][:MAX_BULK]
        action = str(form.get("action", ""))
        reason = str(form.get("reason", ""))
        # Names first: a decided application leaves the pending list shown afterwards.
        names = {a.id: a.name for a in await _applications(db_session, staff, ids)}
        try:
            if not ids:
                raise ValidationError.field("ids", "请先勾选申请", "tick at least one application")
            if action == "approve":
                results = await bulk_approve(db_session, staff, state.cipher, ids)
            elif action == "reject":
                results = await bulk_reject(db_session, staff, ids, reason=reason)
            else:
                raise ValidationError.field("action", "未知操作", "unknown action")
        except ValidationError as exc:
            return await self._queue(
                request,
                state,
                staff,
                db_session,
                RequestStatus.pending,
                0,
                bulk_errors=field_errors(exc, request),
                bulk_message=message_of(exc, request),
                ticked={str(i) for i in ids},
            )
        return await self._queue(
            request,
            state,
            staff,
            db_session,
            RequestStatus.pending,
            0,
            results=[_result_row(r, names) for r in results],
            bulk_action=action,
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


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


async def _applications(
    db_session: AsyncSession, staff: Principal, ids: list[uuid.UUID]
) -> list[Any]:
    """The applications this officer may decide among ``ids`` (others are left out)."""
    out = []
    for app_id in dict.fromkeys(ids):
        try:
            out.append(await get_application(db_session, staff, app_id))
        except AppError:
            continue
    return out


def _result_row(r: BulkResult, names: dict[uuid.UUID, str]) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": names.get(r.id),
        "ok": r.ok,
        "member_no": r.member_no,
        "message": (r.message_zh, r.message_en) if not r.ok else None,
    }
