"""Card summaries: the plain-data view of a card and the printable card image."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards.keys import KeyRing
from cardsvc.cards.minting import STATIC_VALIDITY_DAYS, MintedToken, static_token_for_card
from cardsvc.cards.models import Card
from cardsvc.cards.service import get_card
from cardsvc.kernel.masking import mask_card_number
from cardsvc.members.models import Member


@dataclass(frozen=True, slots=True)
class PrintableCard:
    png: bytes
    token: MintedToken
    card_number: str


async def printable_card(
    session: AsyncSession,
    *,
    card_id: uuid.UUID,
    keyring: KeyRing,
    now: datetime | None = None,
    validity_days: int = STATIC_VALIDITY_DAYS,
    font_path: str | None = None,
) -> PrintableCard:
    """Staff: a fresh static token and the card image (union name, masked name, number, QR).

    The image is drawn in a worker thread (CPU-bound, ~30 ms). Raises ``cjk_font_missing`` if no font covers the text.
    """
    from cardsvc.cards import render  # Pillow/qrcode only where images are made
    from cardsvc.orgs.models import Org

    token = await static_token_for_card(
        session, card_id=card_id, keyring=keyring, now=now, validity_days=validity_days
    )
    card = await get_card(session, card_id=card_id)
    row = (
        await session.execute(
            select(Member.name, Org.name)
            .join(Org, Org.id == Member.org_id)
            .where(Member.id == card.member_id)
        )
    ).one()
    # CPU-bound (~30 ms): off the event loop, so other requests keep being served meanwhile.
    png = await asyncio.to_thread(
        render.card_png,
        union_name=row[1],
        member_name=row[0],
        card_number=card.number,
        token_text=token.text,
        font_path=font_path,
    )
    return PrintableCard(png=png, token=token, card_number=card.number)


def card_summary(card: Card) -> dict[str, object]:
    """Plain-data view for ``GET /api/v1/me/card`` and staff pages."""
    return {
        "id": str(card.id),
        "number": card.number,
        "number_masked": mask_card_number(card.number),
        "generation": card.generation,
        "status": str(card.status),
        "issued_at": card.issued_at.isoformat(),
        "status_reason": card.status_reason,
    }


__all__: Sequence[str] = (
    "PrintableCard",
    "card_summary",
    "printable_card",
)
