"""Founding API. Applicants (signed in with their phone): ``/api/v1/me/founding-applications``;
the public list of joint unions: ``/api/v1/founding/joint-unions``; reviewers (``org.write``
on the reviewing federation; anything else is 404): ``/api/v1/founding/applications``; the
enterprise register and the founding rate: ``/api/v1/founding/register``,
``/api/v1/founding/coverage``. See docs/founding.md.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.founding import service as svc
from cardsvc.founding.approve import approve
from cardsvc.founding.coverage import coverage_report
from cardsvc.founding.documents import add_document, check_room
from cardsvc.founding.models import FoundingStatus
from cardsvc.founding.register import district_for_register, import_register
from cardsvc.founding.schemas import (
    CoverageReport,
    DocumentOut,
    FoundingIn,
    FoundingOut,
    FoundingPage,
    ImportOut,
    NoteIn,
    OrgRef,
    ReasonIn,
    ResubmitIn,
    coverage_out,
    document_out,
    document_response,
    founding_input,
    founding_out,
    founding_rows,
    import_out,
    org_ref,
)
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import ValidationError
from cardsvc.kernel.pagination import Limit, Offset
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.regions import parse_region
from cardsvc.memberauth.sessions import MemberSession
from cardsvc.orgs.service import get_org
from cardsvc.servicereq.uploads import (
    DOWNLOAD_OPERATION,
    UPLOAD_DOC,
    UPLOAD_RESPONSES,
    read_one_file,
)

REGISTER_DOC = (
    "multipart/form-data with one .xlsx in the field `file`: the headers "
    "统一社会信用代码、单位名称、职工人数 in one of the first ten rows. Bad rows come back in `problems` "
    "(row, field, reason) and are skipped; the others are added or updated."
)


async def _out(state: State, db: AsyncSession, app: Any, *, staff_view: bool) -> FoundingOut:
    return await founding_out(
        db, state.cipher, app, base_url=state.settings.public_url, staff_view=staff_view
    )


class MyFoundingController(Controller):
    path = "/api/v1/me/founding-applications"
    tags = ["applicant: founding a union"]

    @post("/", summary="Apply to found a grassroots union, or to join a joint union (网上建会)")
    async def create(
        self,
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        data: FoundingIn,
    ) -> FoundingOut:
        cipher: PiiCipher = state.cipher
        app = await svc.submit(
            db_session,
            cipher,
            phone=cipher.decrypt("phone", member_session.phone_enc),
            data=founding_input(data),
            min_founders=state.settings.founding_min_founders,
            now=utc_now(),
        )
        return await _out(state, db_session, app, staff_view=False)

    @get("/", summary="My founding applications, newest first")
    async def list_mine(
        self, state: State, db_session: AsyncSession, member_session: MemberSession
    ) -> list[FoundingOut]:
        apps = await svc.applications_for_phone(db_session, member_session.phone_hash)
        return [await _out(state, db_session, a, staff_view=False) for a in apps]

    @get("/{founding_id:uuid}", summary="One of my founding applications with its steps")
    async def detail(
        self,
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        founding_id: uuid.UUID,
    ) -> FoundingOut:
        app = await svc.applicant_application(db_session, member_session.phone_hash, founding_id)
        return await _out(state, db_session, app, staff_view=False)

    @post(
        "/{founding_id:uuid}/resubmit",
        summary="Resubmit after being asked for more",
        status_code=200,
    )
    async def resubmit(
        self,
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        founding_id: uuid.UUID,
        data: ResubmitIn,
    ) -> FoundingOut:
        cipher: PiiCipher = state.cipher
        app = await svc.applicant_application(db_session, member_session.phone_hash, founding_id)
        await svc.resubmit(
            db_session,
            cipher,
            app,
            phone=cipher.decrypt("phone", member_session.phone_enc),
            data=founding_input(data),
            min_founders=state.settings.founding_min_founders,
            note=data.note,
            now=utc_now(),
        )
        return await _out(state, db_session, app, staff_view=False)

    @post(
        "/{founding_id:uuid}/documents",
        summary="Add a document (business licence, minutes of the founding meeting…)",
        description=UPLOAD_DOC,
        request_max_body_size=None,  # read with our own limit (clear 413 code)
        responses=UPLOAD_RESPONSES,
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        founding_id: uuid.UUID,
    ) -> DocumentOut:
        app = await svc.applicant_application(db_session, member_session.phone_hash, founding_id)
        await check_room(db_session, state.settings, app)
        data, filename = await read_one_file(request, state.settings)
        actor = svc.applicant_actor(
            app.phone_hash, state.cipher.decrypt("phone", member_session.phone_enc)
        )
        doc = await add_document(
            db_session,
            state.settings,
            app,
            data=data,
            filename=filename,
            actor=actor.username,
            now=utc_now(),
        )
        svc.audit(db_session, actor, "founding.document", app, sha256=doc.sha256)
        return document_out(doc)

    @get(
        "/{founding_id:uuid}/documents/{document_id:uuid}",
        summary="Download one of my documents",
        media_type="application/octet-stream",
        operation_class=DOWNLOAD_OPERATION,
    )
    async def download(
        self,
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        founding_id: uuid.UUID,
        document_id: uuid.UUID,
    ) -> Response[bytes]:
        app = await svc.applicant_application(db_session, member_session.phone_hash, founding_id)
        return await document_response(state.settings, db_session, app, document_id)


class FoundingPublicController(Controller):
    path = "/api/v1/founding"
    tags = ["applicant: founding a union"]

    @get("/joint-unions", summary="The joint unions a small firm in this region may join")
    async def joint(self, db_session: AsyncSession, region_code: str) -> list[OrgRef]:
        reviewer = await svc.reviewer_for(db_session, parse_region("region_code", region_code))
        return [org_ref(o) for o in await svc.joint_unions(db_session, reviewer)]


class FoundingReviewController(Controller):
    path = "/api/v1/founding/applications"
    tags = ["staff: founding applications"]

    @get("/", summary="Founding applications reviewed in my subtrees, newest first")
    async def queue(
        self,
        db_session: AsyncSession,
        staff: Principal,
        status: FoundingStatus | None = None,
        q: str | None = None,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> FoundingPage:
        rows, total = await svc.review_queue(
            db_session, staff, status=status, q=q, limit=limit, offset=offset
        )
        return FoundingPage(await founding_rows(db_session, rows), total, limit, offset)

    @get("/{founding_id:uuid}", summary="One founding application with its documents and steps")
    async def detail(
        self, state: State, db_session: AsyncSession, staff: Principal, founding_id: uuid.UUID
    ) -> FoundingOut:
        app = await svc.staff_application(db_session, staff, founding_id)
        return await _out(state, db_session, app, staff_view=True)

    @post("/{founding_id:uuid}/request-info", summary="Ask the applicant for more", status_code=200)
    async def request_info(
        self,
        state: State,
        db_session: AsyncSession,
        staff: Principal,
        founding_id: uuid.UUID,
        data: NoteIn,
    ) -> FoundingOut:
        app = await svc.staff_application(db_session, staff, founding_id)
        await svc.request_info(db_session, staff, app, note=data.note, now=utc_now())
        return await _out(state, db_session, app, staff_view=True)

    @post("/{founding_id:uuid}/refuse", summary="Refuse, with the reason", status_code=200)
    async def refuse(
        self,
        state: State,
        db_session: AsyncSession,
        staff: Principal,
        founding_id: uuid.UUID,
        data: ReasonIn,
    ) -> FoundingOut:
        app = await svc.staff_application(db_session, staff, founding_id)
        await svc.refuse(db_session, staff, app, reason=data.reason, now=utc_now())
        return await _out(state, db_session, app, staff_view=True)

    @post(
        "/{founding_id:uuid}/approve",
        summary="Approve: the union in the tree, its first admin (sign-in sent by SMS), an invite",
        status_code=200,
    )
    async def approve(
        self, state: State, db_session: AsyncSession, staff: Principal, founding_id: uuid.UUID
    ) -> Response[FoundingOut]:
        app = await svc.staff_application(db_session, staff, founding_id)
        app, message = await approve(
            db_session,
            staff,
            state.cipher,
            app,
            now=utc_now(),
            base_url=state.settings.public_url,
        )
        out = await _out(state, db_session, app, staff_view=True)
        # Sent once the response (and so the transaction) is through.
        return Response(
            out, background=BackgroundTask(state.sender.send, message.phone, message.text)
        )

    @get(
        "/{founding_id:uuid}/documents/{document_id:uuid}",
        summary="Download a document of the application",
        media_type="application/octet-stream",
        operation_class=DOWNLOAD_OPERATION,
    )
    async def download(
        self,
        state: State,
        db_session: AsyncSession,
        staff: Principal,
        founding_id: uuid.UUID,
        document_id: uuid.UUID,
    ) -> Response[bytes]:
        app = await svc.staff_application(db_session, staff, founding_id)
        return await document_response(state.settings, db_session, app, document_id)


class EnterpriseRegisterController(Controller):
    path = "/api/v1/founding"
    tags = ["staff: founding applications"]

    @post(
        "/register",
        summary="Import a district's enterprise register (.xlsx)",
        description=REGISTER_DOC,
        request_max_body_size=None,
        responses=UPLOAD_RESPONSES,
        status_code=200,
    )
    async def import_xlsx(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        staff: Principal,
        # Optional to the framework so that the sign-in and CSRF checks answer first.
        org_id: uuid.UUID | None = None,
    ) -> ImportOut:
        if org_id is None:
            raise ValidationError.field("org_id", "请选择区县", "choose the district")
        org = await district_for_register(db_session, staff, org_id)
        data, filename = await read_one_file(request, state.settings)
        return import_out(await import_register(db_session, staff, org, data, filename))

    @get("/coverage", summary="Founding rate (组建率) of an org and of each of its districts")
    async def coverage(
        self, db_session: AsyncSession, staff: Principal, org_id: uuid.UUID
    ) -> CoverageReport:
        org = await get_org(db_session, staff, org_id, Perm.reports_read)
        total, rows = await coverage_report(db_session, org)
        return CoverageReport(coverage_out(total), [coverage_out(r) for r in rows])
