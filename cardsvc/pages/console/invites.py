"""Invite links of a union: create, list and revoke them, each with an A4 poster to print
(the link's QR code, the union's name and how to join)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards.render import PRINT_ECC, qr_svg
from cardsvc.kernel.errors import AppError, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.membership.invites import create_invite, get_invite, list_invites, revoke_invite
from cardsvc.membership.schemas import invite_out
from cardsvc.orgs.models import OrgLevel, OrgStatus
from cardsvc.orgs.service import orgs_in_scope
from cardsvc.pages.console.common import (
    ConsoleController,
    as_uuid,
    field_errors,
    message_of,
    page,
    require,
)
from cardsvc.pages.i18n import lang_of, pick


def _days(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValidationError.field("valid_days", "请填写天数", "a number of days")
    return int(text)


class InvitePages(ConsoleController):
    path = "/console/invites"

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        org_id: str | None = None,
    ) -> Template:
        return await self._index(request, state, staff, db_session, as_uuid(org_id, "org_id"))

    async def _index(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        org_id: uuid.UUID | None,
        status_code: int = 200,
        **extra: Any,
    ) -> Template:
        require(
            staff, Perm.member_write, "您的角色无权管理邀请链接", "Your role may not manage invites"
        )
        unions = [
            o
            for o in await orgs_in_scope(db_session, staff, Perm.member_write)
            if o.level == OrgLevel.grassroots and o.status == OrgStatus.active
        ]
        if org_id is None and len(unions) == 1:
            org_id = unions[0].id
        union = next((o for o in unions if o.id == org_id), None)
        invites = await list_invites(db_session, staff, org_id) if org_id else []
        resp = await page(
            request,
            state,
            staff,
            "console/invites.html",
            "invites",
            unions=unions,
            union=union,
            invites=[invite_out(i, state.settings.public_url) for i in invites],
            **({"values": {}, "errors": {}} | extra),
        )
        resp.status_code = status_code
        return resp

    @post("/", status_code=200)
    async def create(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
    ) -> Response[Any]:
        form = await request.form()
        values = {k: str(form.get(k, "")).strip() for k in ("org_id", "label", "valid_days")}
        org_id = as_uuid(values["org_id"], "org_id")
        try:
            if org_id is None:
                raise ValidationError.field("org_id", "请选择工会", "choose a union")
            await create_invite(
                db_session,
                staff,
                org_id=org_id,
                label=values["label"],
                valid_days=_days(values["valid_days"]),
            )
        except AppError as exc:
            await db_session.rollback()
            return await self._index(
                request,
                state,
                staff,
                db_session,
                org_id,
                status_code=422,
                values=values,
                errors=field_errors(exc, request),
                message=_summary(exc, request),
            )
        return Response("", headers={"HX-Redirect": f"/console/invites?org_id={org_id}"})

    @post("/{invite_id:uuid}/revoke", status_code=200)
    async def revoke(
        self, staff: Principal, db_session: AsyncSession, invite_id: uuid.UUID
    ) -> Response[str]:
        invite = await revoke_invite(db_session, staff, invite_id)
        return Response("", headers={"HX-Redirect": f"/console/invites?org_id={invite.org_id}"})

    @get("/{invite_id:uuid}/poster")
    async def poster(
        self, state: State, staff: Principal, db_session: AsyncSession, invite_id: uuid.UUID
    ) -> Template:
        """The A4 poster: printed and put up where workers pass (canteen, depot, site office)."""
        invite, org = await get_invite(db_session, staff, invite_id)
        url = invite_out(invite, state.settings.public_url).url
        return Template(
            "console/invite_poster.html",
            context={
                "org": org,
                "invite": invite,
                "url": url,
                # Our own SVG (numbers and a path), safe to put in the page as is.
                "qr": Markup(qr_svg(url, ecc=PRINT_ECC, border=2)),
            },
        )


def _summary(exc: AppError, request: Request[Any, Any, Any]) -> str:
    """The line above the form: a field's own message sits under that field instead."""
    if exc.errors:
        return pick(lang_of(request), "请修正标出的字段。", "Please fix the marked fields.")
    return message_of(exc, request)
