"""Service request API: members file and follow their requests; staff work the queue.

Members: ``/api/v1/me/service-requests…``; staff: ``/api/v1/service-requests…`` (scoped to
the subtrees where they hold ``service.handle``; anything else is 404); service-level
times: ``/api/v1/orgs/{org_id}/service-levels``. See docs/service-requests.md.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.pagination import Limit, Offset
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.settings import Settings
from cardsvc.members.models import Member
from cardsvc.members.service import get_member
from cardsvc.orgs.service import get_org
from cardsvc.servicereq import member_actions, takeover
from cardsvc.servicereq import service as svc
from cardsvc.servicereq.attachments import (
    add_attachment,
    check_room,
)
from cardsvc.servicereq.models import RequestKind, ServiceStatus
from cardsvc.servicereq.queue import QueueFilter, list_queue, member_requests
from cardsvc.servicereq.schemas import (
    AttachmentOut,
    HandlingIn,
    NoteIn,
    OptionalNoteIn,
    OutcomeIn,
    QueuePage,
    RatingIn,
    ReasonIn,
    RequestDetail,
    RequestIn,
    RequestPage,
    SlaIn,
    SlaOut,
    StaffRequestIn,
    TakeOverIn,
    WithdrawIn,
    attachment_out,
    attachment_response,
    request_detail,
    requests_out,
    service_levels_out,
)
from cardsvc.servicereq.sla import set_sla
from cardsvc.servicereq.steps import add_step
from cardsvc.servicereq.uploads import (
    DOWNLOAD_OPERATION,
    UPLOAD_DOC,
    UPLOAD_RESPONSES,
    read_one_file,
)

# --- members ----------------------------------------------------------------------------------


class MyServiceRequestController(Controller):
    path = "/api/v1/me/service-requests"
    tags = ["member: service requests"]

    @post("/", summary="File a service request (线上受理); routed to my union")
    async def create(
        self, state: State, db_session: AsyncSession, me: Member, data: RequestIn
    ) -> RequestDetail:
        now = utc_now()
        req = await svc.file_request(
            db_session,
            me,
            svc.RequestInput(data.kind, data.title, data.description, data.contact_preference),
            now=now,
            sla=state.settings.service_sla,
        )
        return await request_detail(db_session, req, now, staff_view=False)

    @get("/", summary="My service requests, newest first")
    async def list_mine(
        self,
        db_session: AsyncSession,
        me: Member,
        status: ServiceStatus | None = None,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> RequestPage:
        rows, total = await member_requests(
            db_session, me, status=status, limit=limit, offset=offset
        )
        return RequestPage(
            await requests_out(db_session, rows, utc_now(), staff_view=False), total, limit, offset
        )

    @get("/{request_id:uuid}", summary="One of my requests with every step and attachment")
    async def detail(
        self, db_session: AsyncSession, me: Member, request_id: uuid.UUID
    ) -> RequestDetail:
        req = await svc.member_request(db_session, me, request_id)
        return await request_detail(db_session, req, utc_now(), staff_view=False)

    @post(
        "/{request_id:uuid}/attachments",
        summary="Attach an image or PDF",
        description=UPLOAD_DOC,
        request_max_body_size=None,  # read with our own limit (clear 413 code)
        responses=UPLOAD_RESPONSES,
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        me: Member,
        request_id: uuid.UUID,
    ) -> AttachmentOut:
        settings: Settings = state.settings
        req = await svc.member_request(db_session, me, request_id)
        await check_room(db_session, settings, req)
        data, filename = await read_one_file(request, settings)
        att = await add_attachment(
            db_session,
            settings,
            req,
            data=data,
            filename=filename,
            uploaded_by=svc.member_actor(me),
        )
        add_step(
            db_session,
            req,
            "attachment",
            now=utc_now(),
            actor_type="member",
            actor=svc.member_actor(me),
            note=att.filename,
        )
        return attachment_out(att)

    @get(
        "/{request_id:uuid}/attachments/{attachment_id:uuid}",
        summary="Download an attachment",
        media_type="application/octet-stream",
        operation_class=DOWNLOAD_OPERATION,
    )
    async def download(
        self,
        state: State,
        db_session: AsyncSession,
        me: Member,
        request_id: uuid.UUID,
        attachment_id: uuid.UUID,
    ) -> Response[bytes]:
        req = await svc.member_request(db_session, me, request_id)
        return await attachment_response(state, db_session, req, attachment_id)

    @post(
        "/{request_id:uuid}/reply", summary="Give the information staff asked for", status_code=200
    )
    async def reply(
        self, db_session: AsyncSession, me: Member, request_id: uuid.UUID, data: NoteIn
    ) -> RequestDetail:
        req = await svc.member_request(db_session, me, request_id)
        now = utc_now()
        await member_actions.member_reply(db_session, me, req, now=now, note=data.note)
        return await request_detail(db_session, req, now, staff_view=False)

    @post("/{request_id:uuid}/withdraw", summary="Withdraw an open request", status_code=200)
    async def withdraw(
        self, db_session: AsyncSession, me: Member, request_id: uuid.UUID, data: WithdrawIn
    ) -> RequestDetail:
        req = await svc.member_request(db_session, me, request_id)
        now = utc_now()
        await member_actions.withdraw(db_session, me, req, now=now, reason=data.reason)
        return await request_detail(db_session, req, now, staff_view=False)

    @post("/{request_id:uuid}/rating", summary="Rate the outcome (1–5), once", status_code=200)
    async def rating(
        self, db_session: AsyncSession, me: Member, request_id: uuid.UUID, data: RatingIn
    ) -> RequestDetail:
        req = await svc.member_request(db_session, me, request_id)
        now = utc_now()
        await member_actions.rate(
            db_session, me, req, now=now, rating=data.rating, comment=data.comment
        )
        return await request_detail(db_session, req, now, staff_view=False)


# --- staff ------------------------------------------------------------------------------------


class ServiceRequestController(Controller):
    path = "/api/v1/service-requests"
    tags = ["staff: service requests"]
    security = [{"staffSession": []}]

    @get("/", summary="The queue of my subtrees: filters, counts, overdue first")
    async def queue(
        self,
        staff: Principal,
        db_session: AsyncSession,
        org_id: uuid.UUID | None = None,
        kind: RequestKind | None = None,
        status: ServiceStatus | None = None,
        open_only: bool = False,
        overdue: bool | None = None,
        escalated: bool | None = None,
        handling_here: bool = False,
        q: str | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> QueuePage:
        now = utc_now()
        rows, total, counts = await list_queue(
            db_session,
            staff,
            QueueFilter(org_id, kind, status, open_only, overdue, escalated, handling_here, q),
            now=now,
            limit=limit,
            offset=offset,
        )
        return QueuePage(
            await requests_out(db_session, rows, now, staff_view=True), total, limit, offset, counts
        )

    @post("/", summary="File a request for a member (walk-in or hotline)")
    async def create(
        self, staff: Principal, state: State, db_session: AsyncSession, data: StaffRequestIn
    ) -> RequestDetail:
        member = await get_member(db_session, staff, data.member_id, Perm.service_handle)
        now = utc_now()
        req = await svc.file_request(
            db_session,
            member,
            svc.RequestInput(data.kind, data.title, data.description, data.contact_preference),
            now=now,
            sla=state.settings.service_sla,
            staff=staff,
            channel=data.channel,
        )
        return await request_detail(db_session, req, now, staff_view=True)

    @get("/{request_id:uuid}", summary="One request with its timeline and attachments")
    async def detail(
        self, staff: Principal, db_session: AsyncSession, request_id: uuid.UUID
    ) -> RequestDetail:
        req = await svc.staff_request(db_session, staff, request_id)
        return await request_detail(db_session, req, utc_now(), staff_view=True)

    async def _act(
        self, staff: Principal, db_session: AsyncSession, request_id: uuid.UUID, fn: Any
    ) -> RequestDetail:
        req = await svc.staff_request(db_session, staff, request_id)
        now = utc_now()
        await fn(req, now)
        return await request_detail(db_session, req, now, staff_view=True)

    @post("/{request_id:uuid}/accept", summary="Accept (受理)", status_code=200)
    async def accept(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        request_id: uuid.UUID,
        data: OptionalNoteIn | None = None,
    ) -> RequestDetail:
        note = data.note if data else None
        return await self._act(
            staff,
            db_session,
            request_id,
            lambda r, now: svc.accept(
                db_session, staff, r, now=now, sla=state.settings.service_sla, note=note
            ),
        )

    @post(
        "/{request_id:uuid}/request-info",
        summary="Ask the member for more (the clock stops)",
        status_code=200,
    )
    async def request_info(
        self, staff: Principal, db_session: AsyncSession, request_id: uuid.UUID, data: NoteIn
    ) -> RequestDetail:
        return await self._act(
            staff,
            db_session,
            request_id,
            lambda r, now: svc.request_info(db_session, staff, r, now=now, note=data.note),
        )

    @post(
        "/{request_id:uuid}/handling",
        summary="Record offline handling: visit, call, payment, note",
        status_code=200,
    )
    async def handling(
        self, staff: Principal, db_session: AsyncSession, request_id: uuid.UUID, data: HandlingIn
    ) -> RequestDetail:
        return await self._act(
            staff,
            db_session,
            request_id,
            lambda r, now: svc.record_handling(
                db_session,
                staff,
                r,
                now=now,
                kind=data.kind,
                note=data.note,
                amount_fen=data.amount_fen,
            ),
        )

    @post(
        "/{request_id:uuid}/resolve",
        summary="Resolve with the outcome the member sees",
        status_code=200,
    )
    async def resolve(
        self, staff: Principal, db_session: AsyncSession, request_id: uuid.UUID, data: OutcomeIn
    ) -> RequestDetail:
        return await self._act(
            staff,
            db_session,
            request_id,
            lambda r, now: svc.resolve(db_session, staff, r, now=now, outcome=data.outcome),
        )

    @post("/{request_id:uuid}/reject", summary="Reject with a reason", status_code=200)
    async def reject(
        self, staff: Principal, db_session: AsyncSession, request_id: uuid.UUID, data: ReasonIn
    ) -> RequestDetail:
        return await self._act(
            staff,
            db_session,
            request_id,
            lambda r, now: svc.reject(db_session, staff, r, now=now, reason=data.reason),
        )

    @post(
        "/{request_id:uuid}/reopen",
        summary="Reopen a resolved or rejected request (audited)",
        status_code=200,
    )
    async def reopen(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        request_id: uuid.UUID,
        data: ReasonIn,
    ) -> RequestDetail:
        return await self._act(
            staff,
            db_session,
            request_id,
            lambda r, now: takeover.reopen(
                db_session, staff, r, now=now, sla=state.settings.service_sla, reason=data.reason
            ),
        )

    @post(
        "/{request_id:uuid}/take-over",
        summary="The level above takes the request over",
        status_code=200,
    )
    async def take_over(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        request_id: uuid.UUID,
        data: TakeOverIn,
    ) -> RequestDetail:
        return await self._act(
            staff,
            db_session,
            request_id,
            lambda r, now: takeover.take_over(
                db_session,
                staff,
                r,
                now=now,
                sla=state.settings.service_sla,
                org_id=data.org_id,
                note=data.note,
            ),
        )

    @post(
        "/{request_id:uuid}/attachments",
        summary="Attach an image or PDF",
        description=UPLOAD_DOC,
        request_max_body_size=None,
        responses=UPLOAD_RESPONSES,
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        request_id: uuid.UUID,
    ) -> AttachmentOut:
        settings: Settings = state.settings
        req = await svc.staff_request(db_session, staff, request_id)
        await check_room(db_session, settings, req)
        data, filename = await read_one_file(request, settings)
        att = await add_attachment(
            db_session, settings, req, data=data, filename=filename, uploaded_by=staff.username
        )
        add_step(
            db_session,
            req,
            "attachment",
            now=utc_now(),
            actor_type="staff",
            actor=staff.username,
            note=att.filename,
        )
        svc.audit_action(db_session, staff, "service.attach", req, {"sha256": att.sha256})
        return attachment_out(att)

    @get(
        "/{request_id:uuid}/attachments/{attachment_id:uuid}",
        summary="Download an attachment",
        media_type="application/octet-stream",
        operation_class=DOWNLOAD_OPERATION,
    )
    async def download(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        request_id: uuid.UUID,
        attachment_id: uuid.UUID,
    ) -> Response[bytes]:
        req = await svc.staff_request(db_session, staff, request_id)
        return await attachment_response(state, db_session, req, attachment_id)


# --- service-level times ------------------------------------------------------------------------


class ServiceLevelController(Controller):
    path = "/api/v1/orgs/{org_id:uuid}/service-levels"
    tags = ["staff: service requests"]
    security = [{"staffSession": []}]

    @get("/", summary="Service-level times in force for this org, per kind")
    async def list_levels(
        self, staff: Principal, state: State, db_session: AsyncSession, org_id: uuid.UUID
    ) -> list[SlaOut]:
        org = await get_org(db_session, staff, org_id, Perm.service_handle)
        return await service_levels_out(db_session, state.settings, org.path)

    @put("/{kind:str}", summary="Set this org's times for a kind (holds for its subtree)")
    async def put_level(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        org_id: uuid.UUID,
        kind: RequestKind,
        data: SlaIn,
    ) -> list[SlaOut]:
        org = await get_org(db_session, staff, org_id, Perm.service_settings)
        await set_sla(
            db_session,
            staff,
            org,
            kind,
            accept_hours=data.accept_hours,
            resolve_hours=data.resolve_hours,
        )
        return await service_levels_out(db_session, state.settings, org.path)

    @delete(
        "/{kind:str}", summary="Remove this org's times for a kind (inherit again)", status_code=200
    )
    async def delete_level(
        self,
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        org_id: uuid.UUID,
        kind: RequestKind,
    ) -> list[SlaOut]:
        org = await get_org(db_session, staff, org_id, Perm.service_settings)
        await set_sla(db_session, staff, org, kind, accept_hours=None, resolve_hours=None)
        return await service_levels_out(db_session, state.settings, org.path)
