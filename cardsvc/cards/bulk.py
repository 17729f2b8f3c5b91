"""Cards for many members at once (roster imports): two sequence round trips per batch.

``issue_card`` costs a few statements per member, which a 100,000-row import cannot afford;
this reserves the status-list indexes and card numbers in blocks and inserts in bulk.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from cardsvc.cards.models import Card, CardEvent, CardEventKind, CardIndex, CardStatus
from cardsvc.cards.service import (
    CARD_NUMBER_SEQUENCE,
    STATUS_INDEX_SEQUENCE,
    SYSTEM,
    Actor,
    card_number,
)
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.sequences import allocate
from cardsvc.members.models import Member, MemberStatus


async def issue_cards_for_members(
    session: AsyncSession,
    member_ids: Sequence[uuid.UUID],
    *,
    actor: Actor = SYSTEM,
    reason: str = "名册导入",
) -> int:
    """Issue a first card to each active member in ``member_ids`` that has no current card."""
    if not member_ids:
        return 0
    has_card = select(Card.member_id).where(
        Card.member_id.in_(member_ids), Card.status != CardStatus.revoked
    )
    rows = (
        await session.execute(
            select(Member.id)
            .where(
                Member.id.in_(member_ids),
                Member.status == MemberStatus.active,
                Member.id.not_in(has_card),
            )
            .order_by(Member.id)
        )
    ).all()
    todo = [r[0] for r in rows]
    if not todo:
        return 0
    last_gen = dict(
        (
            await session.execute(
                select(Card.member_id, func.max(Card.generation))
                .where(Card.member_id.in_(todo))
                .group_by(Card.member_id)
            )
        )
        .tuples()
        .all()
    )
    # The status list counts from 0; the sequence's first value is 1.
    indexes = await allocate(session, STATUS_INDEX_SEQUENCE, len(todo))
    numbers = await allocate(session, CARD_NUMBER_SEQUENCE, len(todo))
    now = utc_now()
    cards, events = [], []
    for member_id, index, seq in zip(todo, indexes, numbers, strict=True):
        card_id = uuid7()
        generation = (last_gen.get(member_id) or 0) + 1
        cards.append(
            {
                "id": card_id,
                "member_id": member_id,
                "number": card_number(seq),
                "generation": generation,
                "status": CardStatus.active,
                "status_index": index - 1,
                "issued_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
        events.append(
            {
                "id": uuid7(),
                "card_id": card_id,
                "member_id": member_id,
                "kind": CardEventKind.issued,
                "generation": generation,
                "reason": reason,
                "actor_id": actor.id,
                "actor_name": actor.name[:64],
                "at": now,
            }
        )
    await session.execute(insert(CardIndex), _index_rows(cards))
    await session.execute(insert(Card), cards)
    await session.execute(insert(CardEvent), events)
    return len(cards)


def _index_rows(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cards' status-list indexes, whose uniqueness across cards lives in card_index
    (docs/distribution.toml)."""
    return [
        {"status_index": c["status_index"], "member_id": c["member_id"], "card_id": c["id"]}
        for c in cards
    ]
