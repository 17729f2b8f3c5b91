"""Joining (网上入会): the invite link, finding a union, the application form and its status."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import AppError
from cardsvc.kernel.pii import PiiCipher
from cardsvc.memberauth.consent import record_consent
from cardsvc.memberauth.sessions import MemberSession
from cardsvc.members.identity import parse_resident_id, validate_name
from cardsvc.members.models import MemberStatus
from cardsvc.membership.invites import resolve_invite
from cardsvc.membership.routes import apply_throttle
from cardsvc.membership.schemas import applications_out
from cardsvc.membership.service import (
    PRIVACY_VERSION,
    ApplicationInput,
    applications_for_phone,
    submit_application,
    withdraw_application,
)
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
from cardsvc.pages.member.terms import JOIN_TERMS, PRIVACY
from cardsvc.pages.member.unions import LEVELS, Picker, picker_values, union_picker

# (value, 中文, English): the employment types of cardsvc.members.service.EMPLOYMENT_TYPES.
EMPLOYMENT = (
    ("employee", "单位职工", "Employee"),
    ("platform_worker", "新就业形态（骑手、网约车等）", "Platform worker (rider, driver…)"),
    ("flexible_worker", "灵活就业人员", "Flexible worker"),
    ("migrant_worker", "农民工", "Migrant worker"),
    ("retired", "退休职工", "Retired"),
)
FIELDS = ("name", "id_number", "employment_type", "employer", "job", "region_code", "org_id")
# The form's fields in page order, as the error summary names them: (中文, English).
LABELS = {
    "org_id": ("工会", "Union"),
    "name": ("姓名", "Full name"),
    "id_number": ("身份证号码", "Resident ID number"),
    "employment_type": ("就业形态", "Employment"),
    "employer": ("工作单位或平台", "Employer or platform"),
    "job": ("岗位", "Job"),
    "region_code": ("所在地区", "Region"),
    "privacy_version": ("隐私政策", "Privacy notice"),
    "consent": ("隐私政策", "Privacy notice"),
    "join_terms": ("入会须知", "Before you join"),
}


async def _invite(db_session: AsyncSession, token: str | None) -> dict[str, Any] | None:
    """The union behind an invite token, or None; an invalid token raises (shown as a page)."""
    if not token:
        return None
    invite, org = await resolve_invite(db_session, token)
    return {"token": token, "org": org, "label": invite.label}


def _check_form(
    request: Request[Any, Any, Any],
    values: dict[str, str],
    invite_token: str | None,
    consent: bool,
    join_terms: bool,
) -> tuple[dict[str, str], uuid.UUID | None]:
    """Every field checked at once, so that each error shows beside its field; the errors and
    the chosen union."""
    errors: dict[str, str] = {}

    def check(fn: Callable[[], Any]) -> None:
        try:
            fn()
        except AppError as exc:
            errors.update(field_errors(request, exc))

    check(lambda: validate_name(values["name"]))
    check(lambda: parse_resident_id(values["id_number"]))
    lang = lang_of(request)
    if not invite_token and not values["org_id"]:
        errors["org_id"] = pick(lang, "请选择要加入的工会", "Choose a union to join")
    org_id: uuid.UUID | None = None
    if values["org_id"]:
        try:
            org_id = uuid.UUID(values["org_id"])
        except ValueError:
            errors["org_id"] = pick(lang, "请选择要加入的工会", "Choose a union to join")
    if not consent:
        errors["consent"] = pick(
            lang, "请阅读并同意隐私政策", "Please read and accept the privacy notice"
        )
    if not join_terms:
        errors["join_terms"] = pick(
            lang, "请阅读并同意入会须知", "Please read and accept what joining means"
        )
    return errors, org_id


def error_summary(
    request: Request[Any, Any, Any], errors: dict[str, str]
) -> list[tuple[str, str, str]]:
    """(element to focus, label, message) in page order; a form-wide message last."""
    lang = lang_of(request)
    out = [(_target(f), pick(lang, *LABELS[f]), errors[f]) for f in LABELS if errors.get(f)]
    out += [("", "", msg) for f, msg in errors.items() if f not in LABELS]
    return out


def _target(field: str) -> str:
    return {"org_id": "f-org_id-q", "privacy_version": "f-consent"}.get(field, f"f-{field}")


async def _form_again(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    member_session: MemberSession,
    form: dict[str, str],
    errors: dict[str, str],
) -> Response[Any]:
    """The join form again as it was sent, search and region included, with an error summary
    at the top and each error beside its field (422)."""
    member = await current_member(db_session, member_session)
    inv = await _invite(db_session, form.get("invite") or None)
    picker = await union_picker(db_session, "org_id", form) if inv is None else None
    return Template(
        "m/_join_form.html",
        context=page_context(
            member_session,
            member,
            "join",
            invite=inv,
            picker=picker,
            values=form,
            errors=errors,
            summary=error_summary(request, errors),
            consent=form.get("consent") == "yes",
            join_terms=form.get("join_terms") == "yes",
            **_choices(),
        ),
        status_code=422,
    )


class MemberJoinController(Controller):
    path = AREA
    include_in_schema = False
    exception_handlers = page_exception_handlers

    @get("/", media_type=MediaType.HTML)
    async def index(self, db_session: AsyncSession, member_session: MemberSession) -> Redirect:
        """Members go to their card; applicants to their application or the join form."""
        member = await current_member(db_session, member_session)
        if member is not None and member.status != MemberStatus.left:
            return Redirect(AREA + "/card")
        if await applications_for_phone(db_session, member_session.phone_hash):
            return Redirect(AREA + "/status")
        return Redirect(AREA + "/join")

    @get("/join", media_type=MediaType.HTML)
    async def join_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        member_session: MemberSession,
        invite: str | None = None,
    ) -> Template:
        member = await current_member(db_session, member_session)
        inv = await _invite(db_session, invite)
        picker = None
        if inv is None:
            picker = await union_picker(
                db_session, "org_id", picker_values(request.query_params, "org_id")
            )
        return Template(
            "m/join.html",
            context=page_context(
                member_session,
                member,
                "join",
                invite=inv,
                picker=picker,
                values={},
                errors={},
                summary=[],
                **_choices(),
            ),
        )

    @get("/join/unions", media_type=MediaType.HTML)
    async def union_choices(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        member_session: MemberSession,
        field: str = "org_id",
    ) -> Template:
        """The picker's answer to a change (htmx): the matching unions, and the region selects
        below the one that changed."""
        name = "to_org_id" if field == "to_org_id" else "org_id"
        exclude = None
        if name == "to_org_id" and (member := await current_member(db_session, member_session)):
            exclude = member.org_id
        picker: Picker = await union_picker(
            db_session, name, picker_values(request.query_params, name), exclude=exclude
        )
        changed = request.headers.get("hx-trigger-name", "")
        return Template(
            "m/_union_results.html",
            context={
                "picker": picker,
                "changed_level": LEVELS.index(changed) if changed in LEVELS else len(LEVELS),
            },
        )

    @post("/join", status_code=200, media_type=MediaType.HTML)
    async def apply(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
    ) -> Response[Any]:
        form = await request.form()
        sent = {k: str(v).strip() for k, v in form.items()}
        values = {k: sent.get(k, "") for k in FIELDS}
        invite_token = sent.get("invite") or None
        consent = sent.get("consent") == "yes"
        join_terms = sent.get("join_terms") == "yes"
        errors, org_id = _check_form(request, values, invite_token, consent, join_terms)
        if not errors:
            cipher: PiiCipher = state.cipher
            try:
                await submit_application(
                    db_session,
                    cipher,
                    phone=cipher.decrypt("phone", member_session.phone_enc),
                    throttle=apply_throttle(request, state),
                    data=ApplicationInput(
                        name=values["name"],
                        id_number=values["id_number"],
                        org_id=None if invite_token else org_id,
                        invite_token=invite_token,
                        employment_type=values["employment_type"] or None,
                        employer=values["employer"] or None,
                        job=values["job"] or None,
                        region_code=values["region_code"] or None,
                        privacy_version=str(form.get("privacy_version", "")),
                        consent=consent,
                    ),
                )
                await record_consent(
                    db_session,
                    member_session.phone_hash,
                    {PRIVACY.key: PRIVACY.version, JOIN_TERMS.key: JOIN_TERMS.version},
                )
                return go(request, AREA + "/status")
            except AppError as exc:
                errors.update(field_errors(request, exc))
                if exc.errors:  # the whole message too (e.g. "ask for a transfer instead")
                    errors.setdefault("_", message(request, exc))
        return await _form_again(request, db_session, member_session, sent, errors)

    @get("/status", media_type=MediaType.HTML)
    async def status_page(
        self, state: State, db_session: AsyncSession, member_session: MemberSession
    ) -> Template:
        member = await current_member(db_session, member_session)
        apps = await applications_for_phone(db_session, member_session.phone_hash)
        rows = await applications_out(db_session, state.cipher, apps)
        return Template(
            "m/status.html",
            context=page_context(member_session, member, "status", applications=rows),
        )

    @post("/applications/{app_id:uuid}/withdraw", status_code=200, media_type=MediaType.HTML)
    async def withdraw(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        member_session: MemberSession,
        app_id: uuid.UUID,
    ) -> Response[Any]:
        await withdraw_application(db_session, member_session.phone_hash, app_id)
        return go(request, AREA + "/status")


def _choices() -> dict[str, Any]:
    return {
        "employment": EMPLOYMENT,
        "privacy_version": PRIVACY_VERSION,
        "documents": {"privacy": PRIVACY, "join_terms": JOIN_TERMS},
    }
