"""What a terminal reads about a scanned card: the card (for verification) and its member's
facts, in one round trip. The column order is the contract: the card's columns
(``VERIFY_CARD_COLUMNS``), then :data:`MEMBER_FACT_COLUMNS`, then (named) name and union name.
Also the card number and holder's name of cards already redeemed at a shop (its ledger).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards.models import Card
from cardsvc.cards.online import VERIFY_CARD_COLUMNS
from cardsvc.members.models import Member
from cardsvc.orgs.models import Org

MEMBER_FACT_COLUMNS = (
    Member.status,
    Member.org_path,
    Member.categories,
    Member.hardship_level,
    Member.joined_on,
    Member.birth_date,
    Member.region_code,
)
CARD_COLUMN_COUNT = len(VERIFY_CARD_COLUMNS)

CARD_BY_INDEX = select(*VERIFY_CARD_COLUMNS).where(Card.status_index == bindparam("idx"))
MEMBER_FACTS = select(*MEMBER_FACT_COLUMNS).where(Member.id == bindparam("mid"))
# Outer joins, so that a card without its member reads as an inactive member, as a second query
# would.
CARD_WITH_MEMBER = (
    select(*VERIFY_CARD_COLUMNS, *MEMBER_FACT_COLUMNS)
    .outerjoin(Member, Member.id == Card.member_id)
    .where(Card.status_index == bindparam("idx"))
)
CARD_WITH_MEMBER_NAMED = (
    select(*VERIFY_CARD_COLUMNS, *MEMBER_FACT_COLUMNS, Member.name, Org.name)
    .outerjoin(Member, Member.id == Card.member_id)
    .outerjoin(Org, Org.id == Member.org_id)
    .where(Card.status_index == bindparam("idx"))
)


async def card_holders(
    session: AsyncSession, card_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    """Card number and member name by card id (unmasked: the caller masks what it shows)."""
    if not card_ids:
        return {}
    rows = await session.execute(
        select(Card.id, Card.number, Member.name)
        .join(Member, Member.id == Card.member_id)
        .where(Card.id.in_(list(card_ids)))
    )
    return {cid: (number, name) for cid, number, name in rows}
