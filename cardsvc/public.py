"""What other packages may use of cardsvc besides its kernel: card verification, member and
org facts, and the service requests' upload reading and checked file storage (store photos).

The merchant API reaches cardsvc only through this module and ``cardsvc.kernel``; the import
rules in ``pyproject.toml`` hold it to that.
"""

from __future__ import annotations

import uuid

from sqlalchemy import any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from cardsvc.cards import numeric as numeric_codes
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
from cardsvc.members.models import Member, MemberStatus
from cardsvc.orgs.models import Org, OrgStatus
from cardsvc.servicereq.attachments import AttachmentType, attachment_dir, sniff, store_bytes
from cardsvc.servicereq.uploads import UPLOAD_RESPONSES, read_one_file


async def find_org(session: AsyncSession, org_id: uuid.UUID) -> Org | None:
    return await session.get(Org, org_id)


async def find_org_by_code(session: AsyncSession, code: str) -> Org | None:
    return await session.scalar(select(Org).where(Org.code == code.strip().upper()))


async def erased_members(conn: AsyncConnection, member_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``member_ids`` are erased, read under a share lock on PostgreSQL: an erasure
    in progress (it locks the member row) is waited for, and none starts until the caller's
    transaction ends. For writers of rows about members that an erasure must not miss."""
    if not member_ids:
        return set()
    if conn.dialect.name == "postgresql":
        # One array parameter: an IN list would be a new prepared statement per list length.
        rows = await conn.execute(_ERASED_PG, {"ids": list(member_ids)})
    else:
        rows = await conn.execute(
            select(Member.id, Member.erased_at).where(Member.id.in_(member_ids))
        )
    return {mid for mid, erased_at in rows if erased_at is not None}


_ERASED_PG = (
    select(Member.id, Member.erased_at)
    .where(Member.id == any_(bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))))
    .with_for_update(read=True)
)


__all__ = [
    "CARD_BY_INDEX",
    "CARD_COLUMN_COUNT",
    "CARD_WITH_MEMBER",
    "CARD_WITH_MEMBER_NAMED",
    "MEMBER_FACTS",
    "UPLOAD_RESPONSES",
    "AttachmentType",
    "CardError",
    "KeyRing",
    "MemberStatus",
    "Org",
    "OrgStatus",
    "TokenError",
    "VerifiedCard",
    "attachment_dir",
    "erased_members",
    "find_org",
    "find_org_by_code",
    "numeric_codes",
    "read_one_file",
    "sniff",
    "store_bytes",
    "verify_online_row",
]
