"""Invite links to join a union: resolving, creating, listing and revoking them."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import AppError, NotFound, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.members.service import (
    assert_accepts_members,
)
from cardsvc.membership.models import InviteLink
from cardsvc.orgs.models import Org


async def resolve_invite(session: AsyncSession, token: str) -> tuple[InviteLink, Org]:
    invite = await session.scalar(select(InviteLink).where(InviteLink.token == token))
    if invite is None or invite.revoked_at is not None:
        raise NotFound("invite_not_found", "邀请链接无效或已撤销", "Invite link invalid or revoked")
    if invite.expires_at is not None and invite.expires_at <= utc_now():
        raise AppError("invite_expired", "邀请链接已过期", "Invite link expired", status=410)
    org = await session.get(Org, invite.org_id)
    assert org is not None
    return invite, org


async def create_invite(
    session: AsyncSession,
    actor: Principal,
    *,
    org_id: uuid.UUID,
    label: str | None,
    valid_days: int | None,
) -> InviteLink:
    org = await session.get(Org, org_id)
    if org is None or not actor.can(Perm.member_write, org.path):
        raise NotFound("org_not_found", "未找到该组织", "Org not found")
    await assert_accepts_members(session, org)
    if valid_days is not None and not 1 <= valid_days <= 3650:
        raise ValidationError.field(
            "valid_days", "有效期应为 1–3650 天", "valid_days must be 1–3650"
        )
    invite = InviteLink(
        org_id=org.id,
        token=secrets.token_urlsafe(12),
        label=(label or "").strip()[:64] or None,
        created_by=actor.username,
        expires_at=utc_now() + timedelta(days=valid_days) if valid_days else None,
    )
    session.add(invite)
    await session.flush()
    record(
        session,
        actor,
        "invite.create",
        target_type="invite",
        target_id=invite.id,
        org_path=org.path,
        summary={"label": invite.label, "expires_at": str(invite.expires_at)},
    )
    return invite


async def list_invites(
    session: AsyncSession, viewer: Principal, org_id: uuid.UUID
) -> list[InviteLink]:
    org = await session.get(Org, org_id)
    if org is None or not viewer.can(Perm.member_write, org.path):
        raise NotFound("org_not_found", "未找到该组织", "Org not found")
    rows = await session.scalars(
        select(InviteLink).where(InviteLink.org_id == org.id).order_by(InviteLink.created_at.desc())
    )
    return list(rows)


async def get_invite(
    session: AsyncSession, viewer: Principal, invite_id: uuid.UUID
) -> tuple[InviteLink, Org]:
    """One invite link and its union, for anyone who sees the union (404 outside)."""
    invite = await session.get(InviteLink, invite_id)
    org = await session.get(Org, invite.org_id) if invite else None
    if invite is None or org is None or not viewer.sees(org.path):
        raise NotFound("invite_not_found", "未找到该邀请链接", "Invite link not found")
    return invite, org


async def revoke_invite(
    session: AsyncSession, actor: Principal, invite_id: uuid.UUID
) -> InviteLink:
    invite = await session.get(InviteLink, invite_id)
    org = await session.get(Org, invite.org_id) if invite else None
    if invite is None or org is None or not actor.can(Perm.member_write, org.path):
        raise NotFound("invite_not_found", "未找到该邀请链接", "Invite link not found")
    if invite.revoked_at is None:
        invite.revoked_at = utc_now()
        record(
            session,
            actor,
            "invite.revoke",
            target_type="invite",
            target_id=invite.id,
            org_path=org.path,
        )
    return invite
