"""Requests members file on their phones: transfers to another union (the receiving union
approves or refuses with a reason; the union the member leaves sees the same row and its
status) and the memberships members ended themselves (effective at once, listed to follow up)."""

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
from cardsvc.membership.history import member_leaves
from cardsvc.membership.models import RequestStatus
from cardsvc.membership.schemas import TransferOut, leaves_out, transfers_out
from cardsvc.membership.transfers import (
    approve_transfer,
    get_transfer,
    pending_transfers,
    reject_transfer,
)
from cardsvc.pages.console.approvals import STATUS_LABELS
from cardsvc.pages.console.common import ConsoleController, field_errors, page, require

PAGE_SIZE = 50
# A transfer is approved or refused; members cannot withdraw one.
TRANSFER_STATUSES = {s: v for s, v in STATUS_LABELS.items() if s != RequestStatus.withdrawn}


def _row(staff: Principal, t: TransferOut, to_path: str, **extra: Any) -> dict[str, Any]:
    """One transfer with whether this officer decides it (the receiving union) or only sees it."""
    return {
        "x": t,
        "decides": staff.can(Perm.member_write, to_path),
        "statuses": STATUS_LABELS,
        **extra,
    }


class MembershipRequestPages(ConsoleController):
    path = "/console/requests"

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
            Perm.member_read,
            "您的角色无权查看会员申请",
            "Your role may not view members' requests",
        )
        offset = max(offset, 0)
        rows, total = await pending_transfers(
            db_session, staff, status=status, limit=PAGE_SIZE, offset=offset
        )
        items = await transfers_out(db_session, rows)
        leaves, leaves_total = await member_leaves(db_session, staff, limit=20, offset=0)
        return await page(
            request,
            state,
            staff,
            "console/requests.html",
            "requests",
            rows=[_row(staff, out, t.to_org_path) for out, t in zip(items, rows, strict=True)],
            total=total,
            offset=offset,
            limit=PAGE_SIZE,
            status=status,
            statuses=TRANSFER_STATUSES,
            leaves=await leaves_out(db_session, leaves),
            leaves_total=leaves_total,
        )

    @post("/transfers/{transfer_id:uuid}/approve", status_code=200)
    async def approve(
        self, staff: Principal, db_session: AsyncSession, transfer_id: uuid.UUID
    ) -> Template:
        await approve_transfer(db_session, staff, transfer_id)
        return await self._row(db_session, staff, transfer_id)

    @post("/transfers/{transfer_id:uuid}/reject", status_code=200)
    async def reject(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        db_session: AsyncSession,
        transfer_id: uuid.UUID,
    ) -> Template:
        form = await request.form()
        try:
            await reject_transfer(
                db_session, staff, transfer_id, reason=str(form.get("reason", ""))
            )
        except ValidationError as exc:
            return await self._row(
                db_session,
                staff,
                transfer_id,
                status_code=422,
                errors=field_errors(exc, request),
                rejecting=True,
            )
        return await self._row(db_session, staff, transfer_id)

    async def _row(
        self,
        db_session: AsyncSession,
        staff: Principal,
        transfer_id: uuid.UUID,
        status_code: int = 200,
        **extra: Any,
    ) -> Template:
        t = await get_transfer(db_session, staff, transfer_id)
        (out,) = await transfers_out(db_session, [t])
        return Template(
            "console/_transfer_row.html",
            context=_row(staff, out, t.to_org_path, **extra),
            status_code=status_code,
        )
