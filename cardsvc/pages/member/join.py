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
    search_unions,
    submit_application,
    withdraw_application,
)
from cardsvc.orgs.models import Org
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

# (value, 中文, English): the employment types of cardsvc.members.service.EMPLOYMENT_TYPES.
EMPLOYMENT = (
    ("employee", "单位职工", "Employee"),
    ("platform_worker", "新就业形态（骑手、网约车等）", "Platform worker (rider, driver…)"),
    ("flexible_worker", "灵活就业人员", "Flexible worker"),
    ("migrant_worker", "农民工", "Migrant worker"),
    ("retired", "退休职工", "Retired"),
)
FIELDS = ("name", "id_number", "employment_type", "employer", "job", "region_code", "org_id")


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
    return errors, org_id


async def _form_again(
    db_session: AsyncSession,
    member_session: MemberSession,
    values: dict[str, str],
    invite_token: str | None,
    consent: bool,
    errors: dict[str, str],
) -> Response[Any]:
    """The join form again, filled in, with the errors beside their fields (422)."""
    member = await current_member(db_session, member_session)
    inv = await _invite(db_session, invite_token)
    unions: list[Org] = []
    if inv is None:
        unions, _ = await search_unions(db_session, q=None, region=None, limit=20, offset=0)
    return Template(
        "m/_join_form.html",
        context=page_context(
            member_session,
            member,
            "join",
            invite=inv,
            unions=unions,
            values=values,
            errors=errors,
            consent=consent,
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
        q: str | None = None,
    ) -> Template:
        member = await current_member(db_session, member_session)
        inv = await _invite(db_session, invite)
        unions: list[Org] = []
        if inv is None:
            unions, _ = await search_unions(db_session, q=q, region=None, limit=20, offset=0)
        return Template(
            "m/join.html",
            context=page_context(
                member_session,
                member,
                "join",
                invite=inv,
                unions=unions,
                q=q or "",
                values={},
                errors={},
                **_choices(),
            ),
        )

    @get("/join/unions", media_type=MediaType.HTML)
    async def union_choices(
        self,
        db_session: AsyncSession,
        member_session: MemberSession,
        q: str | None = None,
        field: str = "org_id",
    ) -> Template:
        """The union list of the join and transfer forms, filtered as one types (htmx)."""
        unions, _ = await search_unions(db_session, q=q, region=None, limit=20, offset=0)
        return Template(
            "m/_unions.html",
            context={
                "unions": unions,
                "field": "to_org_id" if field == "to_org_id" else "org_id",
                "selected": "",
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
        values = {k: str(form.get(k, "")).strip() for k in FIELDS}
        invite_token = str(form.get("invite", "")).strip() or None
        consent = form.get("consent") == "yes"
        errors, org_id = _check_form(request, values, invite_token, consent)
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
                return go(request, AREA + "/status")
            except AppError as exc:
                errors.update(field_errors(request, exc))
                if exc.errors:  # the whole message too (e.g. "ask for a transfer instead")
                    errors.setdefault("_", message(request, exc))
        return await _form_again(db_session, member_session, values, invite_token, consent, errors)

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
    }
