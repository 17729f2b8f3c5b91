"""Activities and training courses in the console: publish, follow the sign-ups (export,
no-shows), record completion, and the venue's check-in page (camera or wedge scanner, like the
till's). The same functions as ``/api/v1/activities`` (cardsvc.activities)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import ResponseHeader, State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.public import BenefitsError
from cardsvc.activities import attendance, roster, service
from cardsvc.activities.reports import activities_report, chart_series
from cardsvc.activities.schemas import activity_out, checkin_out
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import AppError, ValidationError
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.web import CONTENT_SECURITY_POLICY
from cardsvc.orgs.service import orgs_in_scope
from cardsvc.pages.console.activity_form import (
    CATEGORIES,
    KINDS,
    form_errors,
    form_values,
    parse_form,
)
from cardsvc.pages.console.common import ConsoleController, page, require
from cardsvc.pages.console.reports import day_param
from cardsvc.pages.i18n import lang_of
from cardsvc.reports.period import report_range
from cardsvc.reports.scope import report_org

WASM_CSP = ResponseHeader(
    name="content-security-policy",
    value=CONTENT_SECURITY_POLICY.replace(
        "script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'"
    ),
)
STATUS_LABELS = {
    "signed": ("已报名", "Signed up", "ok"),
    "waitlisted": ("候补", "Waiting list", "warn"),
    "cancelled": ("已取消", "Cancelled", ""),
}


def _require(staff: Principal) -> None:
    require(staff, service.PERM, "您的角色无权管理活动", "Your role may not manage activities")


class ActivityPages(ConsoleController):
    path = "/console/activities"

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
    ) -> Template:
        _require(staff)
        rows = await service.staff_activities(db_session, staff, limit=100)
        return await page(
            request,
            state,
            staff,
            "console/activities.html",
            "activities",
            activities=[activity_out(a) for a in rows],
            kinds=KINDS,
        )

    @get("/new")
    async def new(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
    ) -> Template:
        return await self._form(request, state, staff, db_session, {"kind": "activity"}, {})

    async def _form(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        values: dict[str, Any],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Template:
        _require(staff)
        unions = await orgs_in_scope(db_session, staff, service.PERM)
        resp = await page(
            request,
            state,
            staff,
            "console/activity_new.html",
            "activities",
            unions={str(o.id): (o.name, o.name) for o in unions},
            kinds=KINDS,
            categories=CATEGORIES,
            values=values,
            errors=errors,
        )
        resp.status_code = status_code
        return resp

    @post("/", status_code=200)
    async def publish(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
    ) -> Response[Any]:
        values = form_values(await request.form())
        try:
            data = parse_form(values, state.settings.time_zone)
            a = await service.publish(db_session, staff, data, now=utc_now())
        except (ValidationError, BenefitsError) as exc:
            if exc.status == 404:
                raise
            await db_session.rollback()
            errors = form_errors(exc, lang_of(request))
            return await self._form(request, state, staff, db_session, values, errors, 422)
        return Response("", headers={"HX-Redirect": f"/console/activities/{a.id}"})

    @get("/report.json")
    async def chart_data(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        org_id: uuid.UUID | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> Response[dict[str, Any]]:
        """The participation chart of the reports page: the same report as the table."""
        org = await report_org(db_session, staff, org_id)
        if org is None:
            return Response({}, headers={"Cache-Control": "no-store"})
        rng = report_range(
            day_param(date_from, "from"), day_param(date_to, "to"), state.settings.time_zone
        )
        doc = await activities_report(db_session, org, rng, utc_now())
        return Response(chart_series(doc, lang_of(request)), headers={"Cache-Control": "no-store"})

    @get("/{activity_id:uuid}")
    async def detail(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        activity_id: uuid.UUID,
    ) -> Template:
        a = await service.staff_activity(db_session, staff, activity_id)
        lines = await roster.roster(db_session, a, now=utc_now())
        return await page(
            request,
            state,
            staff,
            "console/activity.html",
            "activities",
            a=activity_out(a),
            lines=lines,
            counts=roster.counts(lines),
            kinds=KINDS,
            status_labels=STATUS_LABELS,
        )

    @post("/{activity_id:uuid}/signups/{signup_id:uuid}/completion", status_code=200)
    async def complete(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        db_session: AsyncSession,
        activity_id: uuid.UUID,
        signup_id: uuid.UUID,
    ) -> Response[Any]:
        a = await service.staff_activity(db_session, staff, activity_id)
        s = await attendance.staff_signup(db_session, a, signup_id)
        form = await request.form()
        hours = str(form.get("hours", "")).strip()
        try:
            minutes = round(float(hours) * 60)
        except ValueError:
            raise ValidationError.field("hours", "请填写学时，例如 4", "hours, like 4") from None
        if not 0 <= minutes <= 100_000:
            raise ValidationError.field("hours", "学时超出范围", "hours out of range")
        passed = str(form.get("passed", "")) == "yes"
        await attendance.complete(
            db_session, staff, a, s, passed=passed, minutes=minutes, now=utc_now()
        )
        return Response("", headers={"HX-Redirect": f"/console/activities/{a.id}"})

    # The camera's QR reader is WebAssembly (zxing-wasm, served by the app), as on the till.
    @get("/{activity_id:uuid}/checkin", response_headers=[WASM_CSP])
    async def checkin_page(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        activity_id: uuid.UUID,
    ) -> Template:
        a = await service.staff_activity(db_session, staff, activity_id)
        lines = await roster.roster(db_session, a, now=utc_now())
        return await page(
            request,
            state,
            staff,
            "console/activity_checkin.html",
            "activities",
            a=activity_out(a),
            counts=roster.counts(lines),
        )

    @post("/{activity_id:uuid}/checkin", status_code=200)
    async def checkin(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        activity_id: uuid.UUID,
    ) -> Template:
        a = await service.staff_activity(db_session, staff, activity_id)
        code = str((await request.form()).get("code", "")).strip()
        if not code:
            raise ValidationError.field("code", "请扫描会员卡二维码", "scan the member's card")
        try:
            done = await attendance.check_in(
                db_session,
                staff,
                a,
                code,
                keyring=state.keyring,
                now=utc_now(),
                skew_seconds=state.settings.clock_skew_seconds,
            )
        except AppError as exc:
            await db_session.rollback()
            return Template(
                "console/_checkin_result.html",
                context={"problem": exc},
                status_code=200,
            )
        return Template("console/_checkin_result.html", context={"done": checkin_out(done)})
