"""Card issuance and lifecycle, token minting, published material and online verification.

Functions take an ``AsyncSession`` and plain values and never commit: the caller (controller,
CLI, workflow) owns the transaction. Times are timezone-aware UTC; ``now`` defaults to the
current time and is a parameter so tests and batch jobs can pin it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum import luhn

from cardsvc.cards import statuslist
from cardsvc.cards import token as tokens
from cardsvc.cards.errors import CardError, TokenError
from cardsvc.cards.keys import KeyRing, Signer
from cardsvc.cards.models import Card, CardEvent, CardEventKind, CardStatus
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.db import asyncpg_sql
from cardsvc.kernel.masking import mask_card_number
from cardsvc.kernel.sequences import allocate
from cardsvc.members.models import Member, MemberStatus

ROTATING_VALIDITY_SECONDS = 60
ROTATING_REFRESH_SECONDS = 30
MAX_BATCH = 240  # two hours of 30-second codes
STATIC_VALIDITY_DAYS = 3 * 365
CARD_NUMBER_PREFIX = "9"  # 1 + 14-digit sequence + Luhn check digit = 16 digits
CARD_NUMBER_SEQUENCE = "card_number"
STATUS_INDEX_SEQUENCE = "card_status_index"
MAX_STATUS_INDEX = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it, for the card history (staff user, the member, or the system)."""

    name: str
    id: uuid.UUID | None = None


SYSTEM = Actor("system")


# --- numbers --------------------------------------------------------------------------------


def card_number(sequence: int) -> str:
    body = f"{CARD_NUMBER_PREFIX}{sequence:014d}"
    if len(body) != 15:
        raise CardError("card_state_conflict", "Card number space exhausted")
    return body + luhn.calc_check_digit(body)


def is_valid_card_number(number: str) -> bool:
    return len(number) == 16 and number.isdigit() and luhn.is_valid(number)


# --- lookups --------------------------------------------------------------------------------


async def current_card(session: AsyncSession, *, member_id: uuid.UUID) -> Card | None:
    """The member's active or suspended card, if any."""
    return await session.scalar(
        select(Card).where(Card.member_id == member_id, Card.status != CardStatus.revoked)
    )


async def member_card(session: AsyncSession, *, member_id: uuid.UUID) -> Card:
    """The member's current card for the member's own views, or a clear error: ``card_revoked``
    when every card they had is revoked (left, or revoked by staff), else ``card_not_found``."""
    card = await current_card(session, member_id=member_id)
    if card is not None:
        return card
    had_one = await session.scalar(select(Card.id).where(Card.member_id == member_id).limit(1))
    raise CardError("card_revoked" if had_one is not None else "card_not_found")


async def get_card(session: AsyncSession, *, card_id: uuid.UUID) -> Card:
    card = await session.get(Card, card_id)
    if card is None:
        raise CardError("card_not_found")
    return card


async def get_card_by_number(session: AsyncSession, *, number: str) -> Card:
    card = await session.scalar(select(Card).where(Card.number == number.replace(" ", "")))
    if card is None:
        raise CardError("card_not_found")
    return card


async def card_history(session: AsyncSession, *, member_id: uuid.UUID) -> list[CardEvent]:
    """Every event of every card the member has had, oldest first."""
    rows = await session.scalars(
        select(CardEvent)
        .where(CardEvent.member_id == member_id)
        .order_by(CardEvent.at, CardEvent.id)
    )
    return list(rows.all())


async def member_cards(session: AsyncSession, *, member_id: uuid.UUID) -> list[Card]:
    rows = await session.scalars(
        select(Card).where(Card.member_id == member_id).order_by(Card.generation)
    )
    return list(rows.all())


# --- lifecycle ------------------------------------------------------------------------------


def _event(
    card: Card, kind: CardEventKind, actor: Actor, at: datetime, reason: str | None
) -> CardEvent:
    return CardEvent(
        card_id=card.id,
        member_id=card.member_id,
        kind=kind,
        generation=card.generation,
        reason=reason,
        actor_id=actor.id,
        actor_name=actor.name[:64],
        at=at,
    )


async def _new_card(
    session: AsyncSession,
    *,
    member_id: uuid.UUID,
    generation: int,
    previous_id: uuid.UUID | None,
    now: datetime,
) -> Card:
    index = (await allocate(session, STATUS_INDEX_SEQUENCE))[0] - 1  # first index is 0
    if index > MAX_STATUS_INDEX:
        raise CardError("card_state_conflict", "Status-list index space exhausted (u32)")
    number = card_number((await allocate(session, CARD_NUMBER_SEQUENCE))[0])
    card = Card(
        member_id=member_id,
        number=number,
        generation=generation,
        status=CardStatus.active,
        status_index=index,
        issued_at=now,
        previous_id=previous_id,
    )
    session.add(card)
    await session.flush()
    return card


async def issue_card(
    session: AsyncSession,
    *,
    member_id: uuid.UUID,
    actor: Actor = SYSTEM,
    reason: str | None = None,
    now: datetime | None = None,
) -> Card:
    """Issue the first (or, after a revocation, a new) card to an active member.

    Raises ``member_not_found``, ``member_inactive`` or ``card_exists`` (use
    :func:`reissue_card` to replace a current card).
    """
    now = now or utc_now()
    member = await session.get(Member, member_id)
    if member is None:
        raise CardError("member_not_found")
    if member.status != MemberStatus.active:
        raise CardError("member_inactive")
    if await current_card(session, member_id=member_id) is not None:
        raise CardError("card_exists")
    last_generation = await session.scalar(
        select(func.max(Card.generation)).where(Card.member_id == member_id)
    )
    card = await _new_card(
        session,
        member_id=member_id,
        generation=(last_generation or 0) + 1,
        previous_id=None,
        now=now,
    )
    session.add(_event(card, CardEventKind.issued, actor, now, reason))
    await session.flush()
    return card


async def issue_cards_for_active_members(
    session: AsyncSession, *, actor: Actor = SYSTEM, now: datetime | None = None
) -> list[Card]:
    """Issue a card to every active member without a current card (demo seed, migrations)."""
    has_card = select(Card.member_id).where(Card.status != CardStatus.revoked)
    ids = await session.scalars(
        select(Member.id)
        .where(Member.status == MemberStatus.active, Member.id.not_in(has_card))
        .order_by(Member.member_no)
    )
    return [await issue_card(session, member_id=mid, actor=actor, now=now) for mid in ids.all()]


# (from states, to state, event) of each staff/member action on a card.
_TRANSITIONS: dict[CardEventKind, tuple[frozenset[CardStatus], CardStatus]] = {
    CardEventKind.suspended: (frozenset({CardStatus.active}), CardStatus.suspended),
    CardEventKind.resumed: (frozenset({CardStatus.suspended}), CardStatus.active),
    CardEventKind.revoked: (
        frozenset({CardStatus.active, CardStatus.suspended}),
        CardStatus.revoked,
    ),
}


def _transition(
    card: Card, event: CardEventKind, reason: str, actor: Actor, now: datetime
) -> CardEvent:
    allowed_from, to = _TRANSITIONS[event]
    if card.status not in allowed_from:
        raise CardError("card_state_conflict")
    card.status = to
    card.status_reason = reason[:255]
    card.status_changed_at = now
    return _event(card, event, actor, now, reason[:255])


async def _change(
    session: AsyncSession,
    card_id: uuid.UUID,
    event: CardEventKind,
    reason: str,
    actor: Actor,
    now: datetime | None,
) -> Card:
    card = await get_card(session, card_id=card_id)
    session.add(_transition(card, event, reason, actor, (now or utc_now())))
    await session.flush()
    return card


async def reissue_card(
    session: AsyncSession,
    *,
    member_id: uuid.UUID,
    reason: str,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> Card:
    """Replace the member's current card (lost phone, lost printed card).

    The old row is revoked (its status-list bit goes to 1, so its tokens fail offline too) and
    a new row with generation + 1, a new number and a new index is issued.
    """
    now = now or utc_now()
    old = await current_card(session, member_id=member_id)
    if old is None:
        raise CardError("card_not_found")
    member = await session.get(Member, member_id)
    if member is None or member.status != MemberStatus.active:
        raise CardError("member_inactive")
    session.add(_transition(old, CardEventKind.revoked, f"reissued: {reason}", actor, now))
    await session.flush()  # the old row leaves the one-current-card index before the insert
    card = await _new_card(
        session, member_id=member_id, generation=old.generation + 1, previous_id=old.id, now=now
    )
    session.add(_event(card, CardEventKind.reissued, actor, now, reason[:255]))
    await session.flush()
    return card


async def suspend_card(
    session: AsyncSession,
    *,
    card_id: uuid.UUID,
    reason: str,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> Card:
    """Active → suspended (挂失): tokens are refused online and the status bit is set."""
    return await _change(session, card_id, CardEventKind.suspended, reason, actor, now)


async def resume_card(
    session: AsyncSession,
    *,
    card_id: uuid.UUID,
    reason: str,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> Card:
    """Suspended → active: the same tokens work again."""
    return await _change(session, card_id, CardEventKind.resumed, reason, actor, now)


async def revoke_card(
    session: AsyncSession,
    *,
    card_id: uuid.UUID,
    reason: str,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> Card:
    """Active or suspended → revoked, for good."""
    return await _change(session, card_id, CardEventKind.revoked, reason, actor, now)


async def revoke_member_cards(
    session: AsyncSession,
    *,
    member_id: uuid.UUID,
    reason: str,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> Card | None:
    """Member left (or was expelled): revoke the current card if there is one."""
    card = await current_card(session, member_id=member_id)
    if card is None:
        return None
    return await revoke_card(session, card_id=card.id, reason=reason, actor=actor, now=now)


# --- tokens ---------------------------------------------------------------------------------


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
    card = _require_usable(await session.get(Card, card_id))
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
    card = _require_usable(await session.get(Card, card_id))
    signer = await keyring.signer(session)
    return mint_token(
        card,
        signer,
        kind=tokens.Kind.static,
        not_before=(now or utc_now()),
        validity=timedelta(days=validity_days),
    )


# --- published verification material -------------------------------------------------------


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


# --- online verification (merchant API) -----------------------------------------------------


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
) -> tuple[VerifiedCard, Any]:
    """:func:`verify_online` with the caller's SELECT, which starts with
    :data:`VERIFY_CARD_COLUMNS`, filters on ``Card.status_index == bindparam("idx")`` and may
    join more columns (e.g. the member's): the card and what else the caller needs in one
    round trip. Returns the card and the row. ``pg``, an asyncpg connection, runs the SELECT
    there instead (``cardsvc.kernel.db.driver_connection``)."""
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
    if pg is not None:
        sql, _ = asyncpg_sql(statement)  # its one parameter is idx
        row = await pg.fetchrow(sql, claims.card_index)
    else:
        # Core on the session's connection: no ORM execution machinery on the hot path.
        conn = await session.connection()
        row = (await conn.execute(statement, {"idx": claims.card_index})).one_or_none()
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
    "Actor",
    "MintedToken",
    "PrintableCard",
    "VerifiedCard",
    "build_status_list",
    "card_history",
    "card_summary",
    "current_card",
    "get_card",
    "get_card_by_number",
    "issue_card",
    "issue_cards_for_active_members",
    "member_card",
    "member_cards",
    "mint_rotating_batch",
    "mint_token",
    "printable_card",
    "reissue_card",
    "resume_card",
    "revoke_card",
    "revoke_member_cards",
    "rotating_token_for_card",
    "rotating_tokens_for_member",
    "static_token_for_card",
    "suspend_card",
    "verify_online",
)
