"""Member search and detail: identity masked; full ID number only for roles that may unmask
(each reveal audited by ``reveal``, as in the API), and so is the exact look-up by ID number or
phone (a POST, rate-limited and audited by ``lookup_members``)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards import service as cards
from cardsvc.kernel.errors import ValidationError
from cardsvc.kernel.masking import mask_card_number
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.members.lookup import lookup_members
from cardsvc.members.models import Member, MemberStatus
from cardsvc.members.routes import lookup_limit, member_out, refuse_identity_params
from cardsvc.members.service import MemberQuery, get_member, reveal, search_members
from cardsvc.membership.history import member_events
from cardsvc.orgs.service import find_org, orgs_by_id, orgs_in_scope
from cardsvc.pages.console.common import ConsoleController, page, require

PAGE_SIZE = 50
STATUS_LABELS = {
    "pending": ("待审核", "Pending"),
    "active": ("正常", "Active"),
    "suspended": ("暂停", "Suspended"),
    "left": ("已离会", "Left"),
}
EVENT_LABELS = {
    "joined": ("入会", "Joined"),
    "transferred": ("转会", "Transferred"),
    "suspended": ("暂停", "Suspended"),
    "reactivated": ("恢复", "Reactivated"),
    "left": ("离会", "Left"),
}
# What the member page says after an action (``?done=``) on the member page.
DONE_MESSAGES = {
    "saved": ("会员信息已保存，修改原因已记入审计日志。", "Saved; the reason is in the audit log."),
    "suspended": ("会籍已暂停，会员卡同时暂停。", "Membership suspended, and the card with it."),
    "active": ("会籍已恢复，会员卡恢复使用。", "Membership reinstated; the card works again."),
    "reissued": ("已补发新卡，旧卡已作废。", "A new card was issued; the old one is revoked."),
}


class MemberPages(ConsoleController):
    path = "/console/members"

    @get("/")
    async def search(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        member_no: str | None = None,
        name: str | None = None,
        id_number: str | None = None,
        phone: str | None = None,
        org_id: str | None = None,
        status: str | None = None,
        category: str | None = None,
        offset: int = 0,
    ) -> Template:
        require(staff, Perm.member_read, "您的角色无权查看会员", "Your role may not view members")
        refuse_identity_params(staff, id_number, phone)
        try:
            org = uuid.UUID(org_id) if org_id else None
        except ValueError:
            raise ValidationError.field("org_id", "组织无效", "invalid org") from None
        q = MemberQuery(
            member_no=(member_no or "").strip() or None,
            name=(name or "").strip() or None,
            org_id=org,
            status=MemberStatus(status) if status in STATUS_LABELS else None,
            category=category or None,
            limit=PAGE_SIZE,
            offset=max(offset, 0),
        )
        rows, total = await search_members(db_session, staff, q)
        return await self._results(request, state, staff, db_session, rows, total, q.offset)

    @post("/lookup", status_code=200)
    async def lookup(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
    ) -> Template:
        form = await request.form()
        rows = await lookup_members(
            db_session,
            staff,
            state.cipher,
            id_number=str(form.get("id_number", "")) or None,
            phone=str(form.get("phone", "")) or None,
            limit=lookup_limit(state),
        )
        return await self._results(request, state, staff, db_session, rows, len(rows), 0)

    async def _results(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        rows: list[Member],
        total: int,
        offset: int,
    ) -> Template:
        orgs = await orgs_by_id(db_session, {m.org_id for m in rows})
        unions = await orgs_in_scope(db_session, staff, Perm.member_read)
        return await page(
            request,
            state,
            staff,
            "console/members.html",
            "members",
            items=[member_out(m, state.cipher, staff) for m in rows],
            orgs=orgs,
            unions=unions,
            total=total,
            offset=offset,
            limit=PAGE_SIZE,
            q=request.query_params,
            statuses=STATUS_LABELS,
            can_lookup=staff.can(Perm.member_unmask),
        )

    @get("/{member_id:uuid}")
    async def detail(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        member_id: uuid.UUID,
        done: str | None = None,
    ) -> Template:
        member = await get_member(db_session, staff, member_id)
        org = await find_org(db_session, member.org_id)
        member_cards = await cards.member_cards(db_session, member_id=member.id)
        events = await member_events(db_session, member.id)
        return await page(
            request,
            state,
            staff,
            "console/member.html",
            "members",
            m=member_out(member, state.cipher, staff),
            org=org,
            cards=member_cards,
            mask_card=mask_card_number,
            events=events,
            event_labels=EVENT_LABELS,
            statuses=STATUS_LABELS,
            can_unmask=staff.can(Perm.member_unmask, member.org_path),
            can_write=staff.can(Perm.member_write, member.org_path),
            done=DONE_MESSAGES.get(done or ""),
        )

    @post("/{member_id:uuid}/identity", status_code=200)
    async def identity(
        self, state: State, staff: Principal, db_session: AsyncSession, member_id: uuid.UUID
    ) -> Template:
        """The full ID number and phone, for roles that may unmask; the read is audited.

        A POST (so the CSRF token is checked) that writes the audit row of the reveal.
        """
        member = await get_member(db_session, staff, member_id)
        plain = reveal(db_session, staff, state.cipher, member)
        return Template("console/_identity.html", context={"plain": plain})
