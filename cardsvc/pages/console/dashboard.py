"""The console's start page: key figures and charts of the officer's widest subtree."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.membership.models import RequestStatus
from cardsvc.membership.service import pending_applications
from cardsvc.pages.console.common import ConsoleController, page
from cardsvc.staff.permissions import Perm
from cardsvc.staff.principal import Principal


class DashboardPages(ConsoleController):
    path = "/console"

    @get("/")
    async def dashboard(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
    ) -> Template:
        pending = None
        if staff.can(Perm.member_write):
            _, pending = await pending_applications(
                db_session, staff, status=RequestStatus.pending, org_id=None, limit=1, offset=0
            )
        return await page(
            request, state, staff, "console/dashboard.html", "dashboard", pending=pending
        )
