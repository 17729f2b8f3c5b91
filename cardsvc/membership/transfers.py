"""Transfers between unions: the member's request, the receiving union's decision and queue."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import Conflict, NotFound, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.members.models import Member, MemberStatus
from cardsvc.members.service import (
    assert_accepts_members,
)
from cardsvc.membership.lifecycle import add_event
from cardsvc.membership.models import RequestStatus, TransferRequest
from cardsvc.membership.service import decide_rejected, rejection_reason, require_pending
from cardsvc.orgs.models import Org


async def request_transfer(
    session: AsyncSession, member: Member, *, to_org_id: uuid.UUID, note: str | None
) -> TransferRequest:
    if member.status != MemberStatus.active:
        raise Conflict(
            "member_inactive", "只有正常状态的会员可以转会", "Only active members can transfer"
        )
    to_org = await session.get(Org, to_org_id)
    if to_org is None:
        raise NotFound("org_not_found", "未找到该工会", "Union not found")
    await assert_accepts_members(session, to_org)
    if to_org.id == member.org_id:
        raise ValidationError.field("to_org_id", "您已在该工会", "you already belong to this union")
    transfer = TransferRequest(
        member_id=member.id,
        from_org_id=member.org_id,
        from_org_path=member.org_path,
        to_org_id=to_org.id,
        to_org_path=to_org.path,
        status=RequestStatus.pending,
        note=(note or "").strip()[:255] or None,
        submitted_at=utc_now(),
    )
    session.add(transfer)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(
            "transfer_pending", "您已有待审核的转会申请", "A transfer request is already pending"
        ) from None
    return transfer


async def transfers_for_member(
    session: AsyncSession, member_id: uuid.UUID
) -> list[TransferRequest]:
    rows = await session.scalars(
        select(TransferRequest)
        .where(TransferRequest.member_id == member_id)
        .order_by(TransferRequest.submitted_at.desc())
    )
    return list(rows)


async def get_transfer(
    session: AsyncSession, viewer: Principal, transfer_id: uuid.UUID
) -> TransferRequest:
    """Visible to the receiving union (which decides) and to the one the member leaves."""
    t = await session.scalar(select(TransferRequest).where(TransferRequest.id == transfer_id))
    if t is None or not (
        viewer.can(Perm.member_write, t.to_org_path)
        or viewer.can(Perm.member_read, t.from_org_path)
    ):
        raise NotFound("transfer_not_found", "未找到该转会申请", "Transfer request not found")
    return t


async def approve_transfer(
    session: AsyncSession, actor: Principal, transfer_id: uuid.UUID
) -> Member:
    t = await get_transfer(session, actor, transfer_id)
    if not actor.can(Perm.member_write, t.to_org_path):
        raise NotFound("transfer_not_found", "未找到该转会申请", "Transfer request not found")
    require_pending(t.status)
    member = await session.get(Member, t.member_id)
    to_org = await session.get(Org, t.to_org_id)
    assert member is not None and to_org is not None
    if member.status != MemberStatus.active or member.org_id != t.from_org_id:
        raise Conflict(
            "member_changed",
            "会员状态已变化，该转会申请不再适用",
            "The member changed since the request",
        )
    await assert_accepts_members(session, to_org)
    # Member number, card and tenure (joined_on) are kept; only the union changes.
    member.org_id, member.org_path = to_org.id, to_org.path
    t.status, t.decided_at, t.decided_by = RequestStatus.approved, utc_now(), actor.username
    add_event(session, member, "transferred", actor, from_org_id=t.from_org_id, to_org_id=to_org.id)
    record(
        session,
        actor,
        "membership.transfer",
        target_type="member",
        target_id=member.id,
        org_path=t.to_org_path,
        summary={"from": str(t.from_org_id), "to": str(t.to_org_id)},
    )
    return member


async def reject_transfer(
    session: AsyncSession, actor: Principal, transfer_id: uuid.UUID, *, reason: str
) -> TransferRequest:
    reason = rejection_reason(reason)
    t = await get_transfer(session, actor, transfer_id)
    if not actor.can(Perm.member_write, t.to_org_path):
        raise NotFound("transfer_not_found", "未找到该转会申请", "Transfer request not found")
    decide_rejected(t, actor, reason)
    record(
        session,
        actor,
        "membership.transfer_reject",
        target_type="transfer_request",
        target_id=t.id,
        org_path=t.to_org_path,
        summary={"reason": t.reason},
    )
    return t


async def pending_transfers(
    session: AsyncSession,
    viewer: Principal,
    *,
    status: RequestStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[TransferRequest], int]:
    conds: list[Any] = [
        or_(
            viewer.scope_filter(TransferRequest.to_org_path, Perm.member_write),
            viewer.scope_filter(TransferRequest.from_org_path, Perm.member_read),
        )
    ]
    if status:
        conds.append(TransferRequest.status == status)
    total = (
        await session.execute(select(func.count()).select_from(TransferRequest).where(*conds))
    ).scalar_one()
    rows = await session.scalars(
        select(TransferRequest)
        .where(*conds)
        .order_by(TransferRequest.submitted_at)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total
