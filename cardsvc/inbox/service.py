"""Notify members and staff (in-app rows, in the caller's transaction), read the inbox, and
deliver outbound copies through the pluggable sender after commit (``deliver_pending``)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.inbox.models import Notification
from cardsvc.kernel.permissions import PERMISSIONS, Perm
from cardsvc.kernel.pii import PiiCipher
from cardsvc.memberauth.senders import Sender
from cardsvc.members.models import Member
from cardsvc.staff.models import RoleGrant, StaffUser

logger = logging.getLogger("unioncard.inbox")
OUTBOUND_CHANNELS = frozenset({"sms", "wechat"})
MAX_SEND_ATTEMPTS = 5


def notify_member(
    session: AsyncSession,
    member_id: uuid.UUID,
    *,
    topic: str,
    title: str,
    title_en: str,
    body: str,
    subject: tuple[str, uuid.UUID] | None = None,
    outbound: str | None = None,
) -> Notification:
    """An inbox entry for a member; ``outbound`` (sms / wechat) also sends a copy."""
    n = Notification(
        member_id=member_id,
        topic=topic,
        title=title,
        title_en=title_en,
        body=body,
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        outbound=outbound if outbound in OUTBOUND_CHANNELS else None,
    )
    session.add(n)
    return n


async def notify_org_staff(
    session: AsyncSession,
    org_id: uuid.UUID,
    perm: Perm,
    *,
    topic: str,
    title: str,
    title_en: str,
    body: str,
    subject: tuple[str, uuid.UUID] | None = None,
) -> int:
    """An inbox entry for every active staff account holding ``perm`` granted on that very
    org (not its ancestors: they see the queue, but a province is not pinged per case)."""
    staff_ids = set(
        await session.scalars(
            select(RoleGrant.staff_id)
            .join(StaffUser, StaffUser.id == RoleGrant.staff_id)
            .where(
                RoleGrant.org_id == org_id,
                RoleGrant.role.in_(PERMISSIONS[perm]),
                StaffUser.active.is_(True),
            )
        )
    )
    for sid in staff_ids:
        session.add(
            Notification(
                staff_id=sid,
                topic=topic,
                title=title,
                title_en=title_en,
                body=body,
                subject_type=subject[0] if subject else None,
                subject_id=subject[1] if subject else None,
            )
        )
    return len(staff_ids)


async def inbox(
    session: AsyncSession,
    *,
    member_id: uuid.UUID | None = None,
    staff_id: uuid.UUID | None = None,
    unread: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Notification], int, int]:
    """(page, total, unread count) of one recipient's notifications, newest first."""
    owner = (
        Notification.member_id == member_id
        if member_id is not None
        else Notification.staff_id == staff_id
    )
    conds = [owner] + ([Notification.read_at.is_(None)] if unread else [])
    total = await session.scalar(select(func.count()).select_from(Notification).where(*conds))
    unread_n = await session.scalar(
        select(func.count()).select_from(Notification).where(owner, Notification.read_at.is_(None))
    )
    rows = await session.scalars(
        select(Notification)
        .where(*conds)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0), int(unread_n or 0)


async def mark_read(
    session: AsyncSession,
    now: datetime,
    *,
    member_id: uuid.UUID | None = None,
    staff_id: uuid.UUID | None = None,
    ids: list[uuid.UUID] | None = None,
) -> int:
    """Mark some (``ids``) or all of a recipient's notifications read; others' ids are ignored."""
    owner = (
        Notification.member_id == member_id
        if member_id is not None
        else Notification.staff_id == staff_id
    )
    stmt = update(Notification).where(owner, Notification.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(ids))
    result = await session.execute(
        stmt.values(read_at=now).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult


async def deliver_pending(
    session: AsyncSession, sender: Sender, cipher: PiiCipher, now: datetime, *, batch: int = 100
) -> int:
    """Send outbound copies not yet sent. Each row is claimed with a conditional update first,
    so two workers never send one message twice (a failed send is retried a few times)."""
    rows = (
        await session.execute(
            select(Notification.id, Notification.member_id, Notification.body, Notification.title)
            .where(
                Notification.outbound.is_not(None),
                Notification.sent_at.is_(None),
                Notification.send_attempts < MAX_SEND_ATTEMPTS,
            )
            .order_by(Notification.created_at)
            .limit(batch)
        )
    ).all()
    sent = 0
    for nid, member_id, body, title in rows:
        claimed = await session.execute(
            update(Notification)
            .where(Notification.id == nid, Notification.sent_at.is_(None))
            .values(sent_at=now, send_attempts=Notification.send_attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult
            continue
        phone_enc = await session.scalar(select(Member.phone_enc).where(Member.id == member_id))
        try:
            if not phone_enc:
                raise ValueError("no phone on file")
            await sender.send(cipher.decrypt("phone", phone_enc), f"【工会】{title}：{body}")
            sent += 1
        except Exception as exc:  # a gateway failure: try again on the next sweep
            logger.warning("notification %s not sent: %s", nid, exc)
            await session.execute(
                update(Notification)
                .where(Notification.id == nid)
                .values(sent_at=None, send_error=str(exc)[:255])
                .execution_options(synchronize_session=False)
            )
    return sent
