"""Founding applications (网上建会) in the console: the review queue, one application with its
documents and timeline, the three decisions, and the founding rate with the enterprise
register's import. The same domain functions as ``/api/v1/founding…`` (cardsvc.founding)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import State, UploadFile
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.founding import service as svc
from cardsvc.founding.approve import approve
from cardsvc.founding.coverage import coverage_report
from cardsvc.founding.labels import APPLICANT_LABELS, KIND_LABELS, STATUS_LABELS, STEP_LABELS
from cardsvc.founding.models import FoundingStatus
from cardsvc.founding.register import district_for_register, import_register
from cardsvc.founding.schemas import founding_out, founding_rows
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import AppError, NotFound, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.membership.invites import resolve_invite
from cardsvc.orgs.models import OrgLevel
from cardsvc.orgs.service import orgs_in_scope
from cardsvc.pages.console.common import ConsoleController, as_uuid, message_of, page, require
from cardsvc.pages.i18n import lang_of, pick
from cardsvc.reports.scope import report_org

PAGE_SIZE = 50
MAX_FORM_BYTES = 11 * 1024 * 1024  # the register file and the district, in one form
TABS = {
    "submitted": ("待审核", "To review"),
    "info_requested": ("待补充", "Waiting for the applicant"),
    "approved": ("已批准", "Approved"),
    "refused": ("未通过", "Refused"),
    "all": ("全部", "All"),
}
ACTIONS = {
    "approve": ("批准建会", "Approve"),
    "request-info": ("要求补充材料", "Ask for more"),
    "refuse": ("不予批准", "Refuse"),
}
NO_REVIEW = ("您的角色无权审核建会申请", "Your role may not review founding applications")


def _labels() -> dict[str, Any]:
    return {
        "statuses": STATUS_LABELS,
        "kinds": KIND_LABELS,
        "applicants": APPLICANT_LABELS,
        "step_labels": STEP_LABELS,
    }


class FoundingPages(ConsoleController):
    path = "/console/founding"

    @get("/")
    async def queue(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        tab: str = "submitted",
        q: str | None = None,
        offset: int = 0,
    ) -> Template:
        require(staff, Perm.org_write, *NO_REVIEW)
        tab = tab if tab in TABS else "submitted"
        status = None if tab == "all" else FoundingStatus(tab)
        rows, total = await svc.review_queue(
            db_session, staff, status=status, q=q, limit=PAGE_SIZE, offset=max(offset, 0)
        )
        return await page(
            request,
            state,
            staff,
            "console/founding.html",
            "founding",
            items=await founding_rows(db_session, rows),
            total=total,
            limit=PAGE_SIZE,
            offset=max(offset, 0),
            tab=tab,
            tabs=TABS,
            q=q or "",
            **_labels(),
        )

    @get("/{founding_id:uuid}")
    async def detail(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        founding_id: uuid.UUID,
        action: str | None = None,
    ) -> Template:
        require(staff, Perm.org_write, *NO_REVIEW)
        app = await svc.staff_application(db_session, staff, founding_id)
        out = await founding_out(
            db_session, state.cipher, app, base_url=state.settings.public_url, staff_view=True
        )
        invite_id = None
        if app.invite_token:
            try:
                invite_id = (await resolve_invite(db_session, app.invite_token))[0].id
            except AppError:  # revoked or expired since: no poster to print
                invite_id = None
        can_act = app.status == FoundingStatus.submitted
        return await page(
            request,
            state,
            staff,
            "console/founding_application.html",
            "founding",
            d=out,
            invite_id=invite_id,
            actions=ACTIONS if can_act else {},
            chosen=action if action in ACTIONS else "approve",
            **_labels(),
        )

    @post("/{founding_id:uuid}/{action:str}", status_code=200)
    async def act(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        founding_id: uuid.UUID,
        action: str,
    ) -> Response[Any]:
        """One decision; errors come back as the API's problem details in #flash."""
        app = await svc.staff_application(db_session, staff, founding_id)
        form = await request.form()
        text = {k: str(form.get(k, "")).strip() for k in form}
        now, background = utc_now(), None
        if action == "approve":
            app, message = await approve(
                db_session, staff, state.cipher, app, now=now, base_url=state.settings.public_url
            )
            background = BackgroundTask(state.sender.send, message.phone, message.text)
        elif action == "request-info":
            await svc.request_info(db_session, staff, app, note=text.get("note", ""), now=now)
        elif action == "refuse":
            await svc.refuse(db_session, staff, app, reason=text.get("reason", ""), now=now)
        else:
            raise ValidationError.field("action", "未知操作", "unknown action")
        return Response(
            "", headers={"HX-Redirect": f"/console/founding/{founding_id}"}, background=background
        )

    @get("/coverage")
    async def coverage(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        org_id: str | None = None,
    ) -> Template:
        org = await report_org(db_session, staff, as_uuid(org_id, "org_id"))
        if org is None:
            raise NotFound("org_not_found", "未找到该组织", "Org not found")
        total, rows = await coverage_report(db_session, org)
        federations = [
            o
            for o in await orgs_in_scope(db_session, staff, Perm.org_write)
            if o.level != OrgLevel.grassroots
        ]
        return await page(
            request,
            state,
            staff,
            "console/founding_coverage.html",
            "founding",
            org=org,
            total=total,
            rows=rows,
            roots=await orgs_in_scope(db_session, staff, Perm.reports_read, limit=200),
            federations=[o for o in federations if o.level != OrgLevel.grassroots],
        )

    @get("/coverage.json")
    async def coverage_chart(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        db_session: AsyncSession,
        org_id: uuid.UUID | None = None,
    ) -> Response[dict[str, Any]]:
        """The chart's series: organised and registered enterprises per district."""
        org = await report_org(db_session, staff, org_id)
        if org is None:
            return Response({}, headers={"Cache-Control": "no-store"})
        total, rows = await coverage_report(db_session, org)
        rows = rows or [total]
        lang = lang_of(request)
        body = {
            "coverage": {
                "labels": [r.org.name for r in rows],
                "datasets": [
                    {
                        "label": pick(lang, "已建会企业", "Organised"),
                        "data": [r.organised for r in rows],
                        "tone": "good",
                    },
                    {
                        "label": pick(lang, "名录企业", "On the register"),
                        "data": [r.registered for r in rows],
                        "tone": "neutral",
                    },
                ],
            }
        }
        return Response(body, headers={"Cache-Control": "no-store"})

    @post("/register", status_code=200, request_max_body_size=MAX_FORM_BYTES)
    async def register(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
    ) -> Template:
        """The register's import: the counts and each refused row, shown under the form."""
        form = await request.form()
        oid = as_uuid(str(form.get("org_id") or ""), "org_id")
        if oid is None:
            raise ValidationError.field("org_id", "请选择区县总工会", "choose a district")
        org = await district_for_register(db_session, staff, oid)
        upload = form.get("file")
        context: dict[str, Any] = {"error": None, "result": None, "org": org}
        status = 200
        if not isinstance(upload, UploadFile):
            context["error"], status = pick(lang_of(request), "请选择文件", "Choose a file"), 422
        else:
            data = await upload.read()
            try:
                context["result"] = await import_register(
                    db_session, staff, org, data, upload.filename
                )
            except AppError as exc:
                context["error"], status = message_of(exc, request), exc.status
        return Template("console/_founding_import.html", context=context, status_code=status)
