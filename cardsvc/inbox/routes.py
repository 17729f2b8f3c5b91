"""The in-app inbox of members (``/api/v1/me/inbox``) and staff (``/api/v1/inbox``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.inbox.models import Notification
from cardsvc.inbox.service import inbox, mark_read
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.pagination import Limit, Offset
from cardsvc.kernel.principal import Principal
from cardsvc.members.models import Member


class NotificationOut(msgspec.Struct):
    id: uuid.UUID
    topic: str
    title: str
    title_en: str
    body: str
    subject_type: str | None
    subject_id: uuid.UUID | None
    created_at: datetime
    read_at: datetime | None


class InboxPage(msgspec.Struct):
    items: list[NotificationOut]
    total: int
    unread: int
    limit: int
    offset: int


class ReadIn(msgspec.Struct):
    ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=200)] | None = None  # None: all


class ReadOut(msgspec.Struct):
    marked: int


def _out(n: Notification) -> NotificationOut:
    return NotificationOut(
        n.id,
        n.topic,
        n.title,
        n.title_en,
        n.body,
        n.subject_type,
        n.subject_id,
        n.created_at,
        n.read_at,
    )


class MyInboxController(Controller):
    path = "/api/v1/me/inbox"
    tags = ["member: service requests"]

    @get("/", summary="My notifications, newest first, with the unread count")
    async def list_inbox(
        self,
        db_session: AsyncSession,
        me: Member,
        unread: bool = False,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> InboxPage:
        rows, total, n_unread = await inbox(
            db_session, member_id=me.id, unread=unread, limit=limit, offset=offset
        )
        return InboxPage([_out(n) for n in rows], total, n_unread, limit, offset)

    @post("/read", summary="Mark notifications read (all without ids)", status_code=200)
    async def read(self, db_session: AsyncSession, me: Member, data: ReadIn) -> ReadOut:
        return ReadOut(await mark_read(db_session, utc_now(), member_id=me.id, ids=data.ids))


class StaffInboxController(Controller):
    path = "/api/v1/inbox"
    tags = ["staff: service requests"]
    security = [{"staffSession": []}]

    @get("/", summary="My notifications (new and escalated requests, hardship approvals…)")
    async def list_inbox(
        self,
        staff: Principal,
        db_session: AsyncSession,
        unread: bool = False,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> InboxPage:
        rows, total, n_unread = await inbox(
            db_session, staff_id=staff.id, unread=unread, limit=limit, offset=offset
        )
        return InboxPage([_out(n) for n in rows], total, n_unread, limit, offset)

    @post("/read", summary="Mark notifications read (all without ids)", status_code=200)
    async def read(self, staff: Principal, db_session: AsyncSession, data: ReadIn) -> ReadOut:
        return ReadOut(await mark_read(db_session, utc_now(), staff_id=staff.id, ids=data.ids))
