"""Demo step: the signing key, a card for every active demo member, and a sample in demo.json.

Idempotent: the key is created only if none is active, cards only for active members without
a current card (members registered active already got theirs through the membership
workflow). ``demo["cards"]`` lists ~20 cards with the member's phone, so that scripts can sign
in as that member (``POST /api/v1/me/otp``) and fetch the card's QR.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards.keys import ensure_signing_key
from cardsvc.cards.models import Card, CardStatus
from cardsvc.cards.published import STATUS_LIST_PATH
from cardsvc.cards.service import Actor, issue_cards_for_active_members
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.settings import Settings
from cardsvc.members.models import Member, MemberStatus
from cardsvc.members.service import PHONE_FIELD

DEMO_CARD_SAMPLE = 20


async def seed_cards(
    session: AsyncSession, settings: Settings, demo: dict[str, Any]
) -> dict[str, Any]:
    cipher = PiiCipher.from_settings(settings)
    key = await ensure_signing_key(session, cipher)
    issued = await issue_cards_for_active_members(session, actor=Actor("demo"))
    rows = await session.execute(
        select(Card.number, Member.member_no, Member.phone_enc)
        .join(Member, Member.id == Card.member_id)
        .where(Card.status == CardStatus.active, Member.status == MemberStatus.active)
        .order_by(Member.member_no)
        .limit(DEMO_CARD_SAMPLE)
    )
    demo["cards"] = [
        {
            "number": number,
            "member_no": member_no,
            "phone": cipher.decrypt(PHONE_FIELD, phone_enc) if phone_enc else None,
        }
        for number, member_no, phone_enc in rows
    ]
    demo["card_verification"] = {
        "jwks": settings.public_url.rstrip("/") + "/.well-known/jwks.json",
        "revocations": settings.public_url.rstrip("/") + STATUS_LIST_PATH,
    }
    return {"cards": len(issued), "signing_key": key.kid}
