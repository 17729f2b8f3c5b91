"""What other packages may use of cardsvc, besides its kernel: card verification, member and
org facts, and acting as staff (the principal, its permissions and the audit record).

The merchant API reaches cardsvc only through this module and ``cardsvc.kernel``; the import
rules in ``pyproject.toml`` hold it to that.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.audit.service import record
from cardsvc.cards.errors import CardError, TokenError
from cardsvc.cards.keys import KeyRing
from cardsvc.cards.lookup import (
    CARD_BY_INDEX,
    CARD_COLUMN_COUNT,
    CARD_WITH_MEMBER,
    CARD_WITH_MEMBER_NAMED,
    MEMBER_FACTS,
)
from cardsvc.cards.service import VerifiedCard, verify_online_row
from cardsvc.members.models import MemberStatus
from cardsvc.orgs.models import Org, OrgStatus
from cardsvc.staff.permissions import Perm
from cardsvc.staff.principal import SYSTEM, Principal


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
    "SYSTEM",
    "CardError",
    "KeyRing",
    "MemberStatus",
    "Org",
    "OrgStatus",
    "Perm",
    "Principal",
    "TokenError",
    "VerifiedCard",
    "find_org",
    "find_org_by_code",
    "record",
    "verify_online_row",
]
