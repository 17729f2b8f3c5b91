"""Online verification of a scanned token against the card's current state (merchant API)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards import token as tokens
from cardsvc.cards.errors import CardError, TokenError
from cardsvc.cards.keys import KeyRing
from cardsvc.cards.models import Card, CardStatus
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.db import asyncpg_sql


@dataclass(frozen=True, slots=True)
class VerifiedCard:
    card_id: uuid.UUID
    member_id: uuid.UUID
    card_number: str
    generation: int
    token_id: str
    kind: tokens.Kind
    expires_at: datetime
    claims: tokens.Claims


# Built once: verify_online runs on every scan and redemption.
VERIFY_CARD_COLUMNS = (Card.id, Card.member_id, Card.number, Card.generation, Card.status)


_VERIFY_CARD = select(*VERIFY_CARD_COLUMNS).where(Card.status_index == bindparam("idx"))


async def verify_online(
    session: AsyncSession,
    text: object,
    *,
    keyring: KeyRing,
    now: datetime | None = None,
    skew_seconds: int = tokens.DEFAULT_SKEW_SECONDS,
    accept_static: bool = True,
) -> VerifiedCard:
    """Decode and check a scanned token against the current card state.

    One signature verification with cached keys, then one indexed SELECT. Raises
    :class:`TokenError` (token codes) or :class:`CardError` (``card_revoked``,
    ``card_suspended``, ``static_token_refused``). Burning the token id for single use is
    the redemption's job (it is unique in the ledger).
    """
    card, _ = await verify_online_row(
        session,
        text,
        keyring=keyring,
        now=now,
        skew_seconds=skew_seconds,
        accept_static=accept_static,
        statement=_VERIFY_CARD,
    )
    return card


async def verify_online_row(
    session: AsyncSession,
    text: object,
    *,
    keyring: KeyRing,
    statement: Any,
    now: datetime | None = None,
    skew_seconds: int = tokens.DEFAULT_SKEW_SECONDS,
    accept_static: bool = True,
    pg: Any | None = None,
    params: Mapping[str, Any] | None = None,
) -> tuple[VerifiedCard, Any]:
    """:func:`verify_online` with the caller's SELECT, which starts with
    :data:`VERIFY_CARD_COLUMNS`, filters on ``Card.status_index == bindparam("idx")`` and may
    join more columns (e.g. the member's): the card and what else the caller needs in one
    round trip. Returns the card and the row. ``pg``, an asyncpg connection, runs the SELECT
    there instead (``cardsvc.kernel.db.driver_connection``). ``params``: values of the
    statement's other parameters, if it has any."""
    now = now or utc_now()
    keys = await keyring.verifying_keys(session)
    try:
        claims = tokens.decode(text, keys, now=now, skew_seconds=skew_seconds)
    except TokenError as exc:
        # A key made by another worker since our last refresh: reload once and retry.
        if exc.code != "unknown_key" or not await keyring.refresh_after_miss(session):
            raise
        keys = await keyring.verifying_keys(session)
        claims = tokens.decode(text, keys, now=now, skew_seconds=skew_seconds)
    values = {"idx": claims.card_index, **(params or {})}
    if pg is not None:
        sql, names = asyncpg_sql(statement)
        row = await pg.fetchrow(sql, *[values[n] for n in names])
    else:
        # Core on the session's connection: no ORM execution machinery on the hot path.
        conn = await session.connection()
        row = (await conn.execute(statement, values)).one_or_none()
    # A signed token for a row we do not have (or an older generation) is never accepted.
    if row is None or row[3] != claims.generation or row[4] == CardStatus.revoked:
        raise CardError("card_revoked")
    if row[4] == CardStatus.suspended:
        raise CardError("card_suspended")
    if claims.kind == tokens.Kind.static and not accept_static:
        raise CardError("static_token_refused")
    card = VerifiedCard(
        card_id=row[0],
        member_id=row[1],
        card_number=row[2],
        generation=row[3],
        token_id=claims.token_id,
        kind=claims.kind,
        expires_at=claims.expires_at,
        claims=claims,
    )
    return card, row


__all__: Sequence[str] = (
    "VERIFY_CARD_COLUMNS",
    "VerifiedCard",
    "verify_online",
    "verify_online_row",
)
