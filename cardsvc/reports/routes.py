"""Staff reports (members, joins, coverage, hardship, service requests) and the member export.

Reports: ``GET /api/v1/reports/{members|joins|coverage|hardship|service-requests}?org_id=&from=&to=`` with
``format=json|csv|xlsx`` (or an Accept header). The viewer needs ``reports.read`` on the org;
otherwise 404. Dates are days in the federation's zone (``UNIONCARD_TIME_ZONE``). The
redemption and budget reports live in ``benefits.routes.reports`` under the same prefix.
"""

from __future__ import annotations

import os
import uuid
from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import State
from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import Parameter
from litestar.response import File, Response
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.openapi import ATTACHMENT, BINARY, XLSX_MEDIA, header, success_operation
from cardsvc.kernel.principal import Principal
from cardsvc.members.models import MemberStatus
from cardsvc.reports import files
from cardsvc.reports.coverage import coverage_report
from cardsvc.reports.export import export_members
from cardsvc.reports.joins import joins_report
from cardsvc.reports.members import members_report
from cardsvc.reports.scope import report_scope
from cardsvc.reports.service_requests import hardship_report, service_report

OrgId = Annotated[uuid.UUID, Parameter(description="root of the subtree reported on")]
From = Annotated[
    date | None,
    Parameter(query="from", description="first day (federation time zone); default 12 months"),
]
To = Annotated[date | None, Parameter(query="to", description="last day, inclusive; default today")]
Format = Annotated[
    str | None, Parameter(query="format", description="json (default), csv or xlsx; or use Accept")
]


def _respond(
    request: Request[Any, Any, Any], doc: dict[str, Any], fmt: str | None
) -> Response[Any]:
    return files.respond(
        doc,
        fmt=fmt,
        accept=request.headers.get("accept"),
        filename=f"{doc['report']}-{doc['from']}-{doc['to']}",
    )


# Every report is JSON, CSV or XLSX (``format=`` or Accept); the files come as attachments.
REPORT_OPERATION = success_operation(
    media={"text/csv": Schema(type=OpenAPIType.STRING), XLSX_MEDIA: BINARY},
    headers={
        "Content-Disposition": header("with CSV or XLSX: attachment; filename=…", required=False)
    },
)
EXPORT_OPERATION = success_operation(
    headers={
        "Content-Disposition": ATTACHMENT,
        "X-Export-Masked": header("true when ID and phone numbers are masked"),
        "X-Export-Count": header("how many members the file holds"),
        # An HTTP date, which Litestar's file response documents as an ISO date-time.
        "Last-Modified": header("when the file was written"),
    }
)


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["staff: reports"]
    security = [{"staffSession": []}]

    @get(
        "/members",
        operation_class=REPORT_OPERATION,
        summary="Members: active, new per month, by category, employment, union",
    )
    async def members(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        state: State,
        read_session: AsyncSession,
        org_id: OrgId,
        date_from: From = None,
        date_to: To = None,
        fmt: Format = None,
    ) -> Response[Any]:
        org, rng = await report_scope(
            read_session, staff, org_id, date_from, date_to, state.settings.time_zone
        )
        return _respond(request, await members_report(read_session, org, rng), fmt)

    @get(
        "/joins",
        operation_class=REPORT_OPERATION,
        summary="Join applications: pending, decided, approval lead time per month",
    )
    async def joins(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        state: State,
        read_session: AsyncSession,
        org_id: OrgId,
        date_from: From = None,
        date_to: To = None,
        fmt: Format = None,
    ) -> Response[Any]:
        org, rng = await report_scope(
            read_session, staff, org_id, date_from, date_to, state.settings.time_zone
        )
        return _respond(request, await joins_report(read_session, org, rng), fmt)

    @get(
        "/coverage",
        operation_class=REPORT_OPERATION,
        summary="Grassroots unions nobody has joined online yet",
    )
    async def coverage(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        state: State,
        read_session: AsyncSession,
        org_id: OrgId,
        date_from: From = None,
        date_to: To = None,
        fmt: Format = None,
    ) -> Response[Any]:
        org, rng = await report_scope(
            read_session, staff, org_id, date_from, date_to, state.settings.time_zone
        )
        return _respond(request, await coverage_report(read_session, org, rng), fmt)

    @get(
        "/hardship",
        operation_class=REPORT_OPERATION,
        summary="Hardship assistance delivered and hardship records",
    )
    async def hardship(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        state: State,
        read_session: AsyncSession,
        org_id: OrgId,
        date_from: From = None,
        date_to: To = None,
        fmt: Format = None,
    ) -> Response[Any]:
        org, rng = await report_scope(
            read_session, staff, org_id, date_from, date_to, state.settings.time_zone
        )
        return _respond(request, await hardship_report(read_session, org, rng), fmt)

    @get(
        "/service-requests",
        operation_class=REPORT_OPERATION,
        summary="Service requests: per kind and child org, time to accept/resolve, "
        "overdue, escalated, satisfaction",
    )
    async def service_requests(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        state: State,
        read_session: AsyncSession,
        org_id: OrgId,
        date_from: From = None,
        date_to: To = None,
        fmt: Format = None,
    ) -> Response[Any]:
        org, rng = await report_scope(
            read_session, staff, org_id, date_from, date_to, state.settings.time_zone
        )
        doc = await service_report(read_session, org, rng, utc_now())
        return _respond(request, doc, fmt)


class ExportController(Controller):
    path = "/api/v1/exports"
    tags = ["staff: reports"]
    security = [{"staffSession": []}]

    @get(
        "/members",
        summary="Members of a subtree as .xlsx (masked unless you may unmask and ask to; audited)",
        media_type=files.XLSX_MEDIA,
        operation_class=EXPORT_OPERATION,
        description=(
            "Needs `member.export` on the org (404 outside your subtrees, 403 without the role). "
            "ID and phone numbers are masked unless `unmask=true` and your role may unmask on "
            "the org; `X-Export-Masked` says which you got. Every export is audited."
        ),
    )
    async def members(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        read_session: AsyncSession,
        org_id: OrgId,
        unmask: bool = False,
        status: MemberStatus | None = None,
    ) -> File:
        out = await export_members(
            db_session, staff, state.cipher, org_id, unmask=unmask, status=status, read=read_session
        )
        return File(
            path=out.path,
            filename=f"members-{out.org.code}.xlsx",
            media_type=files.XLSX_MEDIA,
            headers={"X-Export-Masked": str(out.masked).lower(), "X-Export-Count": str(out.count)},
            background=BackgroundTask(os.unlink, out.path),
        )
