"""Staff card actions with their scope checks and audit rows, shared by the API and the console."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards import minting, service, summaries
from cardsvc.cards.errors import CardError
from cardsvc.cards.keys import KeyRing
from cardsvc.cards.models import Card
from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import Forbidden, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.settings import Settings
from cardsvc.members.models import Member
from cardsvc.members.service import get_member


async def card_member(
    session: AsyncSession, staff: Principal, member_id: uuid.UUID, *, write: bool
) -> Member:
    """404 outside the viewer's subtrees; 403 where they may look but not change."""
    member = await get_member(session, staff, member_id, Perm.member_read)
    if write and not staff.can(Perm.member_write, member.org_path):
        raise Forbidden(
            "forbidden",
            "您的角色无权管理该会员的会员卡",
            "Your role may not manage this member's card",
        )
    return member


async def card_of(session: AsyncSession, member: Member, card_id: uuid.UUID) -> Card:
    card = await session.get(Card, (card_id, member.id))
    if card is None:
        raise CardError("card_not_found")
    return card


def card_reason(text: str) -> str:
    reason = text.strip()
    if not reason:
        raise ValidationError.field("reason", "不能为空", "must not be blank")
    return reason


def staff_actor(staff: Principal) -> service.Actor:
    return service.Actor(staff.username, staff.id)


def audit_card(
    session: AsyncSession,
    staff: Principal,
    member: Member,
    card: Card,
    action: str,
    **summary: Any,
) -> None:
    record(
        session,
        staff,
        f"card.{action}",
        target_type="card",
        target_id=card.id,
        org_path=member.org_path,
        summary={"member_id": str(member.id), "generation": card.generation, **summary},
    )


def audit_static(
    session: AsyncSession,
    staff: Principal,
    member: Member,
    card: Card,
    action: str,
    t: minting.MintedToken,
) -> None:
    audit_card(
        session,
        staff,
        member,
        card,
        action,
        token_id=t.token_id,
        expires_at=t.expires_at.isoformat(),
    )


async def reissue_for_staff(
    session: AsyncSession, staff: Principal, member_id: uuid.UUID, reason: str
) -> Card:
    """A lost phone or card: a new generation, the old card revoked; audited."""
    member = await card_member(session, staff, member_id, write=True)
    reason = card_reason(reason)
    old = await service.current_card(session, member_id=member.id)
    card = await service.reissue_card(
        session, member_id=member.id, reason=reason, actor=staff_actor(staff)
    )
    audit_card(
        session,
        staff,
        member,
        card,
        "reissue",
        reason=reason,
        previous_id=str(old.id) if old else None,
    )
    return card


async def print_for_staff(
    session: AsyncSession,
    staff: Principal,
    member_id: uuid.UUID,
    card_id: uuid.UUID,
    *,
    keyring: KeyRing,
    settings: Settings,
) -> summaries.PrintableCard:
    """The printable card image with a new static token; audited."""
    member = await card_member(session, staff, member_id, write=True)
    card = await card_of(session, member, card_id)
    printed = await summaries.printable_card(
        session,
        card_id=card.id,
        keyring=keyring,
        validity_days=settings.card_static_validity_days,
        font_path=settings.cjk_font,
    )
    audit_static(session, staff, member, card, "print", printed.token)
    return printed
