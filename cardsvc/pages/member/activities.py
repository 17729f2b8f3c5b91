"""Activities and training courses on the member's phone: what I may join, sign up, cancel,
and my certificate. The same functions as ``/api/v1/me/activities`` (cardsvc.activities)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.activities import service, signups
from cardsvc.activities.views import may_join_or_joined, my_activity
from cardsvc.kernel.clock import utc_now
from cardsvc.memberauth.sessions import MemberSession
from cardsvc.members.models import Member
from cardsvc.pages.errors import page_exception_handlers
from cardsvc.pages.member.common import AREA, current_member, go, page_context

SIGNUP_LABELS = {
    "signed": ("已报名", "Signed up", "ok"),
    "waitlisted": ("候补中", "On the waiting list", "warn"),
    "cancelled": ("已取消", "Cancelled", ""),
}
KIND_LABELS = {"activity": ("工会活动", "Activity"), "training": ("培训课程", "Training course")}


def _labels() -> dict[str, Any]:
    return {"signup_labels": SIGNUP_LABELS, "kind_labels": KIND_LABELS}


class MemberActivitiesController(Controller):
    path = AREA + "/activities"
    include_in_schema = False
    exception_handlers = page_exception_handlers

    @get("/", media_type=MediaType.HTML)
    async def list_page(
        self, state: State, db_session: AsyncSession, member_session: MemberSession
    ) -> Any:
        member = await current_member(db_session, member_session)
        if member is None:
            return Redirect(AREA + "/")
        now = utc_now()
        rows = await service.upcoming_for_member(db_session, member, now=now)
        mine = await signups.my_signups(db_session, member.id)
        items = [
            my_activity(a, member, mine.get(a.id), now, state.settings.time_zone) for a in rows
        ]
        return Template(
            "m/activities.html",
            context=page_context(
                member_session,
                member,
                "requests",
                items=[i for i in items if may_join_or_joined(i, now)],
                **_labels(),
            ),
        )

    @get("/{activity_id:uuid}", media_type=MediaType.HTML)
    async def detail_page(
        self,
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        activity_id: uuid.UUID,
    ) -> Any:
        member = await current_member(db_session, member_session)
        if member is None:
            return Redirect(AREA + "/")
        return await self._detail(state, db_session, member_session, member, activity_id)

    async def _detail(
        self,
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        member: Member,
        activity_id: uuid.UUID,
    ) -> Template:
        a = await service.member_activity(db_session, member, activity_id)
        s = await signups.my_signup(db_session, member.id, a.id)
        now = utc_now()
        return Template(
            "m/activity.html",
            context=page_context(
                member_session,
                member,
                "requests",
                d=my_activity(a, member, s, now, state.settings.time_zone),
                now=now,
                can_cancel=s is not None
                and (
                    s.status == "waitlisted" or (s.status == "signed" and now < a.cancel_deadline)
                ),
                **_labels(),
            ),
        )

    @post("/{activity_id:uuid}/signup", status_code=200, media_type=MediaType.HTML)
    async def sign_up(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        activity_id: uuid.UUID,
    ) -> Any:
        return await self._act(request, state, db_session, member_session, activity_id, True)

    @post("/{activity_id:uuid}/cancel", status_code=200, media_type=MediaType.HTML)
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        activity_id: uuid.UUID,
    ) -> Any:
        return await self._act(request, state, db_session, member_session, activity_id, False)

    async def _act(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        member_session: MemberSession,
        activity_id: uuid.UUID,
        join: bool,
    ) -> Any:
        member = await current_member(db_session, member_session)
        if member is None:
            return Redirect(AREA + "/")
        # A refusal (full, closed, not eligible…) is shown in the page's flash by the page
        # error handler, with its message in the member's language.
        if join:
            await signups.sign_up(
                db_session, member, activity_id, now=utc_now(), time_zone=state.settings.time_zone
            )
        else:
            await signups.cancel(db_session, member, activity_id, now=utc_now())
        return go(request, f"{AREA}/activities/{activity_id}")
