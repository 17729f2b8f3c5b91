"""What other packages may use of cardsvc besides its kernel: card verification and member and
org facts.

The merchant API reaches cardsvc only through this module and ``cardsvc.kernel``; the import
rules in ``pyproject.toml`` hold it to that.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards.errors import CardError, TokenError
from cardsvc.cards.keys import KeyRing
from cardsvc.cards.lookup import (
    CARD_BY_INDEX,
    CARD_COLUMN_COUNT,
    CARD_WITH_MEMBER,
    CARD_WITH_MEMBER_NAMED,
    MEMBER_FACTS,
)
from cardsvc.cards.online import VerifiedCard, verify_online_row
from cardsvc.members.models import MemberStatus
from cardsvc.orgs.models import Org, OrgStatus


async def find_org(session: AsyncSession, org_id: uuid.UUID) -> Org | None:
    return await session.get(Org, org_id)


async def find_org_by_code(session: AsyncSession, code: str) -> Org | None:
    return await session.scalar(select(Org).where(Org.code == code.strip().upper()))


__all__ = [
    "CARD_BY_INDEX",
    "CARD_COLUMN_COUNT",
    "CARD_WITH_MEMBER",
    "CARD_WITH_MEMBER_NAMED",
    "MEMBER_FACTS",
    "CardError",
    "KeyRing",
    "MemberStatus",
    "Org",
    "OrgStatus",
    "TokenError",
    "VerifiedCard",
    "find_org",
    "find_org_by_code",
    "verify_online_row",
]
