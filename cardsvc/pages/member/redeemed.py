"""The card page's 核销成功 notice: htmx asks every few seconds whether the member's card was
used at a till since a moment (the page's load, then the last notice)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.flows.member_savings import redeemed_since
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.replicas import reading
from cardsvc.members.models import Member
from cardsvc.pages.errors import page_exception_handlers
from cardsvc.pages.member.common import AREA

# How far back a notice may reach: a stale page reopened hours later shows nothing old.
MAX_AGE_SECONDS = 3600


class MemberRedeemedController(Controller):
    path = AREA
    include_in_schema = False
    exception_handlers = page_exception_handlers

    @get("/card/redeemed", media_type=MediaType.HTML)
    async def redeemed(
        self, state: State, db_session: AsyncSession, me: Member, since: str = ""
    ) -> Any:
        """The notice of the latest checkout after ``since``; 204 (htmx keeps waiting) if none."""
        now = utc_now()
        try:
            at = datetime.fromisoformat(since)
        except ValueError:
            at = now
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        at = max(min(at, now), datetime.fromtimestamp(now.timestamp() - MAX_AGE_SECONDS, UTC))
        async with reading(state, db_session, me.id) as db:  # the primary just after a checkout
            found = await redeemed_since(db, me, at)
        if found is None:
            return Response(content=b"", status_code=204, headers={"Cache-Control": "no-store"})
        return Template(
            "m/_redeemed.html", context={"redeemed": found}, headers={"Cache-Control": "no-store"}
        )
