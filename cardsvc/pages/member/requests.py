"""Service requests (file one with photos, follow its steps, reply, rate) and the inbox.

The same functions as ``/api/v1/me/service-requests`` and ``/api/v1/me/inbox``
(cardsvc.servicereq, cardsvc.inbox); photos go through the same checks and storage.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.inbox.service import inbox, mark_read
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import AppError
from cardsvc.kernel.settings import Settings
from cardsvc.memberauth.sessions import MemberSession
from cardsvc.members.models import Member
from cardsvc.pages.errors import page_exception_handlers
from cardsvc.pages.i18n import lang_of, pick
from cardsvc.pages.member.common import (
    AREA,
    current_member,
    field_errors,
    go,
    message,
    page_context,
)
from cardsvc.servicereq import member_actions
from cardsvc.servicereq import service as svc
from cardsvc.servicereq.attachments import add_attachment
from cardsvc.servicereq.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    ContactPreference,
    RequestKind,
    ServiceStatus,
)
from cardsvc.servicereq.queue import member_requests
from cardsvc.servicereq.schemas import request_detail, requests_out
from cardsvc.servicereq.steps import add_step

KINDS = (
    (RequestKind.hardship, "困难帮扶", "Hardship help"),
    (RequestKind.legal_aid, "法律援助·维权", "Legal aid"),
    (RequestKind.medical_aid, "医疗互助", "Medical mutual aid"),
    (RequestKind.childcare, "子女托育·助学", "Childcare and schooling"),
    (RequestKind.training, "技能培训报名", "Skills training"),
    (RequestKind.other, "其他", "Other"),
)
CONTACTS = (
    (ContactPreference.in_app, "站内消息", "Messages here"),
    (ContactPreference.phone, "电话", "Phone call"),
    (ContactPreference.sms, "短信", "Text message"),
    (ContactPreference.visit, "上门", "Home visit"),
)
STATUS = {
    ServiceStatus.submitted: ("待受理", "Waiting", "warn"),
    ServiceStatus.accepted: ("办理中", "In progress", "warn"),
    ServiceStatus.info_requested: ("请补充材料", "Needs your reply", "err"),
    ServiceStatus.resolved: ("已办结", "Resolved", "ok"),
    ServiceStatus.rejected: ("不予办理", "Rejected", ""),
    ServiceStatus.withdrawn: ("已撤回", "Withdrawn", ""),
}
# A form with every photo a request may hold (6 × 10 MB by default) and its text.
MAX_FORM_BYTES = 80 * 1024 * 1024


def _choices() -> dict[str, Any]:
    return {"kinds": KINDS, "contacts": CONTACTS, "status_labels": STATUS}


class MemberRequestsController(Controller):
    path = AREA
    include_in_schema = False
    exception_handlers = page_exception_handlers

    @get("/requests", media_type=MediaType.HTML)
    async def list_page(self, db_session: AsyncSession, member_session: MemberSession) -> Any:
        member = await current_member(db_session, member_session)
        if member is None:
            return Redirect(AREA + "/")
        rows, total = await member_requests(db_session, member, status=None, limit=50, offset=0)
        _, _, unread = await inbox(db_session, member_id=member.id, unread=True, limit=1, offset=0)
        return Template(
            "m/requests.html",
            context=page_context(
                member_session,
                member,
                "requests",
                requests=await requests_out(db_session, rows, utc_now(), staff_view=False),
                total=total,
                unread=unread,
                **_choices(),
            ),
        )

    @get("/requests/new", media_type=MediaType.HTML)
    async def new_page(self, db_session: AsyncSession, member_session: MemberSession) -> Any:
        member = await current_member(db_session, member_session)
        if member is None:
            return Redirect(AREA + "/")
        return Template(
            "m/request_new.html",
            context=page_context(
                member_session, member, "requests", values={}, errors={}, **_choices()
            ),
        )

    @post(
        "/requests",
        status_code=200,
        media_type=MediaType.HTML,
        request_max_body_size=MAX_FORM_BYTES,
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        me: Member,
    ) -> Response[Any]:
        form = await request.form()
        values = {
            k: str(form.get(k, "")).strip()
            for k in ("kind", "title", "description", "contact_preference")
        }
        lang = lang_of(request)
        errors: dict[str, str] = {}
        try:
            kind = RequestKind(values["kind"])
        except ValueError:
            errors["kind"] = pick(lang, "请选择申请类别", "Choose what you need help with")
        try:
            contact = ContactPreference(values["contact_preference"] or "in_app")
        except ValueError:
            contact = ContactPreference.in_app
        for f, zh, en in (
            ("title", "请用一句话说明需要什么帮助", "Say in a line what you need"),
            ("description", "请写明具体情况", "Describe your situation"),
        ):
            if not values[f]:
                errors[f] = pick(lang, zh, en)
        if not errors:
            settings: Settings = state.settings
            try:
                async with db_session.begin_nested():  # the request and its photos, or nothing
                    req = await svc.file_request(
                        db_session,
                        me,
                        svc.RequestInput(kind, values["title"], values["description"], contact),
                        now=utc_now(),
                        sla=settings.service_sla,
                    )
                    try:
                        await _store_photos(form, settings, db_session, req, me)
                    except AppError as exc:
                        raise _PhotoRefused(exc) from None
                return go(request, f"{AREA}/requests/{req.id}")
            except _PhotoRefused as refused:
                errors = {"photos": message(request, refused.error)}
            except AppError as exc:
                errors = field_errors(request, exc)
        return Template(
            "m/_request_form.html",
            context=page_context(
                member_session, me, "requests", values=values, errors=errors, **_choices()
            ),
            status_code=422,
        )

    @get("/requests/{request_id:uuid}", media_type=MediaType.HTML)
    async def detail_page(
        self, db_session: AsyncSession, member_session: MemberSession, request_id: uuid.UUID
    ) -> Any:
        member = await current_member(db_session, member_session)
        if member is None:
            return Redirect(AREA + "/")
        return Template(
            "m/request.html", context=await _detail(db_session, member_session, member, request_id)
        )

    @post(
        "/requests/{request_id:uuid}/photos",
        status_code=200,
        media_type=MediaType.HTML,
        request_max_body_size=MAX_FORM_BYTES,
    )
    async def add_photos(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        me: Member,
        request_id: uuid.UUID,
    ) -> Response[Any]:
        req = await svc.member_request(db_session, me, request_id)
        form = await request.form()
        try:
            async with db_session.begin_nested():
                n = await _store_photos(form, state.settings, db_session, req, me)
        except AppError as exc:
            ctx = await _detail(
                db_session, member_session, me, request_id, photo_error=message(request, exc)
            )
            return Template("m/_request_photos.html", context=ctx, status_code=exc.status)
        if n == 0:
            ctx = await _detail(
                db_session,
                member_session,
                me,
                request_id,
                photo_error=pick(lang_of(request), "请选择照片", "Choose a photo"),
            )
            return Template("m/_request_photos.html", context=ctx, status_code=422)
        return go(request, f"{AREA}/requests/{request_id}")

    @post("/requests/{request_id:uuid}/reply", status_code=200, media_type=MediaType.HTML)
    async def reply(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        member_session: MemberSession,
        me: Member,
        request_id: uuid.UUID,
    ) -> Response[Any]:
        req = await svc.member_request(db_session, me, request_id)
        note = str((await request.form()).get("note", "")).strip()
        try:
            await member_actions.member_reply(db_session, me, req, now=utc_now(), note=note)
        except AppError as exc:
            ctx = await _detail(
                db_session, member_session, me, request_id, reply_error=message(request, exc)
            )
            return Template("m/_request_reply.html", context=ctx, status_code=exc.status)
        return go(request, f"{AREA}/requests/{request_id}")

    @post("/requests/{request_id:uuid}/withdraw", status_code=200, media_type=MediaType.HTML)
    async def withdraw(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        me: Member,
        request_id: uuid.UUID,
    ) -> Response[Any]:
        req = await svc.member_request(db_session, me, request_id)
        await member_actions.withdraw(db_session, me, req, now=utc_now(), reason=None)
        return go(request, f"{AREA}/requests/{request_id}")

    @post("/requests/{request_id:uuid}/rating", status_code=200, media_type=MediaType.HTML)
    async def rate(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        member_session: MemberSession,
        me: Member,
        request_id: uuid.UUID,
    ) -> Response[Any]:
        req = await svc.member_request(db_session, me, request_id)
        form = await request.form()
        raw = str(form.get("rating", ""))
        comment = str(form.get("comment", "")).strip() or None
        try:
            if not raw.isdigit():
                raise AppError(
                    "validation_error", "请选择评分（1–5 星）", "Choose a rating (1–5 stars)"
                )
            await member_actions.rate(
                db_session, me, req, now=utc_now(), rating=int(raw), comment=comment
            )
        except AppError as exc:
            ctx = await _detail(
                db_session, member_session, me, request_id, rating_error=message(request, exc)
            )
            return Template("m/_request_rating.html", context=ctx, status_code=exc.status)
        return go(request, f"{AREA}/requests/{request_id}")

    @get("/inbox", media_type=MediaType.HTML)
    async def inbox_page(self, db_session: AsyncSession, member_session: MemberSession) -> Any:
        member = await current_member(db_session, member_session)
        if member is None:
            return Redirect(AREA + "/")
        rows, total, unread = await inbox(
            db_session, member_id=member.id, unread=False, limit=50, offset=0
        )
        return Template(
            "m/inbox.html",
            context=page_context(
                member_session, member, "requests", notes=rows, total=total, unread=unread
            ),
        )

    @post("/inbox/read", status_code=200, media_type=MediaType.HTML)
    async def read_all(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, me: Member
    ) -> Response[Any]:
        await mark_read(db_session, utc_now(), member_id=me.id, ids=None)
        return go(request, AREA + "/inbox")


class _PhotoRefused(Exception):
    """A photo the checks refused: shown beside the photo field, nothing is filed."""

    def __init__(self, error: AppError) -> None:
        self.error = error


async def _store_photos(
    form: Any, settings: Settings, db_session: AsyncSession, req: Any, me: Member
) -> int:
    """Store the ``photos`` of a form with the API's checks (type by content, size, count).
    An empty file input sends one empty part: skipped. Returns how many were stored."""
    if any(isinstance(v, UploadFile) and k != "photos" for k, v in form.multi_items()):
        # A file sent under a text field would be stored as its name: refuse the whole form.
        raise AppError(
            "unexpected_field",
            "照片请通过“添加照片”上传",
            "Add files with the photo button",
            status=400,
        )
    n = 0
    actor = svc.member_actor(me)
    for upload in form.getall("photos", []):
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue
        data = await upload.read()
        if not data:
            continue
        att = await add_attachment(
            db_session, settings, req, data=data, filename=upload.filename, uploaded_by=actor
        )
        add_step(
            db_session,
            req,
            "attachment",
            now=utc_now(),
            actor_type="member",
            actor=actor,
            note=att.filename,
        )
        n += 1
    return n


async def _detail(
    db_session: AsyncSession,
    member_session: MemberSession,
    member: Member,
    request_id: uuid.UUID,
    **extra: Any,
) -> dict[str, Any]:
    req = await svc.member_request(db_session, member, request_id)
    d = await request_detail(db_session, req, utc_now(), staff_view=False)
    status = d.request.status
    defaults: dict[str, Any] = {"photo_error": "", "reply_error": "", "rating_error": ""}
    return page_context(
        member_session,
        member,
        "requests",
        d=d,
        is_open=status in OPEN_STATUSES,
        can_rate=status in (ServiceStatus.resolved, ServiceStatus.rejected)
        and d.request.rating is None,
        closed=status in CLOSED_STATUSES,
        **_choices(),
        **(defaults | extra),
    )
