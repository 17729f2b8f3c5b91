"""Card issuance and lifecycle: numbers, lookups, issuing, reissuing and state changes.

Functions take an ``AsyncSession`` and plain values and never commit: the caller (controller,
CLI, workflow) owns the transaction. Times are timezone-aware UTC; ``now`` defaults to the
current time and is a parameter so tests and batch jobs can pin it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum import luhn

from cardsvc.cards.errors import CardError
from cardsvc.cards.models import Card, CardEvent, CardEventKind, CardIndex, CardStatus
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.sequences import allocate
from cardsvc.members.models import Member, MemberStatus

CARD_NUMBER_PREFIX = "9"  # 1 + 14-digit sequence + Luhn check digit = 16 digits
CARD_NUMBER_SEQUENCE = "card_number"
STATUS_INDEX_SEQUENCE = "card_status_index"
MAX_STATUS_INDEX = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it, for the card history (staff user, the member, or the system)."""

    name: str
    id: uuid.UUID | None = None


SYSTEM = Actor("system")


# --- numbers --------------------------------------------------------------------------------


def card_number(sequence: int) -> str:
    body = f"{CARD_NUMBER_PREFIX}{sequence:014d}"
    if len(body) != 15:
        raise CardError("card_state_conflict", "Card number space exhausted")
    return body + luhn.calc_check_digit(body)


def is_valid_card_number(number: str) -> bool:
    return len(number) == 16 and number.isdigit() and luhn.is_valid(number)


# --- lookups --------------------------------------------------------------------------------


async def current_card(session: AsyncSession, *, member_id: uuid.UUID) -> Card | None:
    """The member's active or suspended card, if any."""
    return await session.scalar(
        select(Card).where(Card.member_id == member_id, Card.status != CardStatus.revoked)
    )


async def member_card(session: AsyncSession, *, member_id: uuid.UUID) -> Card:
    """The member's current card for the member's own views, or a clear error: ``card_revoked``
    when every card they had is revoked (left, or revoked by staff), else ``card_not_found``."""
    card = await current_card(session, member_id=member_id)
    if card is not None:
        return card
    had_one = await session.scalar(select(Card.id).where(Card.member_id == member_id).limit(1))
    raise CardError("card_revoked" if had_one is not None else "card_not_found")


async def card_by_id(session: AsyncSession, card_id: uuid.UUID) -> Card | None:
    """The card with this id, whoever's: the key is (id, member_id), id first, so the lookup
    uses it (``session.get`` would want the member too)."""
    return await session.scalar(select(Card).where(Card.id == card_id))


async def get_card(session: AsyncSession, *, card_id: uuid.UUID) -> Card:
    card = await card_by_id(session, card_id)
    if card is None:
        raise CardError("card_not_found")
    return card


async def get_card_by_number(session: AsyncSession, *, number: str) -> Card:
    card = await session.scalar(select(Card).where(Card.number == number.replace(" ", "")))
    if card is None:
        raise CardError("card_not_found")
    return card


async def card_history(session: AsyncSession, *, member_id: uuid.UUID) -> list[CardEvent]:
    """Every event of every card the member has had, oldest first."""
    rows = await session.scalars(
        select(CardEvent)
        .where(CardEvent.member_id == member_id)
        .order_by(CardEvent.at, CardEvent.id)
    )
    return list(rows.all())


async def member_cards(session: AsyncSession, *, member_id: uuid.UUID) -> list[Card]:
    rows = await session.scalars(
        select(Card).where(Card.member_id == member_id).order_by(Card.generation)
    )
    return list(rows.all())


# --- lifecycle ------------------------------------------------------------------------------


def _event(
    card: Card, kind: CardEventKind, actor: Actor, at: datetime, reason: str | None
) -> CardEvent:
    return CardEvent(
        card_id=card.id,
        member_id=card.member_id,
        kind=kind,
        generation=card.generation,
        reason=reason,
        actor_id=actor.id,
        actor_name=actor.name[:64],
        at=at,
    )


async def _new_card(
    session: AsyncSession,
    *,
    member_id: uuid.UUID,
    generation: int,
    previous_id: uuid.UUID | None,
    now: datetime,
) -> Card:
    index = (await allocate(session, STATUS_INDEX_SEQUENCE))[0] - 1  # first index is 0
    if index > MAX_STATUS_INDEX:
        raise CardError("card_state_conflict", "Status-list index space exhausted (u32)")
    number = card_number((await allocate(session, CARD_NUMBER_SEQUENCE))[0])
    card = Card(
        member_id=member_id,
        number=number,
        generation=generation,
        status=CardStatus.active,
        status_index=index,
        issued_at=now,
        previous_id=previous_id,
    )
    session.add(card)
    await session.flush()
    # The index's uniqueness across cards lives in card_index (docs/distribution.toml).
    session.add(CardIndex(status_index=index, member_id=member_id, card_id=card.id))
    return card


async def issue_card(
    session: AsyncSession,
    *,
    member_id: uuid.UUID,
    actor: Actor = SYSTEM,
    reason: str | None = None,
    now: datetime | None = None,
) -> Card:
    """Issue the first (or, after a revocation, a new) card to an active member.

    Raises ``member_not_found``, ``member_inactive`` or ``card_exists`` (use
    :func:`reissue_card` to replace a current card).
    """
    now = now or utc_now()
    member = await session.get(Member, member_id)
    if member is None:
        raise CardError("member_not_found")
    if member.status != MemberStatus.active:
        raise CardError("member_inactive")
    if await current_card(session, member_id=member_id) is not None:
        raise CardError("card_exists")
    last_generation = await session.scalar(
        select(func.max(Card.generation)).where(Card.member_id == member_id)
    )
    card = await _new_card(
        session,
        member_id=member_id,
        generation=(last_generation or 0) + 1,
        previous_id=None,
        now=now,
    )
    session.add(_event(card, CardEventKind.issued, actor, now, reason))
    await session.flush()
    return card


async def issue_cards_for_active_members(
    session: AsyncSession, *, actor: Actor = SYSTEM, now: datetime | None = None
) -> list[Card]:
    """Issue a card to every active member without a current card (demo seed, migrations)."""
    has_card = select(Card.member_id).where(Card.status != CardStatus.revoked)
    ids = await session.scalars(
        select(Member.id)
        .where(Member.status == MemberStatus.active, Member.id.not_in(has_card))
        .order_by(Member.member_no)
    )
    return [await issue_card(session, member_id=mid, actor=actor, now=now) for mid in ids.all()]


# (from states, to state, event) of each staff/member action on a card.
_TRANSITIONS: dict[CardEventKind, tuple[frozenset[CardStatus], CardStatus]] = {
    CardEventKind.suspended: (frozenset({CardStatus.active}), CardStatus.suspended),
    CardEventKind.resumed: (frozenset({CardStatus.suspended}), CardStatus.active),
    CardEventKind.revoked: (
        frozenset({CardStatus.active, CardStatus.suspended}),
        CardStatus.revoked,
    ),
}


def _transition(
    card: Card, event: CardEventKind, reason: str, actor: Actor, now: datetime
) -> CardEvent:
    allowed_from, to = _TRANSITIONS[event]
    if card.status not in allowed_from:
        raise CardError("card_state_conflict")
    card.status = to
    card.status_reason = reason[:255]
    card.status_changed_at = now
    return _event(card, event, actor, now, reason[:255])


async def _change(
    session: AsyncSession,
    card_id: uuid.UUID,
    event: CardEventKind,
    reason: str,
    actor: Actor,
    now: datetime | None,
) -> Card:
    card = await get_card(session, card_id=card_id)
    session.add(_transition(card, event, reason, actor, (now or utc_now())))
    await session.flush()
    return card


async def reissue_card(
    session: AsyncSession,
    *,
    member_id: uuid.UUID,
    reason: str,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> Card:
    """Replace the member's current card (lost phone, lost printed card).

    The old row is revoked (its status-list bit goes to 1, so its tokens fail offline too) and
    a new row with generation + 1, a new number and a new index is issued.
    """
    now = now or utc_now()
    old = await current_card(session, member_id=member_id)
    if old is None:
        raise CardError("card_not_found")
    member = await session.get(Member, member_id)
    if member is None or member.status != MemberStatus.active:
        raise CardError("member_inactive")
    session.add(_transition(old, CardEventKind.revoked, f"reissued: {reason}", actor, now))
    await session.flush()  # the old row leaves the one-current-card index before the insert
    card = await _new_card(
        session, member_id=member_id, generation=old.generation + 1, previous_id=old.id, now=now
    )
    session.add(_event(card, CardEventKind.reissued, actor, now, reason[:255]))
    await session.flush()
    return card


async def suspend_card(
    session: AsyncSession,
    *,
    card_id: uuid.UUID,
    reason: str,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> Card:
    """Active → suspended (挂失): tokens are refused online and the status bit is set."""
    return await _change(session, card_id, CardEventKind.suspended, reason, actor, now)


async def resume_card(
    session: AsyncSession,
    *,
    card_id: uuid.UUID,
    reason: str,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> Card:
    """Suspended → active: the same tokens work again."""
    return await _change(session, card_id, CardEventKind.resumed, reason, actor, now)


async def revoke_card(
    session: AsyncSession,
    *,
    card_id: uuid.UUID,
    reason: str,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> Card:
    """Active or suspended → revoked, for good."""
    return await _change(session, card_id, CardEventKind.revoked, reason, actor, now)


async def revoke_member_cards(
    session: AsyncSession,
    *,
    member_id: uuid.UUID,
    reason: str,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> Card | None:
    """Member left (or was expelled): revoke the current card if there is one."""
    card = await current_card(session, member_id=member_id)
    if card is None:
        return None
    return await revoke_card(session, card_id=card.id, reason=reason, actor=actor, now=now)


__all__: Sequence[str] = (
    "Actor",
    "card_history",
    "current_card",
    "get_card",
    "get_card_by_number",
    "issue_card",
    "issue_cards_for_active_members",
    "member_card",
    "member_cards",
    "reissue_card",
    "resume_card",
    "revoke_card",
    "revoke_member_cards",
    "suspend_card",
)
