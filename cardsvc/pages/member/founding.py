"""Founding a union on the phone (网上建会): the application form, my applications and the
status of one (its steps, documents to add, and the corrected form when asked for more).
The same domain functions as ``/api/v1/me/founding-applications`` (cardsvc.founding)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.founding import service as svc
from cardsvc.founding.documents import add_document, documents_of
from cardsvc.founding.labels import APPLICANT_LABELS, KIND_LABELS, STATUS_LABELS, STEP_LABELS
from cardsvc.founding.models import ApplicantType, FoundingKind, FoundingStatus
from cardsvc.founding.schemas import founding_out
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import AppError
from cardsvc.kernel.pii import PiiCipher
from cardsvc.memberauth.sessions import MemberSession
from cardsvc.pages.errors import page_exception_handlers
from cardsvc.pages.i18n import lang_of, pick
from cardsvc.pages.labels import field_label
from cardsvc.pages.member.common import AREA, current_member, go, message, page_context

FOUNDER_ROWS = 5
FIELDS = (
    "kind",
    "applicant_type",
    "contact_name",
    "enterprise_name",
    "credit_code",
    "region_code",
    "address",
    "headcount",
    "union_name",
    "joint_org_id",
    "note",
)
MAX_FORM_BYTES = 11 * 1024 * 1024
_FOUNDER_PATH = re.compile(r"^founders\[(\d+)\]\.(name|phone)$")


def _input(values: dict[str, str]) -> svc.FoundingInput:
    founders = [
        svc.Founder(
            values.get(f"f{i}_name", ""),
            values.get(f"f{i}_phone", ""),
            values.get(f"f{i}_role", ""),
        )
        for i in range(FOUNDER_ROWS)
        if values.get(f"f{i}_name") or values.get(f"f{i}_phone")
    ]
    kind = FoundingKind.join_joint if values.get("kind") == "join_joint" else FoundingKind.found
    joint = None
    if kind == FoundingKind.join_joint and values.get("joint_org_id"):
        try:
            joint = uuid.UUID(values["joint_org_id"])
        except ValueError:
            joint = None
    headcount = values.get("headcount", "")
    return svc.FoundingInput(
        kind=kind,
        applicant_type=ApplicantType.workers
        if values.get("applicant_type") == "workers"
        else ApplicantType.employer,
        contact_name=values.get("contact_name", ""),
        enterprise_name=values.get("enterprise_name", ""),
        credit_code=values.get("credit_code", ""),
        address=values.get("address", ""),
        region_code=values.get("region_code", ""),
        headcount=int(headcount) if headcount.isdigit() and len(headcount) < 8 else 0,
        founders=founders,
        union_name=values.get("union_name") or None,
        joint_org_id=joint,
    )


def _errors(request: Request[Any, Any, Any], exc: AppError) -> dict[str, str]:
    """Field path → message, with the founders' rows named as the form names them."""
    lang, out = lang_of(request), dict[str, str]()
    for e in exc.errors:
        m = _FOUNDER_PATH.match(e.field)
        key = (
            f"f{m.group(1)}_{m.group(2)}"
            if m
            else ("f0_name" if e.field == "founders" else e.field)
        )
        out.setdefault(key, pick(lang, e.reason_zh, e.reason_en))
    return out or {"_": message(request, exc)}


def _summary(request: Request[Any, Any, Any], errors: dict[str, str]) -> list[tuple[str, str, str]]:
    lang = lang_of(request)
    out = []
    for key, msg in errors.items():
        if key == "_":
            continue
        m = re.match(r"^f(\d)_(name|phone)$", key)
        label = (
            pick(lang, f"发起人第 {int(m.group(1)) + 1} 位", f"Founder {int(m.group(1)) + 1}")
            if m
            else field_label(key, lang)
        )
        out.append((f"f-{key}", label, msg))
    if errors.get("_"):
        out.append(("", "", errors["_"]))
    return out


async def _choices(db_session: AsyncSession) -> dict[str, Any]:
    return {
        "kinds": KIND_LABELS,
        "applicants": APPLICANT_LABELS,
        "joint_unions": await svc.joint_unions(db_session),
        "founder_rows": range(FOUNDER_ROWS),
    }


def _values_of(out: Any) -> dict[str, str]:
    """The form filled from an application (to correct it when asked for more)."""
    values = {f: str(getattr(out, f) or "") for f in FIELDS if hasattr(out, f)}
    values["kind"], values["applicant_type"] = out.kind.value, out.applicant_type.value
    values["joint_org_id"] = str(out.joint_org.id) if out.joint_org else ""
    for i, f in enumerate(out.founders[:FOUNDER_ROWS]):
        values |= {f"f{i}_name": f.name, f"f{i}_phone": f.phone, f"f{i}_role": f.role}
    return values


class MemberFoundingController(Controller):
    path = AREA + "/found"
    include_in_schema = False
    exception_handlers = page_exception_handlers

    @get("/", media_type=MediaType.HTML)
    async def index(
        self, state: State, db_session: AsyncSession, member_session: MemberSession
    ) -> Template:
        member = await current_member(db_session, member_session)
        apps = await svc.applications_for_phone(db_session, member_session.phone_hash)
        return Template(
            "m/found.html",
            context=page_context(
                member_session,
                member,
                "found",
                applications=apps,
                statuses=STATUS_LABELS,
                values={"kind": "found", "applicant_type": "employer"},
                errors={},
                summary=[],
                **await _choices(db_session),
            ),
        )

    @post("/", status_code=200, media_type=MediaType.HTML)
    async def apply(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
    ) -> Response[Any]:
        form = await request.form()
        values = {k: str(v).strip() for k, v in form.items()}
        cipher: PiiCipher = state.cipher
        try:
            app = await svc.submit(
                db_session,
                cipher,
                phone=cipher.decrypt("phone", member_session.phone_enc),
                data=_input(values),
                min_founders=state.settings.founding_min_founders,
                now=utc_now(),
            )
            return go(request, f"{AREA}/found/{app.id}")
        except AppError as exc:
            errors = _errors(request, exc)
        member = await current_member(db_session, member_session)
        return Template(
            "m/_found_form.html",
            context=page_context(
                member_session,
                member,
                "found",
                values=values,
                errors=errors,
                summary=_summary(request, errors),
                action=f"{AREA}/found",
                **await _choices(db_session),
            ),
            status_code=422,
        )

    @get("/{founding_id:uuid}", media_type=MediaType.HTML)
    async def status(
        self,
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        founding_id: uuid.UUID,
    ) -> Template:
        return Template(
            "m/found_status.html",
            context=await _status_context(state, db_session, member_session, founding_id),
        )

    @post(
        "/{founding_id:uuid}/documents",
        status_code=200,
        media_type=MediaType.HTML,
        request_max_body_size=MAX_FORM_BYTES,
    )
    async def add_documents(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        founding_id: uuid.UUID,
    ) -> Response[Any]:
        app = await svc.applicant_application(db_session, member_session.phone_hash, founding_id)
        form = await request.form()
        files = [f for f in form.getall("file") if isinstance(f, UploadFile) and f.filename]
        actor = svc.applicant_actor(
            app.phone_hash, state.cipher.decrypt("phone", member_session.phone_enc)
        )
        error = None if files else pick(lang_of(request), "请选择文件", "Choose a file")
        try:
            async with db_session.begin_nested():  # all the files, or none
                for f in files:
                    doc = await add_document(
                        db_session,
                        state.settings,
                        app,
                        data=await f.read(),
                        filename=f.filename,
                        actor=actor.username,
                        now=utc_now(),
                    )
                    svc.audit(db_session, actor, "founding.document", app, sha256=doc.sha256)
        except AppError as exc:
            error = message(request, exc)
        if error is None:
            return go(request, f"{AREA}/found/{founding_id}")
        ctx = await _status_context(state, db_session, member_session, founding_id, doc_error=error)
        return Template("m/_found_documents.html", context=ctx, status_code=422)

    @post("/{founding_id:uuid}/resubmit", status_code=200, media_type=MediaType.HTML)
    async def resubmit(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        founding_id: uuid.UUID,
    ) -> Response[Any]:
        app = await svc.applicant_application(db_session, member_session.phone_hash, founding_id)
        form = await request.form()
        values = {k: str(v).strip() for k, v in form.items()}
        cipher: PiiCipher = state.cipher
        try:
            await svc.resubmit(
                db_session,
                cipher,
                app,
                phone=cipher.decrypt("phone", member_session.phone_enc),
                data=_input(values),
                min_founders=state.settings.founding_min_founders,
                note=values.get("note"),
                now=utc_now(),
            )
            return go(request, f"{AREA}/found/{founding_id}")
        except AppError as exc:
            errors = _errors(request, exc)
        member = await current_member(db_session, member_session)
        return Template(
            "m/_found_form.html",
            context=page_context(
                member_session,
                member,
                "found",
                values=values,
                errors=errors,
                summary=_summary(request, errors),
                action=f"{AREA}/found/{founding_id}/resubmit",
                resubmit=True,
                **await _choices(db_session),
            ),
            status_code=422,
        )


async def _status_context(
    state: State,
    db_session: AsyncSession,
    member_session: MemberSession,
    founding_id: uuid.UUID,
    doc_error: str | None = None,
) -> dict[str, Any]:
    app = await svc.applicant_application(db_session, member_session.phone_hash, founding_id)
    out = await founding_out(
        db_session, state.cipher, app, base_url=state.settings.public_url, staff_view=False
    )
    member = await current_member(db_session, member_session)
    return page_context(
        member_session,
        member,
        "found",
        d=out,
        statuses=STATUS_LABELS,
        step_labels=STEP_LABELS,
        is_open=app.status in (FoundingStatus.submitted, FoundingStatus.info_requested),
        asked=app.status == FoundingStatus.info_requested,
        doc_error=doc_error,
        values=_values_of(out),
        errors={},
        summary=[],
        action=f"{AREA}/found/{founding_id}/resubmit",
        resubmit=True,
        n_documents=len(await documents_of(db_session, app)),
        **await _choices(db_session),
    )
