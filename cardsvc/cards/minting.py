"""Token minting (rotating phone codes, the static printed code) and the signed status list.

Like :mod:`cardsvc.cards.service`, functions take an ``AsyncSession`` and never commit.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards import statuslist
from cardsvc.cards import token as tokens
from cardsvc.cards.errors import CardError
from cardsvc.cards.keys import KeyRing, Signer
from cardsvc.cards.models import Card, CardStatus
from cardsvc.cards.service import card_by_id, member_card
from cardsvc.kernel.clock import utc_now

ROTATING_VALIDITY_SECONDS = 60


ROTATING_REFRESH_SECONDS = 30


MAX_BATCH = 240  # two hours of 30-second codes


STATIC_VALIDITY_DAYS = 3 * 365


@dataclass(frozen=True, slots=True)
class MintedToken:
    text: str
    token_id: str
    kind: tokens.Kind
    not_before: datetime
    expires_at: datetime
    # Rotating tokens: when the phone should show the next one.
    refresh_at: datetime | None


def mint_token(
    card: Card,
    signer: Signer,
    *,
    kind: tokens.Kind,
    not_before: datetime,
    validity: timedelta,
    refresh: timedelta | None = None,
) -> MintedToken:
    """Sign one token for ``card`` (pure: no I/O; the card's state is the caller's check)."""
    nbf = int(not_before.timestamp())
    exp = nbf + max(1, int(validity.total_seconds()))
    claims = tokens.Claims(
        kid=signer.kid,
        kind=kind,
        card_index=card.status_index,
        nonce=os.urandom(tokens.NONCE_LEN),
        generation=card.generation,
        not_before=nbf,
        expires=exp,
    )
    return MintedToken(
        text=signer.sign_token(claims),
        token_id=claims.token_id,
        kind=kind,
        not_before=claims.not_before_at,
        expires_at=claims.expires_at,
        refresh_at=claims.not_before_at + refresh if refresh else None,
    )


def mint_rotating_batch(
    card: Card,
    signer: Signer,
    *,
    now: datetime,
    count: int = 1,
    validity_seconds: int = ROTATING_VALIDITY_SECONDS,
    refresh_seconds: int = ROTATING_REFRESH_SECONDS,
) -> list[MintedToken]:
    """``count`` rotating tokens: token i is valid from now + i·refresh for ``validity``.

    The phone shows token i until its ``refresh_at`` and then the next one, so it keeps a
    valid code for count × refresh seconds without network.
    """
    if not 1 <= count <= MAX_BATCH:
        raise ValueError(f"count must be 1..{MAX_BATCH}")
    if not 0 < refresh_seconds <= validity_seconds:
        raise ValueError("refresh must be positive and at most the validity")
    step = timedelta(seconds=refresh_seconds)
    return [
        mint_token(
            card,
            signer,
            kind=tokens.Kind.rotating,
            not_before=now + i * step,
            validity=timedelta(seconds=validity_seconds),
            refresh=step,
        )
        for i in range(count)
    ]


def _require_usable(card: Card | None) -> Card:
    if card is None:
        raise CardError("card_not_found")
    if card.status == CardStatus.suspended:
        raise CardError("card_suspended")
    if card.status == CardStatus.revoked:
        raise CardError("card_revoked")
    return card


async def rotating_tokens_for_member(
    session: AsyncSession,
    *,
    member_id: uuid.UUID,
    keyring: KeyRing,
    count: int = 1,
    now: datetime | None = None,
    validity_seconds: int = ROTATING_VALIDITY_SECONDS,
    refresh_seconds: int = ROTATING_REFRESH_SECONDS,
) -> list[MintedToken]:
    """For ``GET /api/v1/me/card/token``: fresh rotating token(s) for the member's card.

    Raises ``card_suspended``, ``card_revoked`` (no current card, an earlier one revoked) or
    ``card_not_found``.
    """
    card = _require_usable(await member_card(session, member_id=member_id))
    signer = await keyring.signer(session)
    return mint_rotating_batch(
        card,
        signer,
        now=(now or utc_now()),
        count=count,
        validity_seconds=validity_seconds,
        refresh_seconds=refresh_seconds,
    )


async def rotating_token_for_card(
    session: AsyncSession,
    *,
    card_id: uuid.UUID,
    keyring: KeyRing,
    now: datetime | None = None,
    validity_seconds: int = ROTATING_VALIDITY_SECONDS,
    refresh_seconds: int = ROTATING_REFRESH_SECONDS,
) -> MintedToken:
    """One rotating token for a given card (operations: ``unioncard card token``)."""
    card = _require_usable(await card_by_id(session, card_id))
    signer = await keyring.signer(session)
    [token] = mint_rotating_batch(
        card,
        signer,
        now=(now or utc_now()),
        validity_seconds=validity_seconds,
        refresh_seconds=refresh_seconds,
    )
    return token


async def static_token_for_card(
    session: AsyncSession,
    *,
    card_id: uuid.UUID,
    keyring: KeyRing,
    now: datetime | None = None,
    validity_days: int = STATIC_VALIDITY_DAYS,
) -> MintedToken:
    """The long-lived token printed on a card (revocable through the status list)."""
    card = _require_usable(await card_by_id(session, card_id))
    signer = await keyring.signer(session)
    return mint_token(
        card,
        signer,
        kind=tokens.Kind.static,
        not_before=(now or utc_now()),
        validity=timedelta(days=validity_days),
    )


async def build_status_list(
    session: AsyncSession,
    *,
    keyring: KeyRing,
    now: datetime | None = None,
    ttl_seconds: int = 300,
    valid_for_seconds: int = 86400,
    subject: str | None = None,
) -> str:
    """The signed status list (JWT) for ``GET /api/v1/cards/revocations``.

    Bit = 1 for every card row that is not active: revoked, suspended, replaced.
    """
    last = await session.scalar(select(func.max(Card.status_index)))
    rows = await session.scalars(select(Card.status_index).where(Card.status != CardStatus.active))
    bitmap = statuslist.build_bitmap(rows.all(), 0 if last is None else last + 1)
    signer = await keyring.signer(session)
    return statuslist.sign_status_list(
        bitmap,
        kid=signer.kid,
        private_key=signer.private_key,
        issued_at=int((now or utc_now()).timestamp()),
        ttl=ttl_seconds,
        valid_for=valid_for_seconds,
        subject=subject,
    )


__all__: Sequence[str] = (
    "MintedToken",
    "build_status_list",
    "mint_rotating_batch",
    "mint_token",
    "rotating_token_for_card",
    "rotating_tokens_for_member",
    "static_token_for_card",
)
