"""My membership: details, transfer to another union (转会), leaving, signing out."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import AppError
from cardsvc.kernel.principal import Principal
from cardsvc.memberauth.sessions import MemberSession
from cardsvc.members.models import Member, MemberStatus
from cardsvc.membership.schemas import transfers_out
from cardsvc.membership.service import leave, search_unions
from cardsvc.membership.transfers import request_transfer, transfers_for_member
from cardsvc.orgs.service import find_org
from cardsvc.pages.errors import page_exception_handlers
from cardsvc.pages.i18n import lang_of, pick
from cardsvc.pages.member.common import AREA, current_member, field_errors, go, page_context


async def _context(
    db_session: AsyncSession, member_session: MemberSession, member: Member, **extra: Any
) -> dict[str, Any]:
    union = await find_org(db_session, member.org_id)
    unions, _ = await search_unions(db_session, q=None, region=None, limit=20, offset=0)
    transfers = await transfers_out(db_session, await transfers_for_member(db_session, member.id))
    defaults: dict[str, Any] = {"transfer_errors": {}, "leave_errors": {}, "values": {}}
    return page_context(
        member_session,
        member,
        "account",
        union=union,
        unions=[u for u in unions if u.id != member.org_id],
        transfers=transfers,
        pending_transfer=any(t.status == "pending" for t in transfers),
        **(defaults | extra),
    )


class MemberAccountController(Controller):
    path = AREA
    include_in_schema = False
    exception_handlers = page_exception_handlers

    @get("/account", media_type=MediaType.HTML)
    async def account_page(self, db_session: AsyncSession, member_session: MemberSession) -> Any:
        member = await current_member(db_session, member_session)
        if member is None:
            return Redirect(AREA + "/")
        return Template(
            "m/account.html", context=await _context(db_session, member_session, member)
        )

    @post("/transfer", status_code=200, media_type=MediaType.HTML)
    async def transfer(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        member_session: MemberSession,
        me: Member,
    ) -> Response[Any]:
        form = await request.form()
        values = {k: str(form.get(k, "")).strip() for k in ("to_org_id", "note")}
        errors: dict[str, str] = {}
        try:
            to_org_id = uuid.UUID(values["to_org_id"])
        except ValueError:
            errors["to_org_id"] = pick(
                lang_of(request), "请选择要转入的工会", "Choose the union to move to"
            )
        if not errors:
            try:
                await request_transfer(db_session, me, to_org_id=to_org_id, note=values["note"])
                return go(request, AREA + "/account")
            except AppError as exc:
                errors = field_errors(request, exc)
        ctx = await _context(db_session, member_session, me, transfer_errors=errors, values=values)
        return Template("m/_transfer_form.html", context=ctx, status_code=422)

    @post("/leave", status_code=200, media_type=MediaType.HTML)
    async def leave(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        member_session: MemberSession,
        me: Member,
    ) -> Response[Any]:
        form = await request.form()
        reason = str(form.get("reason", "")).strip()[:255]
        if form.get("confirm") != "yes":
            ctx = await _context(
                db_session,
                member_session,
                me,
                leave_errors={
                    "confirm": pick(
                        lang_of(request),
                        "请勾选确认：离会后会员卡将注销",
                        "Tick to confirm: leaving revokes your card",
                    )
                },
                values={"reason": reason},
            )
            return Template("m/_leave_form.html", context=ctx, status_code=422)
        if me.status == MemberStatus.left:
            return go(request, AREA + "/account")
        # The same actor as POST /api/v1/me/leave: the member themself.
        actor = Principal(id=None, username=f"member:{me.member_no}", display_name=me.name)
        await leave(db_session, me, actor, reason=reason)
        return go(request, AREA + "/account")
