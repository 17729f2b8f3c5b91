"""My membership: details; moving to another union (转会) and leaving, each on a page of its
own with a confirmation step; downloading my data; signing out."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.errors import AppError
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.web import client_ip
from cardsvc.memberauth.sessions import MemberSession
from cardsvc.members.models import Member, MemberStatus
from cardsvc.membership.schemas import transfers_out
from cardsvc.membership.service import leave
from cardsvc.membership.transfers import request_transfer, transfers_for_member
from cardsvc.orgs.service import find_org
from cardsvc.pages.errors import page_exception_handlers
from cardsvc.pages.i18n import lang_of, pick
from cardsvc.pages.member.common import AREA, current_member, field_errors, go, page_context
from cardsvc.pages.member.unions import picker_values, union_picker
from cardsvc.privacy.export import own_export
from cardsvc.privacy.parts import all_parts


async def _context(
    db_session: AsyncSession, member_session: MemberSession, member: Member, **extra: Any
) -> dict[str, Any]:
    union = await find_org(db_session, member.org_id)
    transfers = await transfers_out(db_session, await transfers_for_member(db_session, member.id))
    return page_context(
        member_session,
        member,
        "account",
        union=union,
        transfers=transfers,
        pending_transfer=any(t.status == "pending" for t in transfers),
        **extra,
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

    @get("/account/transfer", media_type=MediaType.HTML)
    async def transfer_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        member_session: MemberSession,
    ) -> Any:
        member = await current_member(db_session, member_session)
        if member is None or member.status != MemberStatus.active:
            return Redirect(AREA + "/account")
        picker = await union_picker(
            db_session,
            "to_org_id",
            picker_values(request.query_params, "to_org_id"),
            exclude=member.org_id,
        )
        ctx = await _context(
            db_session, member_session, member, picker=picker, errors={}, values={}
        )
        return Template("m/transfer.html", context=ctx)

    @post("/transfer", status_code=200, media_type=MediaType.HTML)
    async def transfer(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        member_session: MemberSession,
        me: Member,
    ) -> Response[Any]:
        """First the choice is shown back for confirmation; ``confirm=yes`` sends it."""
        form = await request.form()
        values = {k: str(form.get(k, "")).strip() for k in ("to_org_id", "note")}
        errors: dict[str, str] = {}
        to_org = None
        with contextlib.suppress(ValueError):
            to_org = await find_org(db_session, uuid.UUID(values["to_org_id"]))
        if to_org is None or to_org.id == me.org_id:
            errors["to_org_id"] = pick(
                lang_of(request), "请选择要转入的工会", "Choose the union to move to"
            )
        elif form.get("back") != "yes" and form.get("confirm") != "yes":
            ctx = await _context(db_session, member_session, me, to_org=to_org, values=values)
            return Template("m/_transfer_confirm.html", context=ctx)
        elif form.get("back") != "yes":
            try:
                await request_transfer(db_session, me, to_org_id=to_org.id, note=values["note"])
                return go(request, AREA + "/account")
            except AppError as exc:
                errors = field_errors(request, exc)
        picker = await union_picker(
            db_session, "to_org_id", picker_values(form, "to_org_id"), exclude=me.org_id
        )
        ctx = await _context(
            db_session, member_session, me, picker=picker, errors=errors, values=values
        )
        return Template("m/_transfer_form.html", context=ctx, status_code=422 if errors else 200)

    @get("/account/leave", media_type=MediaType.HTML)
    async def leave_page(self, db_session: AsyncSession, member_session: MemberSession) -> Any:
        member = await current_member(db_session, member_session)
        if member is None or member.status not in (MemberStatus.active, MemberStatus.suspended):
            return Redirect(AREA + "/account")
        ctx = await _context(db_session, member_session, member, leave_errors={}, values={})
        return Template("m/leave.html", context=ctx)

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

    @get("/account/data", media_type=MediaType.JSON)
    async def my_data(
        self, request: Request[Any, Any, Any], state: State, db_session: AsyncSession, me: Member
    ) -> Response[dict[str, Any]]:
        """Everything held about me, as the API's access export (audited the same way)."""
        doc = await own_export(
            db_session,
            state.cipher,
            me,
            all_parts(),
            ip=client_ip(request),
            request_id=request.scope.get("state", {}).get("request_id"),
        )
        return Response(
            doc,
            headers={
                "Content-Disposition": f'attachment; filename="member-{me.member_no}-data.json"',
                "Cache-Control": "no-store",
            },
        )
