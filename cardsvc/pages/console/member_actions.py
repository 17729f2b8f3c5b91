"""What staff do on a member's page: edit the details with a reason, suspend or reinstate the
membership, reissue the card after a lost phone, and print the card. Each calls the API's own
domain function, so scope and audit rows are the same as through the API."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards import manage
from cardsvc.kernel.errors import AppError, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.members.models import CATEGORY_LABELS_ZH, Category, MemberStatus
from cardsvc.members.routes import member_out
from cardsvc.members.service import (
    MemberUpdate,
    change_status,
    get_member,
    update_member,
)
from cardsvc.pages.console.common import ConsoleController, field_errors, message_of, page
from cardsvc.pages.i18n import lang_of, pick

EDIT_FIELDS = ("name", "employment_type", "employer", "job", "region_code")
CATEGORY_LABELS_EN = {
    Category.model_worker: "Model worker",
    Category.hardship: "Hardship",
    Category.migrant_worker: "Migrant worker",
    Category.flexible_worker: "Flexible worker",
    Category.retired: "Retired",
}
EMPLOYMENT_LABELS = {
    "employee": ("职工", "Employee"),
    "flexible_worker": ("灵活就业", "Flexible worker"),
    "platform_worker": ("新就业形态", "Platform worker"),
    "migrant_worker": ("农民工", "Migrant worker"),
    "retired": ("退休", "Retired"),
}
# Staff set these; hardship follows an approved hardship record only.
EDITABLE_CATEGORIES = {
    c.value: (CATEGORY_LABELS_ZH[c], CATEGORY_LABELS_EN[c])
    for c in Category
    if c.value != "hardship"
}


def _back(member_id: uuid.UUID, done: str) -> Response[str]:
    return Response("", headers={"HX-Redirect": f"/console/members/{member_id}?done={done}"})


def _form_error(request: Request[Any, Any, Any], exc: ValidationError) -> Template:
    """The reason a small action form was refused, under its field (not the field's name)."""
    errors = field_errors(exc, request)
    text = next(iter(errors.values()), None) or message_of(exc, request)
    return Template("console/_form_error.html", context={"message": text}, status_code=422)


def _reason(text: str) -> str:
    reason = text.strip()
    if not reason:
        raise ValidationError.field("reason", "请填写修改原因", "a reason is required")
    return reason[:255]


class MemberActionPages(ConsoleController):
    path = "/console/members/{member_id:uuid}"

    @get("/edit")
    async def edit_form(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        member_id: uuid.UUID,
    ) -> Template:
        member = await get_member(db_session, staff, member_id, Perm.member_write)
        m = member_out(member, state.cipher, staff)
        values: dict[str, Any] = {f: getattr(m, f) or "" for f in EDIT_FIELDS}
        values["categories"] = [c for c in m.categories if c != "hardship"]
        return await self._form(request, state, staff, m, values, {})

    async def _form(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        m: Any,
        values: dict[str, Any],
        errors: dict[str, str],
        message: str | None = None,
        status_code: int = 200,
    ) -> Template:
        resp = await page(
            request,
            state,
            staff,
            "console/member_edit.html",
            "members",
            m=m,
            values=values,
            errors=errors,
            message=message,
            employment=EMPLOYMENT_LABELS,
            categories=EDITABLE_CATEGORIES,
        )
        resp.status_code = status_code
        return resp

    @post("/edit", status_code=200)
    async def edit(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        member_id: uuid.UUID,
    ) -> Response[Any]:
        form = await request.form()
        values: dict[str, Any] = {f: str(form.get(f, "")).strip() for f in (*EDIT_FIELDS, "phone")}
        values["categories"] = [str(c) for c in form.getall("categories", [])]
        values["reason"] = str(form.get("reason", ""))
        member = await get_member(db_session, staff, member_id, Perm.member_write)
        kept = [c for c in (member.categories or []) if c == "hardship"]
        given: dict[str, Any] = {f: values[f] or None for f in EDIT_FIELDS}
        given["categories"] = values["categories"] + kept
        if values["phone"]:  # blank keeps the number on file (only its mask is shown)
            given["phone"] = values["phone"]
        try:
            upd = MemberUpdate(
                **given, reason=_reason(values["reason"]), fields_set=frozenset(given)
            )
            await update_member(db_session, staff, state.cipher, member_id, upd)
        except AppError as exc:
            await db_session.rollback()
            member = await get_member(db_session, staff, member_id, Perm.member_write)
            m = member_out(member, state.cipher, staff)
            return await self._form(
                request,
                state,
                staff,
                m,
                values,
                field_errors(exc, request),
                _summary(exc, request),
                status_code=422,
            )
        return _back(member_id, "saved")

    @post("/status", status_code=200)
    async def status(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff: Principal,
        member_id: uuid.UUID,
    ) -> Response[Any]:
        """Suspend (reason required) or reinstate; the card follows the membership."""
        await get_member(db_session, staff, member_id, Perm.member_write)  # 404 before the form
        form = await request.form()
        wanted = str(form.get("status", ""))
        if wanted not in (MemberStatus.suspended.value, MemberStatus.active.value):
            raise ValidationError.field("status", "未知操作", "unknown action")
        try:
            await change_status(
                db_session,
                staff,
                member_id,
                status=MemberStatus(wanted),
                reason=str(form.get("reason", "")) or None,
            )
        except ValidationError as exc:
            return _form_error(request, exc)
        return _back(member_id, wanted)

    @post("/reissue", status_code=200)
    async def reissue(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        member_id: uuid.UUID,
    ) -> Response[Any]:
        """A lost phone: a new card, the old one revoked (its codes stop working offline too)."""
        form = await request.form()
        reason = str(form.get("reason", ""))
        try:
            await manage.reissue_for_staff(db_session, staff, member_id, reason)
        except ValidationError as exc:
            return _form_error(request, exc)
        await db_session.commit()
        state.published.invalidate()
        return _back(member_id, "reissued")

    @post("/cards/{card_id:uuid}/printable", status_code=200)
    async def printable(
        self,
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        member_id: uuid.UUID,
        card_id: uuid.UUID,
    ) -> Template:
        """The printed card (the API's image, a new static code; audited) shown to print."""
        printed = await manage.print_for_staff(
            db_session,
            staff,
            member_id,
            card_id,
            keyring=state.keyring,
            settings=state.settings,
        )
        return Template(
            "console/_printable_card.html",
            context={
                "png": base64.b64encode(printed.png).decode(),
                "number": printed.card_number,
                "expires_at": printed.token.expires_at,
            },
        )


def _summary(exc: AppError, request: Request[Any, Any, Any]) -> str:
    """The line above the form: a field's own message sits under that field instead."""
    if exc.errors:
        return pick(lang_of(request), "请修正标出的字段。", "Please fix the marked fields.")
    return message_of(exc, request)
