"""Activities API: staff publish and run activities, members sign up, anyone checks a
certificate.

Staff: ``/api/v1/activities…`` (scoped to the subtrees where they hold ``service.handle``;
anything else is 404). Members: ``/api/v1/me/activities…``. Public:
``/api/v1/certificates/{cert_no}``. See docs/activities.md.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import Parameter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.activities import attendance, certificates, roster, service, signups
from cardsvc.activities.errors import certificate_not_found
from cardsvc.activities.models import ActivityKind, ActivitySignup, SignupStatus
from cardsvc.activities.reports import activities_report
from cardsvc.activities.schemas import (
    ActivityIn,
    ActivityOut,
    ActivityPage,
    CertificateOut,
    CheckInIn,
    CheckInOut,
    CompletionIn,
    MyActivityOut,
    MyActivityPage,
    RosterOut,
    SignupOut,
    activity_out,
    certificate_out,
    checkin_out,
    roster_out,
    signup_out,
)
from cardsvc.activities.views import may_join_or_joined, my_activity
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.openapi import ATTACHMENT, XLSX_MEDIA, success_operation
from cardsvc.kernel.pagination import Limit, Offset
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.settings import Settings
from cardsvc.members.models import Member
from cardsvc.reports import files
from cardsvc.reports.routes import REPORT_OPERATION, Format, From, OrgId, To
from cardsvc.reports.scope import report_scope

PDF_MEDIA = "application/pdf"
FILE_OPERATION = success_operation(headers={"Content-Disposition": ATTACHMENT})
CertNo = Annotated[str, Parameter(pattern=r"^[A-Z0-9]{6,32}$", description="certificate number")]


class ActivityController(Controller):
    path = "/api/v1/activities"
    tags = ["staff: activities"]

    @post("/", summary="Publish an activity or a training course (audited)")
    async def publish(
        self, staff: Principal, db_session: AsyncSession, data: ActivityIn
    ) -> ActivityOut:
        a = await service.publish(db_session, staff, data.as_input(), now=utc_now())
        return activity_out(a, waitlist=0)

    @get("/", summary="Activities of my subtrees, the latest first")
    async def list_activities(
        self,
        staff: Principal,
        db_session: AsyncSession,
        kind: ActivityKind | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> ActivityPage:
        rows = await service.staff_activities(
            db_session, staff, kind=kind, limit=limit, offset=offset
        )
        return ActivityPage([activity_out(a) for a in rows], limit, offset)

    @get("/{activity_id:uuid}", summary="One activity with its waiting list's length")
    async def detail(
        self, staff: Principal, db_session: AsyncSession, activity_id: uuid.UUID
    ) -> ActivityOut:
        a = await service.staff_activity(db_session, staff, activity_id)
        waiting = await db_session.scalar(
            select(func.count()).where(
                ActivitySignup.activity_id == a.id,
                ActivitySignup.status == SignupStatus.waitlisted,
            )
        )
        return activity_out(a, waitlist=waiting or 0)

    @get("/{activity_id:uuid}/signups", summary="Sign-ups: places, waiting list, attendance")
    async def signups(
        self, staff: Principal, db_session: AsyncSession, activity_id: uuid.UUID
    ) -> RosterOut:
        a = await service.staff_activity(db_session, staff, activity_id)
        lines = await roster.roster(db_session, a, now=utc_now())
        return roster_out(a, lines, roster.counts(lines))

    @get(
        "/{activity_id:uuid}/signups/export",
        summary="Sign-ups as .xlsx (audited)",
        media_type=XLSX_MEDIA,
        operation_class=FILE_OPERATION,
    )
    async def export(
        self, staff: Principal, state: State, db_session: AsyncSession, activity_id: uuid.UUID
    ) -> Response[bytes]:
        a = await service.staff_activity(db_session, staff, activity_id)
        book = await roster.export_roster(
            db_session, staff, a, now=utc_now(), time_zone=state.settings.time_zone
        )
        return Response(
            book,
            media_type=XLSX_MEDIA,
            headers={"Content-Disposition": f'attachment; filename="activity-{a.id}.xlsx"'},
        )

    @post(
        "/{activity_id:uuid}/check-ins",
        status_code=200,
        summary="Check a member in by the card's QR code (verified as at a till; once)",
    )
    async def check_in(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        activity_id: uuid.UUID,
        data: CheckInIn,
    ) -> CheckInOut:
        settings: Settings = state.settings
        a = await service.staff_activity(db_session, staff, activity_id)
        done = await attendance.check_in(
            db_session,
            staff,
            a,
            data.code.strip(),
            keyring=state.keyring,
            now=utc_now(),
            skew_seconds=settings.clock_skew_seconds,
        )
        return checkin_out(done)

    @post(
        "/{activity_id:uuid}/signups/{signup_id:uuid}/completion",
        status_code=200,
        summary="Record a training course's outcome (hours, pass or fail; audited)",
    )
    async def complete(
        self,
        staff: Principal,
        db_session: AsyncSession,
        activity_id: uuid.UUID,
        signup_id: uuid.UUID,
        data: CompletionIn,
    ) -> SignupOut:
        a = await service.staff_activity(db_session, staff, activity_id)
        s = await attendance.staff_signup(db_session, a, signup_id)
        done = await attendance.complete(
            db_session, staff, a, s, passed=data.passed, minutes=data.minutes, now=utc_now()
        )
        return signup_out(done)


class MyActivityController(Controller):
    path = "/api/v1/me/activities"
    tags = ["member: activities"]

    @get("/", summary="Activities I may join or have signed up for, soonest first")
    async def list_mine(self, state: State, db_session: AsyncSession, me: Member) -> MyActivityPage:
        now = utc_now()
        rows = await service.upcoming_for_member(db_session, me, now=now)
        mine = await signups.my_signups(db_session, me.id)
        items = [my_activity(a, me, mine.get(a.id), now, state.settings.time_zone) for a in rows]
        return MyActivityPage([i for i in items if may_join_or_joined(i, now)])

    @get("/{activity_id:uuid}", summary="One activity: may I join, and my sign-up")
    async def detail(
        self, state: State, db_session: AsyncSession, me: Member, activity_id: uuid.UUID
    ) -> MyActivityOut:
        a = await service.member_activity(db_session, me, activity_id)
        s = await signups.my_signup(db_session, me.id, a.id)
        return my_activity(a, me, s, utc_now(), state.settings.time_zone)

    @post("/{activity_id:uuid}/signup", summary="Sign up: a place, or the waiting list")
    async def sign_up(
        self, state: State, db_session: AsyncSession, me: Member, activity_id: uuid.UUID
    ) -> SignupOut:
        s = await signups.sign_up(
            db_session, me, activity_id, now=utc_now(), time_zone=state.settings.time_zone
        )
        return signup_out(s)

    @post(
        "/{activity_id:uuid}/cancel",
        status_code=200,
        summary="Cancel my sign-up; my place goes to the first on the waiting list",
    )
    async def cancel(
        self, db_session: AsyncSession, me: Member, activity_id: uuid.UUID
    ) -> SignupOut:
        return signup_out(await signups.cancel(db_session, me, activity_id, now=utc_now()))

    @get(
        "/{activity_id:uuid}/certificate",
        summary="My certificate of a passed training course (PDF with a verification QR)",
        media_type=PDF_MEDIA,
        operation_class=FILE_OPERATION,
    )
    async def certificate(
        self, state: State, db_session: AsyncSession, me: Member, activity_id: uuid.UUID
    ) -> Response[bytes]:
        a = await service.member_activity(db_session, me, activity_id)
        s = await signups.my_signup(db_session, me.id, a.id)
        if s is None or not s.cert_no:
            raise certificate_not_found()
        cert = await certificates.find_certificate(db_session, s.cert_no, masked=False)
        settings: Settings = state.settings
        pdf = certificates.certificate_pdf(
            cert, public_url=settings.public_url, time_zone=settings.time_zone
        )
        return Response(
            pdf,
            media_type=PDF_MEDIA,
            headers={"Content-Disposition": f'attachment; filename="certificate-{s.cert_no}.pdf"'},
        )


class CertificateController(Controller):
    path = "/api/v1/certificates"
    tags = ["public: certificates"]

    @get("/{cert_no:str}", summary="Check a training certificate by its number (no sign-in)")
    async def verify(self, db_session: AsyncSession, cert_no: CertNo) -> CertificateOut:
        cert = await certificates.find_certificate(db_session, cert_no, masked=True)
        return certificate_out(cert)


class ActivityReportController(Controller):
    path = "/api/v1/reports/activities"
    tags = ["staff: reports"]

    @get(
        "/",
        operation_class=REPORT_OPERATION,
        summary="Activities: participation per union and kind, training hours per member",
    )
    async def report(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        org_id: OrgId,
        date_from: From = None,
        date_to: To = None,
        fmt: Format = None,
    ) -> Response[Any]:
        org, rng = await report_scope(
            db_session, staff, org_id, date_from, date_to, state.settings.time_zone
        )
        doc = await activities_report(db_session, org, rng, utc_now())
        return files.respond(
            doc,
            fmt=fmt,
            accept=request.headers.get("accept"),
            filename=f"{doc['report']}-{doc['from']}-{doc['to']}",
        )


ROUTE_HANDLERS = [
    ActivityController,
    MyActivityController,
    CertificateController,
    ActivityReportController,
]
