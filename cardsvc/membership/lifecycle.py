"""What follows a membership status change: the card follows the member."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards import service as cards
from cardsvc.cards.models import CardStatus
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.principal import Principal
from cardsvc.members.models import Member, MemberStatus
from cardsvc.membership.models import MembershipEvent


def card_actor(actor: Principal) -> cards.Actor:
    return cards.Actor(actor.username, actor.id)


def add_event(
    session: AsyncSession,
    member: Member,
    kind: str,
    actor: Principal,
    *,
    reason: str | None = None,
    from_org_id: uuid.UUID | None = None,
    to_org_id: uuid.UUID | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    session.add(
        MembershipEvent(
            member_id=member.id,
            kind=kind,
            at=utc_now(),
            from_org_id=from_org_id,
            to_org_id=to_org_id,
            actor=actor.username,
            reason=reason,
            detail=detail or {},
        )
    )


async def after_status_change(
    session: AsyncSession,
    member: Member,
    before: MemberStatus | None,
    actor: Principal,
    reason: str | None = None,
) -> None:
    """Issue, suspend, resume or revoke the member's card to match the new status."""
    who = card_actor(actor)
    after = member.status
    if after == MemberStatus.active:
        card = await cards.current_card(session, member_id=member.id)
        if card is None:
            await cards.issue_card(session, member_id=member.id, actor=who, reason=reason)
        elif card.status == CardStatus.suspended:
            await cards.resume_card(
                session, card_id=card.id, actor=who, reason=reason or "会员恢复"
            )
    elif after == MemberStatus.suspended:
        card = await cards.current_card(session, member_id=member.id)
        if card is not None and card.status == CardStatus.active:
            await cards.suspend_card(
                session, card_id=card.id, actor=who, reason=reason or "会员暂停"
            )
    elif after == MemberStatus.left:
        await cards.revoke_member_cards(
            session, member_id=member.id, actor=who, reason=reason or "会员离会"
        )
    if before != after:
        kind = {
            MemberStatus.active: "joined"
            if before in (None, MemberStatus.pending, MemberStatus.left)
            else "resumed",
            MemberStatus.suspended: "suspended",
            MemberStatus.left: "left",
            MemberStatus.pending: "applied",
        }[after]
        add_event(session, member, kind, actor, reason=reason, to_org_id=member.org_id)
