"""Who hears that an import made members active. Each callback runs inside the batch's
transaction (and must not commit), so what it does commits exactly with the activation.

The card service is always listening: every activated member gets a card. Tests append
their own callbacks to observe or to stall a batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards.bulk import issue_cards_for_members

MembersActivated = Callable[[AsyncSession, list[uuid.UUID]], Awaitable[object]]


async def _issue_cards(session: AsyncSession, member_ids: list[uuid.UUID]) -> None:
    await issue_cards_for_members(session, member_ids)


on_members_activated: list[MembersActivated] = [_issue_cards]


async def members_activated(session: AsyncSession, member_ids: list[uuid.UUID]) -> None:
    if member_ids:
        for callback in list(on_members_activated):
            await callback(session, member_ids)
